// What a user of each model family sees: the Hub tokenizer layout gives the same image as tokenizer.json,
// defaults follow the family (with reasons), and model problems at request time are 400s, never 500s.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { loadModel, type Model, releaseModel } from "../../runtime/engine/model.ts";
import { generate } from "../../runtime/engine/pipeline.ts";
import { resultJson } from "../../runtime/events.ts";
import { render } from "../../runtime/render.ts";
import { DEFAULT_LIMITS, parseRequest } from "../../runtime/request.ts";
import { runCli } from "../helpers/cli.ts";
import { caseParams, type ReferenceCase } from "../helpers/reference-case.ts";

const FIXTURES = new URL("../../fixtures/", import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), "sd-families-"));
const loaded: Model[] = [];
const load = async (dir: string) => {
  const m = await loadModel(dir, { threads: 1 });
  loaded.push(m);
  return m;
};
afterAll(async () => {
  for (const m of loaded) await releaseModel(m);
  rmSync(work, { recursive: true, force: true });
});

describe("Hub layout", () => {
  test("tiny-sd without tokenizer.json gives the reference's tokens and the same image", async () => {
    const dir = join(work, "tiny-sd-hub");
    cpSync(join(FIXTURES, "models/tiny-sd"), dir, { recursive: true });
    rmSync(join(dir, "tokenizer/tokenizer.json"));
    const c: ReferenceCase = JSON.parse(
      readFileSync(join(FIXTURES, "reference/cases/txt2img_pndm_negative_prompt/case.json"), "utf8"),
    );
    const params = caseParams(c);
    const hub = await generate(await load(dir), params);
    const json = await generate(await load(join(FIXTURES, "models/tiny-sd")), params);
    expect(hub.tokenIds).toEqual(c.token_ids);
    expect(Buffer.from(hub.image.data).equals(Buffer.from(json.image.data))).toBe(true);
  });
});

describe("defaults follow the family", () => {
  test("SD-Turbo: one Euler a step without guidance, each default with its reason", async () => {
    const model = await load(join(FIXTURES, "families/tiny-sd-turbo"));
    const r = await render(model, parseRequest({ prompt: "a red apple", seed: 1 }, DEFAULT_LIMITS));
    expect([r.scheduler, r.steps, r.guidance, r.width, r.height]).toEqual(["euler_a", 1, 0, 64, 64]);
    expect(r.defaults).toEqual({
      width: { value: 64, reason: "the UNet's native size (sample_size × VAE factor)" },
      height: { value: 64, reason: "the UNet's native size (sample_size × VAE factor)" },
      scheduler: {
        value: "euler_a",
        reason: "scheduler_config.json's _class_name EulerAncestralDiscreteScheduler",
      },
      num_inference_steps: { value: 1, reason: "sd-turbo default: SD-Turbo is distilled for 1–4 steps" },
      guidance_scale: {
        value: 0,
        reason: "sd-turbo default: SD-Turbo was trained without classifier-free guidance",
      },
    });
    expect(r.warnings).toEqual([]);
    // the direct-invoke / JSON answer carries them as they are
    expect(resultJson(r, "req-1").defaults).toEqual(r.defaults);
  });

  test("what the request gives is not listed as defaulted", async () => {
    const model = await load(join(FIXTURES, "families/tiny-lcm"));
    const request = {
      prompt: "a red apple",
      seed: 1,
      num_inference_steps: 2,
      guidance_scale: 1.5,
      width: 64,
      height: 64,
    };
    const r = await render(model, parseRequest(request, DEFAULT_LIMITS));
    expect(r.defaults).toEqual({
      scheduler: { value: "lcm", reason: "scheduler_config.json's _class_name LCMScheduler" },
    });
  });
});

describe("model limits at request time are 400s", () => {
  test("a size a fixed-size UNet does not take", async () => {
    const model = { ...(await load(join(FIXTURES, "models/tiny-sd"))), fixedSize: { width: 64, height: 64 } };
    const params = {
      prompt: "x",
      seed: 1,
      steps: 1,
      guidance: 1,
      width: 96,
      height: 64,
      scheduler: "pndm" as const,
    };
    await expect(generate(model, params)).rejects.toMatchObject({
      status: 400,
      message:
        "model tiny-sd's UNet was exported for 64x64 only, got 96x64; leave width and height out or re-export the UNet with dynamic height and width",
    });
  });

  test("img2img on an LCM model (diffusers cuts its schedule by another rule)", async () => {
    const model = await load(join(FIXTURES, "families/tiny-lcm"));
    const image = { width: 64, height: 64, data: new Uint8Array(64 * 64 * 3) };
    const params = {
      prompt: "x",
      seed: 1,
      steps: 4,
      guidance: 8.5,
      width: 64,
      height: 64,
      scheduler: "lcm" as const,
    };
    await expect(generate(model, { ...params, initImage: image, strength: 0.5 })).rejects.toMatchObject({
      status: 400,
      message:
        "model tiny-lcm is an LCM (the UNet has a timestep_cond input (time_cond_proj_dim)); only text-to-image is supported for it — leave out init_image and mask",
    });
  });

  test("more LCM steps than the model's original_inference_steps", async () => {
    const model = await load(join(FIXTURES, "families/tiny-lcm"));
    const request = parseRequest({ prompt: "x", seed: 1, num_inference_steps: 60 }, DEFAULT_LIMITS);
    await expect(render(model, request)).rejects.toMatchObject({
      status: 400,
      message:
        "num_inference_steps must be from 1 to 50 with scheduler lcm (its config's original_inference_steps is 50), got 60",
    });
  });

  test("a config key the requested scheduler cannot run (thresholding on DDIM)", async () => {
    const model = { ...(await load(join(FIXTURES, "models/tiny-sd"))) };
    const broken = { ...model, schedulerConfig: { ...model.schedulerConfig, thresholding: true } };
    const params = {
      prompt: "x",
      seed: 1,
      steps: 2,
      guidance: 1,
      width: 64,
      height: 64,
      scheduler: "ddim" as const,
    };
    await expect(generate(broken, params)).rejects.toMatchObject({
      status: 400,
      message:
        'scheduler ddim with num_inference_steps 2 cannot run on model tiny-sd: DDIMScheduler: config key "thresholding"=true is not supported (only false)',
    });
  });
});

describe("sd-lambda models check", () => {
  test("prints the family, its defaults with reasons, the inputs and the memory estimate", async () => {
    const { code, stdout, stderr } = await runCli([
      "models",
      "check",
      join(FIXTURES, "families/tiny-sd-inpaint"),
    ]);
    expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
    const lines = stdout.split("\n");
    expect(lines[0]).toBe(
      `${join(FIXTURES, "families/tiny-sd-inpaint")}: sd-inpaint (the UNet takes 9 channels (latents, mask, masked image)); StableDiffusionInpaintPipeline, VAE AutoencoderKL`,
    );
    expect(lines).toContain(
      "  strength 1 — inpainting default, as diffusers' StableDiffusionInpaintPipeline",
    );
    expect(lines).toContain(
      "unet: sample: float32[batch_size,9,height,width], timestep: float32[], encoder_hidden_states: float32[batch_size,sequence_length,16]",
    );
    expect(stdout).toMatch(/\nmemory: ~\d+ MB at the default size \(preflight's estimate\)\n/);
  });

  test("a folder the function cannot serve exits 1 with the function's own message, also as JSON", async () => {
    const dir = join(work, "bad-scheduler");
    cpSync(join(FIXTURES, "families/tiny-sd2"), dir, { recursive: true });
    const path = join(dir, "scheduler/scheduler_config.json");
    const config = JSON.parse(readFileSync(path, "utf8"));
    writeFileSync(path, JSON.stringify({ ...config, rescale_betas_zero_snr: true }));
    const { code, stdout } = await runCli(["models", "check", dir, "--json"]);
    expect(code).toBe(1);
    expect(JSON.parse(stdout)).toEqual({
      dir,
      ok: false,
      problem: {
        code: "MODEL_INVALID",
        message: `${path}: DDIMScheduler: config key "rescale_betas_zero_snr"=true is not supported (only false) — remove the key or set it to the supported value; the engine implements diffusers' schedulers without it`,
      },
    });
  });
});

describe("models check names diffusers' config rewrites", () => {
  test("an SD 1.x folder with steps_offset 0 lists the rewrite per mode", async () => {
    const dir = join(work, "old-config");
    cpSync(join(FIXTURES, "models/tiny-sd"), dir, { recursive: true });
    const path = join(dir, "scheduler/scheduler_config.json");
    writeFileSync(path, JSON.stringify({ ...JSON.parse(readFileSync(path, "utf8")), steps_offset: 0 }));
    const { code, stdout } = await runCli(["models", "check", dir, "--json"]);
    const rewrite = "scheduler_config.json steps_offset 0 is outdated; using 1 as diffusers' pipelines do";
    expect(code).toBe(0);
    expect(JSON.parse(stdout).notes).toEqual([
      `txt2img: ${rewrite}`,
      `img2img: ${rewrite}`,
      `inpaint: ${rewrite}`,
    ]);
  });
});
