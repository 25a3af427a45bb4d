// Every diffusers reference case, replayed by our engine on the same tiny ONNX pipeline: latents after
// each step within 1e-3 (max abs) and the final image within 1/255 per channel on >= 99.9% of values.
// fixtures/reference/cases run on tiny-sd; fixtures/families/reference/<family>/ on the folder each case
// names (`model_dir`, relative to fixtures/). Measured errors are written to reports/parity.json.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { afterAll, describe, expect, test } from "vitest";
import { decodeImage } from "../../runtime/engine/image.ts";
import { loadModel, type Model, releaseModel } from "../../runtime/engine/model.ts";
import { generate } from "../../runtime/engine/pipeline.ts";
import type { SchedulerConfig } from "../../runtime/engine/schedulers/types.ts";
import { caseParams, type ReferenceCase } from "../helpers/reference-case.ts";

const FIXTURES = new URL("../../fixtures/", import.meta.url);
const REFERENCE = new URL("../../fixtures/reference/", import.meta.url);
const FAMILY_REFERENCE = new URL("../../fixtures/families/reference/", import.meta.url);
const LATENT_TOLERANCE = 1e-3;
const PIXEL_SHARE = 0.999;

interface Case extends ReferenceCase {
  timesteps: number[];
  latent_shape: number[];
  step_count: number;
  /** The model folder, relative to fixtures/ (tiny-sd when absent). */
  model_dir?: string;
  /** The scheduler_config.json the folder would hold (config-rewrite cases). */
  model_scheduler_config?: SchedulerConfig;
  /** Looser thresholds a case states with the reason (fp16 only: see fixtures/generate/families.py). */
  tolerance?: { latents: number; pixel_share: number; why: string };
  /** Where case.json lives. */
  dir: URL;
}

const outdated = (key: string, from: string, to: string) =>
  `scheduler_config.json ${key} ${from} is outdated; using ${to} as diffusers' pipelines do`;
/** The warnings naming diffusers' pipeline-time config rewrites, per case (none elsewhere). */
const REWRITES: Record<string, string[]> = {
  rewrite_pndm_steps_offset0: [outdated("steps_offset", "0", "1")],
  rewrite_ddim_clip_sample_true: [
    outdated("steps_offset", "0", "1"),
    outdated("clip_sample", "true", "false"),
  ],
  rewrite_inpaint_skip_prk_false: [outdated("skip_prk_steps", "false", "true")],
};

const readCases = (root: URL): Case[] =>
  readdirSync(root)
    .sort()
    .map((name) => {
      const dir = new URL(`${name}/`, root);
      return { ...JSON.parse(readFileSync(new URL("case.json", dir), "utf8")), dir };
    });
const familyNames = readdirSync(FAMILY_REFERENCE).sort();
const cases: Case[] = [
  ...readCases(new URL("cases/", REFERENCE)),
  ...familyNames.flatMap((f) => readCases(new URL(`${f}/`, FAMILY_REFERENCE))),
];
const measured: Record<string, { maxLatentError: number; pixelShareWithin1: number; maxPixelError: number }> =
  {};
const models = new Map<string, Promise<Model>>();
const modelFor = (dir = "models/tiny-sd"): Promise<Model> => {
  let m = models.get(dir);
  if (!m) {
    m = loadModel(new URL(dir, FIXTURES).pathname, { threads: 1 });
    models.set(dir, m);
  }
  return m;
};

afterAll(async () => {
  for (const m of models.values()) await releaseModel(await m);
  mkdirSync("reports", { recursive: true });
  writeFileSync("reports/parity.json", `${JSON.stringify(measured, null, 2)}\n`);
});

const f32 = (path: URL) => {
  const b = readFileSync(path);
  return new Float32Array(b.buffer, b.byteOffset, b.length / 4);
};

describe("engine parity with diffusers", () => {
  test("the references cover txt2img, img2img and inpainting, every scheduler, guidance 1 and 7.5, 1/4/12 steps, non-square sizes, a negative prompt", () => {
    const has = (p: (c: Case) => boolean) => cases.some(p);
    expect(new Set(cases.map((c) => c.pipeline))).toEqual(new Set(["txt2img", "img2img", "inpaint"]));
    expect(new Set(cases.map((c) => c.scheduler))).toEqual(
      new Set(["lms", "pndm", "euler", "euler_a", "ddim", "dpmpp_2m", "lcm"]),
    );
    expect(has((c) => c.guidance_scale === 1) && has((c) => c.guidance_scale === 7.5)).toBe(true);
    expect([1, 4, 12].every((n) => has((c) => c.num_inference_steps === n))).toBe(true);
    expect(has((c) => c.width !== c.height) && has((c) => c.negative_prompt !== null)).toBe(true);
  });

  test("every family has txt2img references, and img2img or inpainting where it does them", () => {
    expect(familyNames).toEqual([
      "rewrites",
      "tiny-lcm",
      "tiny-sd-fp16",
      "tiny-sd-inpaint",
      "tiny-sd-taesd",
      "tiny-sd-turbo",
      "tiny-sd2",
    ]);
    const kinds = (dir: string) => new Set(cases.filter((c) => c.model_dir === dir).map((c) => c.pipeline));
    expect(kinds("families/tiny-sd2")).toEqual(new Set(["txt2img", "img2img"]));
    expect(kinds("families/tiny-sd-turbo")).toEqual(new Set(["txt2img", "img2img"]));
    expect(kinds("families/tiny-lcm")).toEqual(new Set(["txt2img"]));
    expect(kinds("families/tiny-sd-inpaint")).toEqual(new Set(["inpaint"]));
    expect(kinds("families/tiny-sd-taesd")).toEqual(new Set(["txt2img", "img2img"]));
    expect(kinds("families/tiny-sd-fp16")).toEqual(new Set(["txt2img", "img2img"]));
  });

  test("only fp16 cases loosen the thresholds, each saying which fp16 rounding moves", () => {
    const loose = cases.filter((c) => c.tolerance);
    expect(new Set(loose.map((c) => c.model_dir))).toEqual(new Set(["families/tiny-sd-fp16"]));
    for (const c of loose) expect(c.tolerance?.why, c.name).toMatch(/fp16 round/);
  });

  test.each(cases.map((c) => [`${c.model_dir ?? "models/tiny-sd"} ${c.name}`, c] as const))(
    "%s",
    async (_name, c) => {
      const dir = c.dir;
      const loaded = await modelFor(c.model_dir);
      const model = c.model_scheduler_config
        ? { ...loaded, schedulerConfig: c.model_scheduler_config }
        : loaded;
      const size = { width: c.width, height: c.height };
      const input = async (file: string | null) =>
        file === null ? undefined : decodeImage(readFileSync(new URL(file, REFERENCE)), size);
      const steps: Float32Array[] = [];
      const result = await generate(
        model,
        { ...caseParams(c), initImage: await input(c.init_image), mask: await input(c.mask) },
        { onStep: (s) => steps.push(s.latents.slice()) },
      );
      expect(result.tokenIds).toEqual(c.token_ids);
      expect(result.warnings.filter((w) => w.startsWith("scheduler_config.json"))).toEqual(
        REWRITES[c.name] ?? [],
      );
      expect(result.timesteps).toEqual(c.timesteps);

      const expected = f32(new URL("latents.f32", dir));
      const size1 = c.latent_shape.reduce((a, b) => a * b, 1);
      expect(steps.length).toBe(c.step_count);
      let maxLatentError = 0;
      steps.forEach((latents, i) => {
        for (let k = 0; k < size1; k++) {
          maxLatentError = Math.max(
            maxLatentError,
            Math.abs((latents[k] as number) - (expected[i * size1 + k] as number)),
          );
        }
      });

      const want = await decodeImage(readFileSync(new URL("image.png", dir)));
      let within = 0;
      let maxPixelError = 0;
      for (let k = 0; k < want.data.length; k++) {
        const d = Math.abs((want.data[k] as number) - (result.image.data[k] as number));
        maxPixelError = Math.max(maxPixelError, d);
        if (d <= 1) within++;
      }
      const pixelShareWithin1 = within / want.data.length;
      measured[`${c.model_dir ?? "models/tiny-sd"} ${c.name}`] = {
        maxLatentError,
        pixelShareWithin1,
        maxPixelError,
      };
      expect(maxLatentError).toBeLessThanOrEqual(c.tolerance?.latents ?? LATENT_TOLERANCE);
      expect(pixelShareWithin1).toBeGreaterThanOrEqual(c.tolerance?.pixel_share ?? PIXEL_SHARE);
    },
  );
});
