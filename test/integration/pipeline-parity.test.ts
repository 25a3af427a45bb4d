// Every diffusers reference case, replayed by our engine on the same tiny ONNX pipeline: latents after
// each step within 1e-3 (max abs) and the final image within 1/255 per channel on >= 99.9% of values.
// Measured errors are written to reports/parity.json.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { afterAll, describe, expect, test } from "vitest";
import { decodeImage } from "../../runtime/engine/image.ts";
import { loadModel, type Model } from "../../runtime/engine/model.ts";
import { generate } from "../../runtime/engine/pipeline.ts";
import type { SchedulerName } from "../../runtime/engine/schedulers/types.ts";

const REFERENCE = new URL("../../fixtures/reference/", import.meta.url);
const FIXTURES = new URL("../../fixtures/", import.meta.url);
/** A case's model folder under fixtures/ (train_shapes.py records "families/tiny-shapes"). */
const DEFAULT_MODEL = "models/tiny-sd";
const LATENT_TOLERANCE = 1e-3;
const PIXEL_SHARE = 0.999;

interface Case {
  name: string;
  pipeline: "txt2img" | "img2img" | "inpaint";
  scheduler: SchedulerName;
  prompt: string;
  negative_prompt: string | null;
  seed: number;
  num_inference_steps: number;
  guidance_scale: number;
  width: number;
  height: number;
  strength: number | null;
  model?: string;
  init_image: string | null;
  mask: string | null;
  token_ids: { cond: number[]; uncond: number[] | null };
  timesteps: number[];
  latent_shape: number[];
  step_count: number;
}

const cases: Case[] = readdirSync(new URL("cases/", REFERENCE))
  .sort()
  .map((name) => JSON.parse(readFileSync(new URL(`cases/${name}/case.json`, REFERENCE), "utf8")));
const measured: Record<string, { maxLatentError: number; pixelShareWithin1: number; maxPixelError: number }> =
  {};
const models = new Map<string, Promise<Model>>();
const modelFor = (c: Case) => {
  const name = c.model ?? DEFAULT_MODEL;
  let model = models.get(name);
  if (!model) {
    model = loadModel(new URL(name, FIXTURES).pathname, { threads: 1 });
    models.set(name, model);
  }
  return model;
};

afterAll(() => {
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

  test.each(cases.map((c) => [c.name, c] as const))("%s", async (_name, c) => {
    const dir = new URL(`cases/${c.name}/`, REFERENCE);
    const size = { width: c.width, height: c.height };
    const input = async (file: string | null) =>
      file === null ? undefined : decodeImage(readFileSync(new URL(file, REFERENCE)), size);
    const steps: Float32Array[] = [];
    const result = await generate(
      await modelFor(c),
      {
        prompt: c.prompt,
        negativePrompt: c.negative_prompt ?? undefined,
        seed: c.seed,
        steps: c.num_inference_steps,
        guidance: c.guidance_scale,
        width: c.width,
        height: c.height,
        scheduler: c.scheduler,
        initImage: await input(c.init_image),
        mask: await input(c.mask),
        strength: c.strength ?? undefined,
      },
      { onStep: (s) => steps.push(s.latents.slice()) },
    );
    expect(result.tokenIds).toEqual(c.token_ids);
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
    measured[c.name] = { maxLatentError, pixelShareWithin1, maxPixelError };
    expect(maxLatentError).toBeLessThanOrEqual(LATENT_TOLERANCE);
    expect(pixelShareWithin1).toBeGreaterThanOrEqual(PIXEL_SHARE);
  });
});
