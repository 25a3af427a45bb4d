// Family detection, the defaults table with its precedence, sd-lambda.json checking and diffusers'
// pipeline-time scheduler rewrites (pure functions, no model files).
import { describe, expect, test } from "vitest";
import {
  detectFamily,
  type FamilyFacts,
  modelDefaults,
  parseSdLambdaJson,
  pipelineRewrites,
} from "../../runtime/engine/family.ts";

const sd15: FamilyFacts = {
  pipelineClass: "StableDiffusionPipeline",
  schedulerClass: "PNDMScheduler",
  schedulerConfig: {
    num_train_timesteps: 1000,
    beta_start: 0.00085,
    beta_end: 0.012,
    beta_schedule: "scaled_linear",
  },
  unetInChannels: 4,
  timestepCond: false,
  textHidden: 768,
  nativeWidth: 512,
  nativeHeight: 512,
};
const withConfig = (extra: Record<string, unknown>, facts: Partial<FamilyFacts> = {}): FamilyFacts => ({
  ...sd15,
  ...facts,
  schedulerConfig: { ...sd15.schedulerConfig, ...extra },
});

describe("family detection", () => {
  test.each([
    ["sd1", sd15],
    ["sd2", withConfig({ prediction_type: "v_prediction" })],
    ["sd2", withConfig({}, { textHidden: 1024 })],
    ["sd-turbo", withConfig({ timestep_spacing: "trailing" }, { textHidden: 1024 })],
    ["lcm", withConfig({}, { timestepCond: true })],
    ["lcm", withConfig({}, { schedulerClass: "LCMScheduler" })],
    ["sd-inpaint", withConfig({ timestep_spacing: "trailing" }, { unetInChannels: 9 })],
  ] as const)("%s", (name, facts) => {
    expect(detectFamily(facts).name).toBe(name);
  });
});

describe("defaults", () => {
  test("SD-Turbo: 1 step without guidance for txt2img, 2 from an image so that steps × strength >= 1", () => {
    const facts = withConfig(
      { timestep_spacing: "trailing" },
      { schedulerClass: "EulerAncestralDiscreteScheduler" },
    );
    const family = detectFamily(facts);
    const txt = modelDefaults(family, facts, "txt2img");
    expect([txt.scheduler.value, txt.steps.value, txt.guidance.value]).toEqual(["euler_a", 1, 0]);
    expect(txt.steps.reason).toBe("sd-turbo default: SD-Turbo is distilled for 1–4 steps");
    const img = modelDefaults(family, facts, "img2img");
    expect(img.steps.value * img.strength.value).toBeGreaterThanOrEqual(1);
  });

  test("inpainting defaults to strength 1.0 as diffusers does, img2img to 0.5", () => {
    const family = detectFamily(sd15);
    expect(modelDefaults(family, sd15, "inpaint").strength).toEqual({
      value: 1,
      reason: "inpainting default, as diffusers' StableDiffusionInpaintPipeline",
    });
    expect(modelDefaults(family, sd15, "img2img").strength.value).toBe(0.5);
  });

  test("a 768 model defaults to 512 and says why", () => {
    const facts = withConfig({ prediction_type: "v_prediction" }, { nativeWidth: 768, nativeHeight: 768 });
    expect(modelDefaults(detectFamily(facts), facts, "txt2img").width).toEqual({
      value: 512,
      reason:
        "the UNet's native 768 capped at 512: SD 2.x 768 at 768² was OOM-killed at 10,240 MB; ask for it explicitly",
    });
  });

  test("sd-lambda.json wins over SD_DEFAULT_*, which wins over the family table", () => {
    const family = detectFamily(sd15);
    const d = modelDefaults(family, sd15, "img2img", {
      env: { steps: 20, guidance: 5, strength: 0.7 },
      file: { num_inference_steps: 8, scheduler: "euler" },
    });
    expect(d.steps).toEqual({ value: 8, reason: "sd-lambda.json num_inference_steps" });
    expect(d.scheduler).toEqual({ value: "euler", reason: "sd-lambda.json scheduler" });
    expect(d.guidance).toEqual({ value: 5, reason: "SD_DEFAULT_GUIDANCE" });
    expect(d.strength).toEqual({ value: 0.7, reason: "SD_DEFAULT_STRENGTH" });
  });

  test("an unknown scheduler class falls back to PNDM and says so", () => {
    const facts = withConfig({}, { schedulerClass: "UniPCMultistepScheduler" });
    expect(modelDefaults(detectFamily(facts), facts, "txt2img").scheduler).toEqual({
      value: "pndm",
      reason:
        "scheduler_config.json's _class_name UniPCMultistepScheduler is not implemented; PNDM, SD 1.x's scheduler",
    });
  });
});

describe("sd-lambda.json", () => {
  test.each([
    [[], "must be a JSON object"],
    [
      { scheduler: "unipc" },
      `key "scheduler" is "unipc"; use one of lms, pndm, euler, euler_a, ddim, dpmpp_2m, lcm`,
    ],
    [{ num_inference_steps: 2.5 }, `key "num_inference_steps" is 2.5; use a positive integer`],
    [{ strength: 0 }, `key "strength" is 0; use a number in (0, 1]`],
    [{ guidance_scale: -1 }, `key "guidance_scale" is -1; use a number >= 0`],
  ])("%j is refused: %s", (value, problem) => {
    expect(parseSdLambdaJson(value)).toBe(problem);
  });
});

describe("diffusers' pipeline-time scheduler rewrites", () => {
  const config = sd15.schedulerConfig;
  test("a missing steps_offset reads as the class default 0 and becomes 1", () => {
    expect(pipelineRewrites("euler", config, "txt2img", "sd1")).toEqual({
      config: { ...config, steps_offset: 1 },
      warnings: [
        "scheduler_config.json steps_offset 0 (the class default) is outdated; using 1 as diffusers' pipelines do",
      ],
    });
  });

  test("DDIM's clip_sample defaults to true and is rewritten; skip_prk_steps only for inpainting", () => {
    const c = { ...config, steps_offset: 1 };
    expect(pipelineRewrites("ddim", c, "txt2img", "sd1").config.clip_sample).toBe(false);
    expect(pipelineRewrites("pndm", c, "img2img", "sd1").warnings).toEqual([]);
    expect(pipelineRewrites("pndm", c, "inpaint", "sd1").warnings).toEqual([
      "scheduler_config.json skip_prk_steps false (the class default) is outdated; using true as diffusers' pipelines do",
    ]);
  });

  test("LatentConsistencyModelPipeline rewrites nothing", () => {
    expect(pipelineRewrites("lcm", config, "txt2img", "lcm")).toEqual({ config, warnings: [] });
  });
});

describe("LCM without timestep_cond (an LCM scheduler or LoRA on an SD UNet)", () => {
  test("defaults to guidance 1: no CFG", () => {
    const facts = withConfig({}, { schedulerClass: "LCMScheduler" });
    expect(modelDefaults(detectFamily(facts), facts, "txt2img").guidance).toEqual({
      value: 1,
      reason: "lcm default: no classifier-free guidance: LCM was distilled without it",
    });
  });
});
