/**
 * One validated request → one encoded image. `resolvePlan()` is the one place where what the request
 * left out is decided (size, scheduler, steps, guidance, strength, seed, format) and where every limit
 * is applied to what will actually be rendered, before any work; `renderPlan()` decodes the images,
 * runs the pipeline and encodes the output. Shared by the Lambda handler and the harness's `generate`.
 */
import { randomInt } from "node:crypto";
import { decodeBase64 } from "./base64.ts";
import { type Defaulted, modelDefaults } from "./engine/family.ts";
import {
  decodeImage,
  encodeImage,
  type InspectedImage,
  inspectImage,
  type OutputFormat,
} from "./engine/image.ts";
import type { Model } from "./engine/model.ts";
import { ortVersion } from "./engine/ort.ts";
import { type GenerateHooks, generate, type Timings } from "./engine/pipeline.ts";
import type { SchedulerConfig, SchedulerName } from "./engine/schedulers/types.ts";
import { BadRequestError } from "./errors.ts";
import { checkSize, DEFAULT_LIMITS, type Limits, type SdRequest } from "./request.ts";

export type Mode = "txt2img" | "img2img" | "inpaint";

/** Everything one render needs, decided and checked. */
export interface Plan {
  readonly prompt: string;
  readonly negativePrompt: string | undefined;
  readonly seed: number;
  readonly width: number;
  readonly height: number;
  readonly steps: number;
  readonly guidance: number;
  readonly scheduler: SchedulerName;
  readonly mode: Mode;
  /** img2img and inpainting only. */
  readonly strength: number | undefined;
  readonly outputFormat: OutputFormat;
  readonly init: InspectedImage | undefined;
  readonly mask: InspectedImage | undefined;
  /** UNet batch per step: 2 with classifier-free guidance. */
  readonly batch: number;
  /** Everything changed from what the request gave (resized, flattened, cut), said in the response. */
  readonly warnings: string[];
  /** The fields the request left out: the value used and why (model family, sd-lambda.json, SD_DEFAULT_*). */
  readonly defaults: Readonly<Record<string, Defaulted<number | string>>>;
}

/** The plan's decisions as rendered, with the image and what it cost. */
export interface Rendered
  extends Pick<
    Plan,
    | "seed"
    | "width"
    | "height"
    | "steps"
    | "guidance"
    | "scheduler"
    | "mode"
    | "strength"
    | "warnings"
    | "defaults"
  > {
  readonly bytes: Buffer;
  readonly contentType: string;
  readonly format: OutputFormat;
  readonly model: string;
  readonly timings: Timings & { encode: number };
  /** What computed it, so a golden or a bug report can name the engine. */
  readonly engine: { readonly onnxruntime: string; readonly threads: number };
}

export async function render(
  model: Model,
  request: SdRequest,
  hooks: GenerateHooks = {},
  limits: Limits = DEFAULT_LIMITS,
): Promise<Rendered> {
  return renderPlan(model, await resolvePlan(model, request, limits), hooks);
}

/**
 * Fills in what the request left out — from the request, then the init image (size), then the model's
 * defaults (engine/family.ts: sd-lambda.json, SD_DEFAULT_* when set, the family table; each with its
 * reason) — and checks the result against the limits. Images are inspected (format, header size) but
 * not decoded.
 */
export async function resolvePlan(model: Model, request: SdRequest, limits: Limits): Promise<Plan> {
  const warnings: string[] = [];
  const image = async (field: "init_image" | "mask", base64: string | undefined) =>
    base64 === undefined ? undefined : inspectImage(field, decodeBase64(base64, field), limits);
  const init = await image("init_image", request.init_image);
  const mask = await image("mask", request.mask);
  const mode: Mode = mask ? "inpaint" : init ? "img2img" : "txt2img";
  const env = {
    steps: limits.defaultSteps,
    guidance: limits.defaultGuidance,
    strength: limits.defaultStrength,
  };
  const model_ = modelDefaults(model.family, model.facts, mode, { env, file: model.sdLambda });
  const defaults: Record<string, Defaulted<number | string>> = {};
  const pick = <T extends number | string>(
    field: string,
    given: T | undefined,
    fallback: Defaulted<T>,
  ): T => {
    if (given !== undefined) return given;
    defaults[field] = fallback;
    return fallback.value;
  };
  const { width, height, origin } = resolveSize(model, request, init, model_, pick);
  checkSize(width, height, limits, origin);
  const scheduler = pick("scheduler", request.scheduler, model_.scheduler);
  const steps = pick("num_inference_steps", request.num_inference_steps, model_.steps);
  checkSteps(scheduler, model.schedulerConfig, steps, defaults.num_inference_steps?.reason, limits);
  const guidance = pick("guidance_scale", request.guidance_scale, model_.guidance);
  const strength = init ? pick("strength", request.strength, model_.strength) : undefined;
  if (strength !== undefined && Math.trunc(steps * strength) < 1) {
    throw new BadRequestError(
      `strength ${strength} × num_inference_steps ${steps} leaves no step to run; raise strength or num_inference_steps so that steps × strength ≥ 1`,
      { field: "strength", value: strength },
    );
  }
  for (const img of [init, mask]) {
    if (!img) continue;
    if (img.width !== width || img.height !== height)
      warnings.push(`${img.field} is ${img.width}x${img.height}; resized to ${width}x${height}`);
    if (img.hasAlpha) warnings.push(`${img.field} has an alpha channel; it was dropped (RGB used as is)`);
    if (img.pages > 1) warnings.push(`${img.field} has ${img.pages} frames; only the first is used`);
  }
  return {
    prompt: request.prompt,
    negativePrompt: request.negative_prompt,
    seed: request.seed ?? randomInt(0, 2 ** 32 - 1),
    width,
    height,
    steps,
    guidance,
    scheduler,
    mode,
    strength,
    outputFormat: request.output_format ?? "png",
    init,
    mask,
    // an LCM UNet takes the guidance as an embedding (timestep_cond), without CFG
    batch: guidance > 1 && model.timestepCondDim === undefined ? 2 : 1,
    warnings,
    defaults,
  };
}

export async function renderPlan(model: Model, plan: Plan, hooks: GenerateHooks = {}): Promise<Rendered> {
  const size = { width: plan.width, height: plan.height };
  const initImage = plan.init ? await decodeImage(plan.init, size) : undefined;
  const mask = plan.mask ? await decodeImage(plan.mask, size) : undefined;
  const generation = await generate(
    model,
    {
      prompt: plan.prompt,
      negativePrompt: plan.negativePrompt,
      seed: plan.seed,
      steps: plan.steps,
      guidance: plan.guidance,
      width: plan.width,
      height: plan.height,
      scheduler: plan.scheduler,
      initImage,
      mask,
      strength: plan.strength,
    },
    hooks,
  );
  const t0 = performance.now();
  const bytes = await encodeImage(generation.image, plan.outputFormat);
  return {
    bytes,
    contentType: `image/${plan.outputFormat}`,
    format: plan.outputFormat,
    seed: plan.seed,
    width: plan.width,
    height: plan.height,
    steps: plan.steps,
    guidance: plan.guidance,
    scheduler: plan.scheduler,
    mode: plan.mode,
    strength: plan.strength,
    model: model.name,
    timings: { ...generation.timings, encode: performance.now() - t0 },
    warnings: [...plan.warnings, ...generation.warnings],
    defaults: plan.defaults,
    engine: { onnxruntime: await ortVersion(), threads: model.threads },
  };
}

/** Timings in whole milliseconds, for logs, headers and JSON. */
export function roundTimings(timings: object): Record<string, number> {
  return Object.fromEntries(Object.entries(timings).map(([k, v]) => [k, Math.round(v as number)]));
}

/** Requested size (an omitted side from the model's defaults), else the init image's, else the model's. */
function resolveSize(
  model: Model,
  request: SdRequest,
  init: InspectedImage | undefined,
  defaults: { width: Defaulted<number>; height: Defaulted<number> },
  pick: <T extends number | string>(field: string, given: T | undefined, fallback: Defaulted<T>) => T,
): { width: number; height: number; origin: string } {
  if (request.width !== undefined || request.height !== undefined || !init) {
    const defaulted = [
      request.width === undefined ? "width" : "",
      request.height === undefined ? "height" : "",
    ].filter(Boolean);
    return {
      width: pick("width", request.width, defaults.width),
      height: pick("height", request.height, defaults.height),
      origin: defaulted.length ? ` (${defaulted.join(" and ")} from model ${model.name}'s default)` : "",
    };
  }
  const { width, height } = init;
  const f = model.sizeMultiple;
  if (width % f !== 0 || height % f !== 0) {
    throw new BadRequestError(
      `init_image is ${width}x${height}, not a multiple of ${f}; pass width and height to resize it, or crop it to multiples of ${f}`,
      { field: "init_image", value: `${width}x${height}` },
    );
  }
  return { width, height, origin: " (the init_image's size)" };
}

/**
 * The step counts a scheduler can run with this model's config, as diffusers' `set_timesteps` allows
 * them: never more than `num_train_timesteps`; LCM at most its `original_inference_steps` (the
 * distillation schedule it picks from); PNDM with PRK warm-up (`skip_prk_steps` false) at least 4.
 */
export function stepRange(
  scheduler: SchedulerName,
  config: SchedulerConfig,
): { min: number; max: number; why: string } {
  const int = (key: string, fallback: number) => {
    const v = config[key];
    return typeof v === "number" && Number.isInteger(v) && v > 0 ? v : fallback;
  };
  const train = int("num_train_timesteps", 1000);
  if (scheduler === "lcm") {
    const original = int("original_inference_steps", 50);
    if (original < train)
      return { min: 1, max: original, why: `its config's original_inference_steps is ${original}` };
  }
  if (scheduler === "pndm" && config.skip_prk_steps === false)
    return { min: 4, max: train, why: "its config has skip_prk_steps false (4 PRK warm-up steps)" };
  return { min: 1, max: train, why: `its config's num_train_timesteps is ${train}` };
}

function checkSteps(
  scheduler: SchedulerName,
  config: SchedulerConfig,
  steps: number,
  /** Why the steps are what they are, when the request left them out. */
  defaulted: string | undefined,
  limits: Limits,
): void {
  const range = stepRange(scheduler, config);
  if (steps >= range.min && steps <= range.max) return;
  const min = Math.max(1, range.min);
  const max = Math.min(limits.maxSteps, range.max);
  throw new BadRequestError(
    `num_inference_steps must be from ${min} to ${max} with scheduler ${scheduler} (${range.why}), got ${steps}${defaulted ? ` (the default: ${defaulted})` : ""}`,
    { field: "num_inference_steps", value: steps, limit: max },
  );
}
