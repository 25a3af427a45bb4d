// `sd-lambda generate` as a user runs it: a PNG of the requested size, identical bytes for identical
// arguments, and one-line errors with a non-zero exit for the mistakes people make.
import { execFile } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, test } from "vitest";
import { imageSize } from "../../runtime/engine/image.ts";

const BIN = new URL("../../bin/sd-lambda", import.meta.url).pathname;
const MODEL = new URL("../../fixtures/models/tiny-sd", import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), "sd-cli-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

async function run(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(BIN, ["generate", ...args]);
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

describe("sd-lambda generate", () => {
  test("writes a PNG of the requested size; the same arguments twice give identical bytes", async () => {
    const args = [
      "--model",
      MODEL,
      "--prompt",
      "a lighthouse",
      "--seed",
      "11",
      "--steps",
      "3",
      "--width",
      "96",
      "--height",
      "64",
    ];
    const a = await run(...args, "--out", join(work, "a.png"));
    const b = await run(...args, "--out", join(work, "b.png"));
    expect([a.code, b.code]).toEqual([0, 0]);
    expect(a.stdout).toMatch(
      /^wrote .*a\.png \(96x64 png, txt2img, pndm, 3 steps\) seed 11\nload \d+ ms, tokenize \d+ ms, text_encoder \d+ ms/,
    );
    expect(a.stderr).toContain("4/4"); // tiny-sd's PNDM: 3 steps are 4 UNet calls (PLMS repeats its first timestep)
    const bytes = readFileSync(join(work, "a.png"));
    expect(await imageSize(bytes)).toMatchObject({ width: 96, height: 64, format: "png" });
    expect(bytes.equals(readFileSync(join(work, "b.png")))).toBe(true);
  });

  const out = () => ["--out", join(work, "err.png")];
  test("a missing model folder", async () => {
    const r = await run("--model", join(work, "absent"), "--prompt", "x", ...out());
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split("\n").pop()).toBe(
      `sd-lambda generate: model folder ${join(work, "absent")} not found — expected the layout of optimum-cli export onnx: model_index.json, text_encoder/model.onnx, unet/model.onnx, vae_decoder/model.onnx, tokenizer/tokenizer_config.json, scheduler/scheduler_config.json, tokenizer/tokenizer.json or tokenizer/vocab.json + tokenizer/merges.txt, vae_encoder/model.onnx [MODEL_NOT_FOUND]`,
    );
  });

  test("a model folder without unet/model.onnx", async () => {
    const copy = join(work, "no-unet");
    cpSync(MODEL, copy, { recursive: true });
    rmSync(join(copy, "unet/model.onnx"));
    const r = await run("--model", copy, "--prompt", "x", ...out());
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split("\n").pop()).toBe(
      `sd-lambda generate: model folder ${copy} has no unet/model.onnx — expected the layout of optimum-cli export onnx: model_index.json, text_encoder/model.onnx, unet/model.onnx, vae_decoder/model.onnx, tokenizer/tokenizer_config.json, scheduler/scheduler_config.json, tokenizer/tokenizer.json or tokenizer/vocab.json + tokenizer/merges.txt, vae_encoder/model.onnx [MODEL_NOT_FOUND]`,
    );
  });

  test("a width that is not a multiple of 8", async () => {
    const r = await run("--model", MODEL, "--prompt", "x", "--width", "100", ...out());
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("sd-lambda generate: width must be a multiple of 8, got 100 [BAD_REQUEST]\n");
  });

  test("an empty prompt", async () => {
    const r = await run("--model", MODEL, "--prompt", "", ...out());
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('sd-lambda generate: prompt must not be empty, got "" [BAD_REQUEST]\n');
  });
});
