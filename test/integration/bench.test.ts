// `sd-lambda bench --target local` on the tiny model: what it measures, the report it writes, the
// reproducibility check, and the errors for bad flags. No timing is asserted, only that the numbers
// are consistent with each other.
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { BenchResult } from "../../harness/bench/measure.ts";
import { formatBench } from "../../harness/commands/bench.ts";
import { runCli } from "../helpers/cli.ts";

const dir = mkdtempSync(join(tmpdir(), "bench-"));

function run(...args: string[]) {
  return runCli(["bench", ...args]);
}

describe("sd-lambda bench --target local", () => {
  it("one cold and N warm runs of the same request, identical images, a report equal to --json", async () => {
    const report = join(dir, "local.json");
    const { code, stdout, stderr } = await run("--runs", "3", "--steps", "2", "--json", "--report", report);
    expect(stderr).toBe("");
    expect(code).toBe(0);
    const r = JSON.parse(stdout) as BenchResult;
    expect(JSON.parse(readFileSync(report, "utf8"))).toEqual(r);
    expect(r).toMatchObject({
      target: "local",
      model: "tiny-sd",
      request: { width: 64, height: 64, steps: 2, scheduler: "lms", guidance: 7.5, seed: 1, mode: "txt2img" },
      identical: true,
    });
    expect(r.runs.map((x) => x.cold)).toEqual([true, false, false, false]);
    expect(new Set(r.runs.map((x) => x.sha256)).size).toBe(1);
    expect(r.coldStart?.modelLoadMs).toBeGreaterThan(0);
    expect(r.peakRssMb).toBeGreaterThan(0);
    expect(Object.keys(r.warm.stagesMs)).toEqual(
      expect.arrayContaining(["tokenize", "text_encoder", "unet", "vae_decode", "encode", "total"]),
    );
    // statistics over the 3 warm runs only, consistent with the runs themselves
    const warmUnet = r.runs.slice(1).map((x) => x.stagesMs.unet as number);
    expect(r.warm.stagesMs.unet).toMatchObject({
      n: 3,
      min: Math.min(...warmUnet),
      max: Math.max(...warmUnet),
    });
    expect(r.warm.unetPerStepMs.max).toBeCloseTo(Math.max(...warmUnet) / 2, 9);
    const t = r.warm.totalMs;
    expect(t.min).toBeLessThanOrEqual(t.median);
    expect(t.median).toBeLessThanOrEqual(t.p95);
    expect(t.p95).toBeLessThanOrEqual(t.max);
  });

  it("prints what it measured for a person, and the seed flag changes the image", async () => {
    const a = await run("--runs", "1", "--steps", "2", "--seed", "7", "--report", join(dir, "a.json"));
    expect(a.code).toBe(0);
    expect(a.stderr).toContain("loading ");
    expect(a.stdout).toMatch(/^bench local: tiny-sd 64x64 txt2img, 2 steps lms, guidance 7\.5, seed 7\n/);
    expect(a.stdout).toMatch(/\n {2}model load {6}\d/);
    expect(a.stdout).toMatch(/\n {2}reproducible {4}yes: 2 identical images \(sha256 [0-9a-f]{12}\)\n/);
    expect(a.stdout).toContain(`wrote ${join(dir, "a.json")}\n`);
    const seven = JSON.parse(readFileSync(join(dir, "a.json"), "utf8")) as BenchResult;
    await run("--runs", "1", "--steps", "2", "--seed", "8", "--report", join(dir, "b.json"));
    const eight = JSON.parse(readFileSync(join(dir, "b.json"), "utf8")) as BenchResult;
    expect(eight.runs[0]?.sha256).not.toBe(seven.runs[0]?.sha256);
  });

  it("says NO when the runs' images differ", () => {
    const base = JSON.parse(readFileSync(join(dir, "a.json"), "utf8")) as BenchResult;
    const text = formatBench({ ...base, identical: false });
    expect(text).toContain("  reproducible    NO: the images differ between runs\n");
  });

  it.each([
    [["--runs", "0"], 2, 'sd-lambda bench: --runs must be an integer from 1 to 100, got "0"\n'],
    [["--runs", "2.5"], 2, 'sd-lambda bench: --runs must be an integer from 1 to 100, got "2.5"\n'],
    [["--threads=-1"], 2, 'sd-lambda bench: --threads must be an integer from 1 to 256, got "-1"\n'],
    // the request contract refuses it, as the function would: a check, not a usage error
    [
      ["--steps", "0"],
      1,
      "sd-lambda bench: num_inference_steps must be from 1 to 100, got 0 [BAD_REQUEST]\n",
    ],
  ])("%j → exit %i, %s", async (flags, exit, message) => {
    const { code, stdout, stderr } = await run(...flags);
    expect({ code, stdout, stderr }).toEqual({ code: exit, stdout: "", stderr: message });
  });

  it.each([
    [["--target", "emulator", "--threads", "2"], "--threads does not apply to --target emulator"],
    [["--function-name", "sd"], "--function-name does not apply to --target local"],
    [
      ["--target", "aws", "--model", "x", "--memory-mb", "2048"],
      "--model, --memory-mb does not apply to --target aws",
    ],
    [["--target", "aws"], "--target aws needs --function-name"],
  ])("%j → %s, then the usage, exit 2", async (flags, message) => {
    const { code, stdout, stderr } = await run(...flags);
    expect({ code, stdout }).toEqual({ code: 2, stdout: "" });
    expect(stderr).toMatch(new RegExp(`^sd-lambda bench: ${message}\nusage: sd-lambda bench [^]*\n$`));
  });

  it("an unknown target names the ones there are", async () => {
    const { code, stderr } = await run("--target", "lambda");
    expect(code).toBe(2);
    expect(stderr).toMatch(
      /^sd-lambda bench: --target must be local, emulator or aws, got "lambda"\nusage: sd-lambda bench/,
    );
  });
});
