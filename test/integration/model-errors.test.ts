// A model folder that is missing, incomplete or malformed is reported with its path and what was expected.
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { loadModel, releaseModel, resolveModelDir } from "../../runtime/engine/model.ts";

const MODEL = new URL("../../fixtures/models/tiny-sd", import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), "sd-model-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function copy(name: string): string {
  const dir = join(work, name);
  cpSync(MODEL, dir, { recursive: true });
  return dir;
}

describe("model folder errors", () => {
  test("an ONNX file that is not a model names the file", async () => {
    const dir = copy("corrupt");
    writeFileSync(join(dir, "unet/model.onnx"), "not onnx");
    await expect(loadModel(dir, { threads: 1 })).rejects.toMatchObject({
      code: "MODEL_INVALID",
      message: expect.stringMatching(
        new RegExp(`^${join(dir, "unet/model.onnx")} is not a loadable ONNX model: `),
      ),
    });
  });

  test("malformed JSON names the file and the parse error", async () => {
    const dir = copy("bad-json");
    writeFileSync(join(dir, "scheduler/scheduler_config.json"), "{");
    await expect(loadModel(dir, { threads: 1 })).rejects.toMatchObject({
      code: "MODEL_INVALID",
      message: `${join(dir, "scheduler/scheduler_config.json")} is not valid JSON: Expected property name or '}' in JSON at position 1 (line 1 column 2)`,
    });
  });

  test("no models folder under the mount says where to put one", async () => {
    await expect(resolveModelDir(join(work, "empty-mount"), undefined)).rejects.toMatchObject({
      code: "MODEL_NOT_FOUND",
      message: `no models folder at ${join(work, "empty-mount/models")} — mount the EFS file system at ${join(work, "empty-mount")} and put each model in ${join(work, "empty-mount/models")}/<name>/`,
    });
  });

  test("several models and no SD_MODEL lists them", async () => {
    const mount = join(work, "mount");
    mkdirSync(join(mount, "models/b"), { recursive: true });
    mkdirSync(join(mount, "models/a"), { recursive: true });
    await expect(resolveModelDir(mount, undefined)).rejects.toMatchObject({
      message: `${join(mount, "models")} holds 2 models (a, b) — set SD_MODEL to one of them`,
    });
    expect(await resolveModelDir(mount, "b")).toBe(join(mount, "models/b"));
  });
});

const FAMILIES = new URL("../../fixtures/families/", import.meta.url).pathname;
function copyFamily(family: string, name: string): string {
  const dir = join(work, name);
  cpSync(join(FAMILIES, family), dir, { recursive: true });
  return dir;
}
const editJson = (path: string, edit: (v: Record<string, unknown>) => void) => {
  const value = JSON.parse(readFileSync(path, "utf8"));
  edit(value);
  writeFileSync(path, JSON.stringify(value));
};

describe("checked at load, not per request", () => {
  test.each([
    [
      "rescale_betas_zero_snr",
      true,
      `PNDMScheduler: config key "rescale_betas_zero_snr"=true is not supported (only false)`,
    ],
    [
      "timestep_spacing",
      "karras",
      `PNDMScheduler: config key "timestep_spacing"="karras" is not supported (expected one of linspace, leading, trailing)`,
    ],
  ])(
    "an unsupported scheduler key (%s) fails the load naming the file and key",
    async (key, value, problem) => {
      const dir = copy(`scheduler-${key}`);
      const path = join(dir, "scheduler/scheduler_config.json");
      editJson(path, (c) => {
        c[key] = value;
      });
      await expect(loadModel(dir, { threads: 1 })).rejects.toMatchObject({
        code: "MODEL_INVALID",
        message: `${path}: ${problem} — remove the key or set it to the supported value; the engine implements diffusers' schedulers without it`,
      });
    },
  );

  test("thresholding on the default scheduler fails the load", async () => {
    const dir = copy("thresholding");
    const path = join(dir, "scheduler/scheduler_config.json");
    editJson(path, (c) => {
      c._class_name = "DDIMScheduler";
      c.thresholding = true;
    });
    await expect(loadModel(dir, { threads: 1 })).rejects.toMatchObject({
      code: "MODEL_INVALID",
      message: `${path}: DDIMScheduler: config key "thresholding"=true is not supported (only false) — remove the key or set it to the supported value; the engine implements diffusers' schedulers without it`,
    });
  });

  test("an sd-lambda.json with an unknown key fails the load naming it", async () => {
    const dir = copy("sd-lambda-json");
    writeFileSync(join(dir, "sd-lambda.json"), JSON.stringify({ steps: 4 }));
    await expect(loadModel(dir, { threads: 1 })).rejects.toMatchObject({
      code: "MODEL_INVALID",
      message: `${join(dir, "sd-lambda.json")}: unknown key "steps"; known: scheduler, num_inference_steps, guidance_scale, width, height, strength (see docs/decisions/model-defaults.md)`,
    });
  });

  test("sd-lambda.json overrides the family's defaults", async () => {
    const dir = copy("sd-lambda-json-ok");
    writeFileSync(
      join(dir, "sd-lambda.json"),
      JSON.stringify({ _why: "test", scheduler: "euler", num_inference_steps: 3 }),
    );
    const model = await loadModel(dir, { threads: 1 });
    await releaseModel(model);
    expect(model.sdLambda).toEqual({ _why: "test", scheduler: "euler", num_inference_steps: 3 });
  });

  test("a missing external-data file is MODEL_NOT_FOUND naming it, not an unloadable model", async () => {
    const dir = copyFamily("tiny-sd-taesd", "no-external-data");
    rmSync(join(dir, "unet/model.onnx_data"));
    await expect(loadModel(dir, { threads: 1 })).rejects.toMatchObject({
      code: "MODEL_NOT_FOUND",
      message: `${join(dir, "unet/model.onnx")} keeps its weights in model.onnx_data, and ${join(dir, "unet/model.onnx_data")} does not exist — copy it beside model.onnx`,
    });
  });

  test("a 9-channel UNet makes the folder an inpainting model, whatever else it holds", async () => {
    const dir = copy("mixed");
    cpSync(join(FAMILIES, "tiny-sd-inpaint/unet"), join(dir, "unet"), { recursive: true });
    const model = await loadModel(dir, { threads: 1 });
    await releaseModel(model);
    expect(model.family).toEqual({
      name: "sd-inpaint",
      why: "the UNet takes 9 channels (latents, mask, masked image)",
    });
  });

  test("a tokenizer with more tokens than the text encoder's vocabulary fails the load", async () => {
    const dir = copy("small-vocab");
    editJson(join(dir, "text_encoder/config.json"), (c) => {
      c.vocab_size = 1000;
    });
    await expect(loadModel(dir, { threads: 1 })).rejects.toMatchObject({
      code: "MODEL_INVALID",
      message: `${join(dir, "tokenizer")} has 49408 tokens but ${join(dir, "text_encoder/config.json")} says vocab_size 1000 — the tokenizer belongs to another model; copy the tokenizer folder of the pipeline the text encoder was exported from`,
    });
  });

  test("a Hub-layout tokenizer folder without merges.txt names the missing file", async () => {
    const dir = copyFamily("tiny-sd2", "no-merges");
    rmSync(join(dir, "tokenizer/merges.txt"));
    await expect(loadModel(dir, { threads: 1 })).rejects.toMatchObject({
      code: "MODEL_NOT_FOUND",
      message: expect.stringMatching(
        new RegExp(`^model folder ${dir} has no tokenizer/merges.txt — expected the layout`),
      ),
    });
  });
});
