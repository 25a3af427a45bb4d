/**
 * One validated request → one encoded image: resolves the defaults that depend on the model and the
 * mode (size, scheduler, seed), decodes init image and mask, runs the pipeline, encodes the output.
 * Shared by the Lambda handler and the harness's in-process `generate`.
 */
import { randomInt } from "node:crypto";
import { type Defaulted, type DefaultOverrides, modelDefaults } from "./engine/family.ts";
import { decodeImage, encodeImage, imageSize, type OutputFormat } from "./engine/image.ts";
import type { Model } from "./engine/model.ts";
import { ortVersion } from "./engine/ort.ts";
import { type GenerateHooks, generate, type Timings } from "./engine/pipeline.ts";
import type { SchedulerName } from "./engine/schedulers/types.ts";
import { BadRequestError } from "./errors.ts";
import type { SdRequest } from "./request.ts";

export interface Rendered {
  readonly bytes: Buffer;
  readonly contentType: string;
  readonly format: OutputFormat;
  readonly seed: number;
  readonly width: number;
  readonly height: number;
  readonly steps: number;
  readonly guidance: number;
  readonly scheduler: SchedulerName;
  readonly mode: "txt2img" | "img2img" | "inpaint";
  readonly model: string;
  readonly timings: Timings & { encode: number };
  readonly warnings: string[];
  /** The fields the request left out: the value used and why (the model's family, sd-lambda.json, SD_DEFAULT_*). */
  readonly defaults: Readonly<Record<string, Defaulted<number | string>>>;
  /** What computed it, so a golden or a bug report can name the engine. */
  readonly engine: { readonly onnxruntime: string; readonly threads: number };
}

export async function render(
  model: Model,
  request: SdRequest,
  hooks: GenerateHooks = {},
  operator: DefaultOverrides["env"] = {},
): Promise<Rendered> {
  const seed = request.seed ?? randomInt(0, 2 ** 32 - 1);
  const init =
    request.init_image === undefined ? undefined : await decodeInput("init_image", request.init_image);
  const mode = request.mask !== undefined ? "inpaint" : init ? "img2img" : "txt2img";
  const modelDefault = modelDefaults(model.family, model.facts, mode, {
    env: operator,
    file: model.sdLambda,
  });
  const used: Record<string, Defaulted<number | string>> = {};
  const pick = <T extends number | string>(
    field: string,
    given: T | undefined,
    fallback: Defaulted<T>,
  ): T => {
    if (given !== undefined) return given;
    used[field] = fallback;
    return fallback.value;
  };
  const size = resolveSize(model, request, init, modelDefault, pick);
  const scheduler = pick("scheduler", request.scheduler, modelDefault.scheduler);
  const steps = pick("num_inference_steps", request.num_inference_steps, modelDefault.steps);
  const guidance = pick("guidance_scale", request.guidance_scale, modelDefault.guidance);
  const strength = init ? pick("strength", request.strength, modelDefault.strength) : undefined;
  const initImage = init ? await decodeImage(init.bytes, size) : undefined;
  const mask =
    request.mask === undefined
      ? undefined
      : await decodeImage((await decodeInput("mask", request.mask)).bytes, size);
  const warnings: string[] = [];
  if (init && (init.width !== size.width || init.height !== size.height)) {
    warnings.push(`init_image is ${init.width}x${init.height}; resized to ${size.width}x${size.height}`);
  }
  const generation = await generate(
    model,
    {
      prompt: request.prompt,
      negativePrompt: request.negative_prompt,
      seed,
      steps,
      guidance,
      width: size.width,
      height: size.height,
      scheduler,
      initImage,
      mask,
      strength,
    },
    hooks,
  );
  const t0 = performance.now();
  const bytes = await encodeImage(generation.image, request.output_format);
  return {
    bytes,
    contentType: `image/${request.output_format}`,
    format: request.output_format,
    seed,
    width: size.width,
    height: size.height,
    steps,
    guidance,
    scheduler,
    mode,
    model: model.name,
    timings: { ...generation.timings, encode: performance.now() - t0 },
    warnings: [...warnings, ...generation.warnings],
    defaults: used,
    engine: { onnxruntime: await ortVersion(), threads: model.threads },
  };
}

/** The steps and guidance a request runs with (its own, else the model's defaults), before rendering. */
export function plannedSteps(
  model: Model,
  request: SdRequest,
  operator: DefaultOverrides["env"] = {},
): { steps: number; guidance: number } {
  const mode =
    request.mask !== undefined ? "inpaint" : request.init_image !== undefined ? "img2img" : "txt2img";
  const d = modelDefaults(model.family, model.facts, mode, { env: operator, file: model.sdLambda });
  return {
    steps: request.num_inference_steps ?? d.steps.value,
    guidance: request.guidance_scale ?? d.guidance.value,
  };
}

/** Timings in whole milliseconds, for logs, headers and JSON. */
export function roundTimings(timings: object): Record<string, number> {
  return Object.fromEntries(Object.entries(timings).map(([k, v]) => [k, Math.round(v as number)]));
}

/** Requested size, else the init image's (when a multiple of the model's), else the model's default size. */
function resolveSize(
  model: Model,
  request: SdRequest,
  init: { width: number; height: number } | undefined,
  defaults: { width: Defaulted<number>; height: Defaulted<number> },
  pick: <T extends number | string>(field: string, given: T | undefined, fallback: Defaulted<T>) => T,
): { width: number; height: number } {
  if (request.width !== undefined || request.height !== undefined || !init) {
    return {
      width: pick("width", request.width, defaults.width),
      height: pick("height", request.height, defaults.height),
    };
  }
  const { width, height } = init;
  const f = model.sizeMultiple;
  if (width % f !== 0 || height % f !== 0) {
    throw new BadRequestError(
      `init_image is ${width}x${height}, not a multiple of ${f}; pass width and height to resize it, or crop it to multiples of ${f}`,
      { field: "init_image" },
    );
  }
  return { width, height };
}

/** base64 → bytes and size, refusing what sharp cannot decode. */
async function decodeInput(
  field: "init_image" | "mask",
  base64: string,
): Promise<{ bytes: Buffer; width: number; height: number }> {
  const bytes = Buffer.from(base64, "base64");
  try {
    return { bytes, ...(await imageSize(bytes)) };
  } catch {
    throw new BadRequestError(
      `${field} is not a decodable image (${bytes.length} bytes after base64 decoding); send a base64-encoded PNG, JPEG or WebP`,
      { field },
    );
  }
}
