/**
 * What kind of Stable Diffusion model a folder holds and the defaults that follow from it: the scheduler
 * from `scheduler_config.json`'s `_class_name`, steps, guidance, size and strength from a small family
 * table (docs/decisions/model-defaults.md), each with the reason it was chosen. An `sd-lambda.json` in the
 * model folder overrides the table. Also diffusers' pipeline-time scheduler rewrites, named in warnings.
 */
import { SCHEDULER_NAMES, type SchedulerConfig, type SchedulerName } from "./schedulers/types.ts";

export type FamilyName = "sd1" | "sd2" | "sd-turbo" | "lcm" | "sd-inpaint";

/** What the loader read from the folder that decides the family. */
export interface FamilyFacts {
  readonly pipelineClass: string | undefined;
  readonly schedulerClass: string | undefined;
  readonly schedulerConfig: SchedulerConfig;
  readonly unetInChannels: number;
  readonly timestepCond: boolean;
  readonly textHidden: number;
  readonly nativeWidth: number;
  readonly nativeHeight: number;
}

export interface Family {
  readonly name: FamilyName;
  readonly why: string;
}

export function detectFamily(f: FamilyFacts): Family {
  if (f.unetInChannels === 9)
    return { name: "sd-inpaint", why: "the UNet takes 9 channels (latents, mask, masked image)" };
  if (
    f.timestepCond ||
    f.pipelineClass === "LatentConsistencyModelPipeline" ||
    f.schedulerClass === "LCMScheduler"
  )
    return {
      name: "lcm",
      why: f.timestepCond
        ? "the UNet has a timestep_cond input (time_cond_proj_dim)"
        : f.pipelineClass === "LatentConsistencyModelPipeline"
          ? "model_index.json names LatentConsistencyModelPipeline"
          : "the scheduler is LCMScheduler",
    };
  if (f.schedulerConfig.timestep_spacing === "trailing")
    return { name: "sd-turbo", why: "the scheduler's timestep_spacing is \"trailing\" (SD-Turbo's)" };
  if (f.schedulerConfig.prediction_type === "v_prediction" || f.textHidden === 1024)
    return {
      name: "sd2",
      why:
        f.schedulerConfig.prediction_type === "v_prediction"
          ? 'the scheduler\'s prediction_type is "v_prediction"'
          : "the text encoder is 1024 wide (OpenCLIP ViT-H)",
    };
  return { name: "sd1", why: "none of the SD 2.x, Turbo, LCM or inpainting signs" };
}

/** Each defaulted field's value and why it has that value. */
export interface Defaulted<T> {
  readonly value: T;
  readonly reason: string;
}

export interface ModelDefaults {
  readonly scheduler: Defaulted<SchedulerName>;
  readonly steps: Defaulted<number>;
  readonly guidance: Defaulted<number>;
  readonly width: Defaulted<number>;
  readonly height: Defaulted<number>;
  readonly strength: Defaulted<number>;
}

type Mode = "txt2img" | "img2img" | "inpaint";

/** diffusers scheduler class → the engine's scheduler name. */
export const SCHEDULER_CLASSES: Readonly<Record<string, SchedulerName>> = {
  PNDMScheduler: "pndm",
  LMSDiscreteScheduler: "lms",
  EulerDiscreteScheduler: "euler",
  EulerAncestralDiscreteScheduler: "euler_a",
  DDIMScheduler: "ddim",
  DPMSolverMultistepScheduler: "dpmpp_2m",
  LCMScheduler: "lcm",
};

/** Above this side the default is capped: SD 2.x 768-v at 768² was OOM-killed at Lambda's 10,240 MB. */
const MAX_DEFAULT_SIDE = 512;

/** Operator defaults from SD_DEFAULT_* (only those set) and the folder's sd-lambda.json. */
export interface DefaultOverrides {
  readonly env?: Partial<Record<"steps" | "guidance" | "strength", number>>;
  readonly file?: SdLambdaJson | undefined;
}

export interface SdLambdaJson {
  scheduler?: SchedulerName;
  num_inference_steps?: number;
  guidance_scale?: number;
  width?: number;
  height?: number;
  strength?: number;
}

/** The family table (docs/decisions/model-defaults.md) for one mode, then env, then sd-lambda.json. */
export function modelDefaults(
  family: Family,
  facts: FamilyFacts,
  mode: Mode,
  overrides: DefaultOverrides = {},
): ModelDefaults {
  const known = facts.schedulerClass === undefined ? undefined : SCHEDULER_CLASSES[facts.schedulerClass];
  let scheduler: Defaulted<SchedulerName> = known
    ? { value: known, reason: `scheduler_config.json's _class_name ${facts.schedulerClass}` }
    : {
        value: "pndm",
        reason: `scheduler_config.json's _class_name ${facts.schedulerClass ?? "(missing)"} is not implemented; PNDM, SD 1.x's scheduler`,
      };
  const table = familyTable(family.name, mode, facts.timestepCond);
  let steps = {
    value: table.steps,
    reason: `${family.name} default${table.stepsWhy ? `: ${table.stepsWhy}` : ""}`,
  };
  let guidance = {
    value: table.guidance,
    reason: `${family.name} default${table.guidanceWhy ? `: ${table.guidanceWhy}` : ""}`,
  };
  let strength = {
    value: mode === "inpaint" ? 1 : 0.5,
    reason:
      mode === "inpaint"
        ? "inpainting default, as diffusers' StableDiffusionInpaintPipeline"
        : "img2img default (the seed article's)",
  };
  const side = (native: number): Defaulted<number> =>
    native > MAX_DEFAULT_SIDE
      ? {
          value: MAX_DEFAULT_SIDE,
          reason: `the UNet's native ${native} capped at ${MAX_DEFAULT_SIDE}: SD 2.x 768 at 768² was OOM-killed at 10,240 MB; ask for it explicitly`,
        }
      : { value: native, reason: "the UNet's native size (sample_size × VAE factor)" };
  let width = side(facts.nativeWidth);
  let height = side(facts.nativeHeight);
  const env = overrides.env ?? {};
  if (env.steps !== undefined) steps = { value: env.steps, reason: "SD_DEFAULT_STEPS" };
  if (env.guidance !== undefined) guidance = { value: env.guidance, reason: "SD_DEFAULT_GUIDANCE" };
  if (env.strength !== undefined && mode === "img2img")
    strength = { value: env.strength, reason: "SD_DEFAULT_STRENGTH" };
  const file = overrides.file ?? {};
  const fromFile = (key: keyof SdLambdaJson) => `sd-lambda.json ${key}`;
  if (file.scheduler !== undefined) scheduler = { value: file.scheduler, reason: fromFile("scheduler") };
  if (file.num_inference_steps !== undefined)
    steps = { value: file.num_inference_steps, reason: fromFile("num_inference_steps") };
  if (file.guidance_scale !== undefined)
    guidance = { value: file.guidance_scale, reason: fromFile("guidance_scale") };
  if (file.width !== undefined) width = { value: file.width, reason: fromFile("width") };
  if (file.height !== undefined) height = { value: file.height, reason: fromFile("height") };
  if (file.strength !== undefined) strength = { value: file.strength, reason: fromFile("strength") };
  return { scheduler, steps, guidance, width, height, strength };
}

function familyTable(name: FamilyName, mode: Mode, timestepCond: boolean) {
  switch (name) {
    case "sd-turbo":
      // img2img needs steps × strength >= 1 (diffusers' docs use 2 steps at strength 0.5)
      return mode === "txt2img"
        ? {
            steps: 1,
            stepsWhy: "SD-Turbo is distilled for 1–4 steps",
            guidance: 0,
            guidanceWhy: "SD-Turbo was trained without classifier-free guidance",
          }
        : {
            steps: 2,
            stepsWhy: "1–4 steps, and steps × strength must be >= 1",
            guidance: 0,
            guidanceWhy: "SD-Turbo was trained without classifier-free guidance",
          };
    case "lcm":
      return {
        steps: 4,
        stepsWhy: "LCM is distilled for 2–8 steps",
        // without timestep_cond (an LCM-LoRA fused in) guidance would mean CFG, which LCM was distilled without
        guidance: timestepCond ? 8.5 : 1,
        guidanceWhy: timestepCond
          ? "LatentConsistencyModelPipeline's default, fed as the guidance embedding (no CFG)"
          : "no classifier-free guidance: LCM was distilled without it",
      };
    default:
      return {
        steps: 32,
        stepsWhy: "the seed article's steps for SD 1.x/2.x",
        guidance: 7.5,
        guidanceWhy: "diffusers' StableDiffusionPipeline default",
      };
  }
}

/** Reads and checks `sd-lambda.json`; returns the problem as text (the loader turns it into MODEL_INVALID). */
export function parseSdLambdaJson(value: unknown): SdLambdaJson | string {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return "must be a JSON object";
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    if (key === "scheduler") {
      if (!(SCHEDULER_NAMES as readonly unknown[]).includes(v))
        return `key "scheduler" is ${JSON.stringify(v)}; use one of ${SCHEDULER_NAMES.join(", ")}`;
    } else if (key === "num_inference_steps" || key === "width" || key === "height") {
      if (!Number.isInteger(v) || (v as number) < 1)
        return `key "${key}" is ${JSON.stringify(v)}; use a positive integer`;
    } else if (key === "guidance_scale" || key === "strength") {
      if (typeof v !== "number" || v < 0 || (key === "strength" && (v === 0 || v > 1)))
        return `key "${key}" is ${JSON.stringify(v)}; use a number${key === "strength" ? " in (0, 1]" : " >= 0"}`;
    } else if (!key.startsWith("_")) {
      return `unknown key "${key}"; known: scheduler, num_inference_steps, guidance_scale, width, height, strength`;
    }
    out[key] = v;
  }
  return out as SdLambdaJson;
}

/**
 * The scheduler config diffusers' StableDiffusion(Img2Img|Inpaint)Pipeline would run with: when built
 * they set `steps_offset` to 1 and `clip_sample` to false, and the inpainting pipeline `skip_prk_steps`
 * to true — reading a missing key as the class's own default. LatentConsistencyModelPipeline does not.
 */
export function pipelineRewrites(
  scheduler: SchedulerName,
  config: SchedulerConfig,
  mode: Mode,
  family: FamilyName,
): { config: SchedulerConfig; warnings: string[] } {
  if (family === "lcm") return { config, warnings: [] };
  const out: SchedulerConfig = { ...config };
  const warnings: string[] = [];
  const rewrite = (key: string, classDefault: unknown, wanted: unknown, when: (v: unknown) => boolean) => {
    const v = config[key] === undefined ? classDefault : config[key];
    if (!when(v)) return;
    out[key] = wanted;
    warnings.push(
      `scheduler_config.json ${key} ${JSON.stringify(v)}${config[key] === undefined ? " (the class default)" : ""} is outdated; using ${JSON.stringify(wanted)} as diffusers' pipelines do`,
    );
  };
  rewrite("steps_offset", 0, 1, (v) => v !== 1);
  const clipDefault = scheduler === "ddim" ? true : scheduler === "lcm" ? false : undefined;
  if (clipDefault !== undefined) rewrite("clip_sample", clipDefault, false, (v) => v === true);
  if (scheduler === "pndm" && mode === "inpaint") rewrite("skip_prk_steps", false, true, (v) => v === false);
  return { config: out, warnings };
}
