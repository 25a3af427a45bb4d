/**
 * The Stable Diffusion pipeline: text encoder, classifier-free guidance, the denoising loop, VAE decode,
 * and img2img / inpainting on top of the VAE encoder. It follows diffusers' StableDiffusion(Img2Img|
 * Inpaint)Pipeline step for step — including the order in which noise is drawn from the seed's numpy
 * generator — so its latents can be checked against theirs.
 */
import { BadRequestError, ModelError } from "../errors.ts";
import { pipelineRewrites } from "./family.ts";
import { fromModelOutput, type RgbImage, toMask, toModelInput } from "./image.ts";
import type { Model } from "./model.ts";
import type { Tensor } from "./ort.ts";
import { NumpyRandom } from "./random.ts";
import { createScheduler, type Scheduler, type SchedulerName } from "./schedulers/index.ts";

export interface GenerateParams {
  readonly prompt: string;
  readonly negativePrompt?: string | undefined;
  readonly seed: number;
  readonly steps: number;
  /** <= 1 turns classifier-free guidance off (one UNet pass per step instead of two). */
  readonly guidance: number;
  readonly width: number;
  readonly height: number;
  readonly scheduler: SchedulerName;
  /** img2img / inpainting source, already at width×height. */
  readonly initImage?: RgbImage | undefined;
  /** Inpainting: white repaints, black keeps; at width×height. */
  readonly mask?: RgbImage | undefined;
  /** How far img2img/inpainting moves from the init image (0..1]. */
  readonly strength?: number | undefined;
}

export interface StepInfo {
  /** 0-based index of the UNet call just finished, of `total`. */
  readonly index: number;
  readonly total: number;
  readonly timestep: number;
  readonly stepMs: number;
  readonly latents: Float32Array;
}

export interface GenerateHooks {
  /** Called before each UNet call with the calls left and the mean ms per call so far; may throw to stop. */
  readonly beforeStep?: (remaining: number, meanStepMs: number | undefined) => void;
  readonly onStep?: (step: StepInfo) => void;
}

export interface Timings {
  tokenize: number;
  text_encoder: number;
  vae_encode: number;
  unet: number;
  vae_decode: number;
  total: number;
}

export interface Generation {
  readonly image: RgbImage;
  readonly timings: Timings;
  readonly tokenIds: { readonly cond: number[]; readonly uncond: number[] | null };
  /** The timesteps actually denoised (after img2img's strength cut). */
  readonly timesteps: readonly number[];
  readonly warnings: string[];
}

export async function generate(
  model: Model,
  params: GenerateParams,
  hooks: GenerateHooks = {},
): Promise<Generation> {
  const started = performance.now();
  const timings: Timings = { tokenize: 0, text_encoder: 0, vae_encode: 0, unet: 0, vae_decode: 0, total: 0 };
  const time = async <T>(stage: keyof Timings, work: () => Promise<T> | T): Promise<T> => {
    const t0 = performance.now();
    try {
      return await work();
    } finally {
      timings[stage] += performance.now() - t0;
    }
  };
  const warnings: string[] = [];
  // LatentConsistencyModelPipeline feeds the guidance as an embedding (timestep_cond) and runs no CFG
  const cfg = params.guidance > 1 && model.timestepCondDim === undefined;
  const factor = model.vaeScaleFactor;
  const multiple = model.sizeMultiple;
  if (params.width % multiple !== 0 || params.height % multiple !== 0) {
    throw new BadRequestError(
      `width and height must be multiples of ${multiple} for model ${model.name}, got ${params.width}x${params.height}`,
      { field: params.width % multiple !== 0 ? "width" : "height", limit: multiple },
    );
  }
  if (model.family.name === "lcm" && params.initImage) {
    // LatentConsistencyModelImg2ImgPipeline cuts the schedule with LCMScheduler's own strength rule
    throw new BadRequestError(
      `model ${model.name} is an LCM (${model.family.why}); only text-to-image is supported for it — leave out init_image and mask`,
      { field: "init_image" },
    );
  }
  const fixed = model.fixedSize;
  if (fixed && (params.width !== fixed.width || params.height !== fixed.height)) {
    throw new BadRequestError(
      `model ${model.name}'s UNet was exported for ${fixed.width}x${fixed.height} only, got ${params.width}x${params.height}; leave width and height out or re-export the UNet with dynamic height and width`,
      { field: params.width !== fixed.width ? "width" : "height", limit: `${fixed.width}x${fixed.height}` },
    );
  }
  const latentShape = [1, 4, params.height / factor, params.width / factor] as const;
  const latentSize = latentShape[1] * latentShape[2] * latentShape[3];
  const rng = new NumpyRandom(params.seed);

  // 1. Prompt embeddings: [uncond, cond] when guidance is on, as diffusers concatenates them.
  const { cond, uncond } = await time("tokenize", () => {
    const c = model.tokenizer.encode(params.prompt);
    if (c.truncated)
      warnings.push(
        `prompt is ${c.tokenCount} tokens; the model reads the first ${model.tokenizer.maxLength}`,
      );
    const u = cfg ? model.tokenizer.encode(params.negativePrompt ?? "") : null;
    if (u?.truncated)
      warnings.push(
        `negative_prompt is ${u.tokenCount} tokens; the model reads the first ${model.tokenizer.maxLength}`,
      );
    if (!cfg && params.negativePrompt)
      warnings.push("negative_prompt is ignored when guidance_scale <= 1 (no classifier-free guidance)");
    return { cond: c.ids, uncond: u?.ids ?? null };
  });
  const embeddings = await time("text_encoder", () => encodeText(model, uncond ? [uncond, cond] : [cond]));

  // 2. Schedule; img2img and inpainting skip the first (1 - strength) of it.
  const mode = params.mask ? "inpaint" : params.initImage ? "img2img" : "txt2img";
  const scheduler = buildScheduler(model, params, mode, warnings);
  let timesteps = scheduler.timesteps;
  const image = params.initImage;
  if (image) {
    const strength = params.strength ?? 1;
    const initTimestep = Math.min(Math.trunc(params.steps * strength), params.steps);
    const tStart = Math.max(params.steps - initTimestep, 0);
    timesteps = timesteps.slice(tStart * scheduler.order);
    scheduler.setBeginIndex(tStart * scheduler.order);
    if (timesteps.length === 0) {
      throw new BadRequestError(
        `strength ${strength} with num_inference_steps ${params.steps} leaves no step to run; raise strength or num_inference_steps so that steps × strength >= 1`,
      );
    }
  }

  // 3. Initial latents, drawing noise in diffusers' order: image latents, noise, masked-image latents.
  let latents: Float32Array;
  let imageLatents: Float32Array | undefined;
  let noise: Float32Array;
  let maskLatent: Float32Array | undefined;
  let maskedImageLatents: Float32Array | undefined;
  if (!image) {
    noise = rng.randn(latentShape);
    latents = scale(noise, scheduler.initNoiseSigma);
  } else {
    const pixels = toModelInput(image);
    const strengthMax = (params.strength ?? 1) === 1;
    // StableDiffusionInpaintPipeline encodes the init image first only when it blends with it (4-channel
    // UNet) or starts from it (strength < 1); a 9-channel UNet at strength 1 starts from noise alone
    if (!(params.mask && strengthMax && model.unetInChannels === 9))
      imageLatents = await time("vae_encode", () => encodeImage(model, pixels, params, rng, latentShape));
    noise = rng.randn(latentShape);
    latents =
      params.mask && strengthMax
        ? scale(noise, scheduler.initNoiseSigma)
        : scheduler.addNoise(imageLatents as Float32Array, noise, timesteps[0] as number);
    if (params.mask) {
      const mask = toMask(params.mask);
      maskLatent = downsampleNearest(mask, params.width, params.height, factor);
      const keep = pixels.map((v, i) => v * ((mask[i % mask.length] as number) < 0.5 ? 1 : 0));
      maskedImageLatents = await time("vae_encode", () => encodeImage(model, keep, params, rng, latentShape));
    }
  }

  // 4. Denoising loop.
  const batch = cfg ? 2 : 1;
  const timestepCond = model.timestepCondDim && guidanceEmbedding(params.guidance, model.timestepCondDim);
  let meanStepMs: number | undefined;
  for (let i = 0; i < timesteps.length; i++) {
    hooks.beforeStep?.(timesteps.length - i, meanStepMs);
    const t = timesteps[i] as number;
    const index = i + (scheduler.timesteps.length - timesteps.length);
    const stepStart = performance.now();
    const input = scheduler.scaleModelInput(latents, index);
    const unetInput = unetSample(model, input, batch, latentShape, maskLatent, maskedImageLatents);
    const out = await time("unet", () =>
      runUnet(model, unetInput, t, embeddings, batch, latentShape, timestepCond || undefined),
    );
    const noisePred = cfg ? guide(out, latentSize, params.guidance) : out;
    latents = scheduler.step(noisePred, index, latents, rng, latentShape);
    if (maskLatent && imageLatents && model.unetInChannels === 4) {
      const next = timesteps[i + 1];
      const proper = next === undefined ? imageLatents : scheduler.addNoise(imageLatents, noise, next);
      const m = maskLatent;
      latents = latents.map((v, k) => {
        const w = m[k % m.length] as number;
        return Math.fround(Math.fround((1 - w) * (proper[k] as number)) + Math.fround(w * v));
      });
    }
    const stepMs = performance.now() - stepStart;
    meanStepMs = ((meanStepMs ?? 0) * i + stepMs) / (i + 1);
    hooks.onStep?.({ index: i, total: timesteps.length, timestep: t, stepMs, latents });
  }

  // 5. Decode.
  const decoded = await time("vae_decode", async () => {
    const scaled = latents.map((v) => Math.fround(v / model.vaeScalingFactor));
    const out = await model.vaeDecoder.run({
      latent_sample: { type: "float32", data: scaled, dims: latentShape },
    });
    return firstFloat(out, "sample");
  });
  timings.total = performance.now() - started;
  return {
    image: fromModelOutput(decoded, params.width, params.height),
    timings,
    tokenIds: { cond, uncond },
    timesteps,
    warnings,
  };
}

/** The scheduler a request picked, on the config diffusers' pipeline would rewrite it to; a config it cannot run is a 400. */
function buildScheduler(
  model: Model,
  params: GenerateParams,
  mode: "txt2img" | "img2img" | "inpaint",
  warnings: string[],
): Scheduler {
  const rewritten = pipelineRewrites(params.scheduler, model.schedulerConfig, mode, model.family.name);
  warnings.push(...rewritten.warnings);
  try {
    return createScheduler(params.scheduler, rewritten.config, params.steps);
  } catch (cause) {
    throw new BadRequestError(
      `scheduler ${params.scheduler} with num_inference_steps ${params.steps} cannot run on model ${model.name}: ${(cause as Error).message}`,
      { field: "scheduler", value: params.scheduler },
    );
  }
}

/**
 * LatentConsistencyModelPipeline's `get_guidance_scale_embedding(w = guidance - 1)`, in float32 like torch:
 * [sin(1000·w·f), cos(1000·w·f)] with f = exp(-i · ln(10000) / (half - 1)).
 */
export function guidanceEmbedding(guidance: number, dim: number): Float32Array {
  const f = Math.fround;
  const w = f(f(guidance - 1) * 1000);
  const half = Math.floor(dim / 2);
  const step = f(f(Math.log(10000)) / (half - 1));
  const out = new Float32Array(dim); // an odd width is zero-padded at the end
  for (let i = 0; i < half; i++) {
    const x = f(w * f(Math.exp(f(i * -step))));
    out[i] = Math.sin(x);
    out[half + i] = Math.cos(x);
  }
  return out;
}

async function encodeText(model: Model, prompts: number[][]): Promise<Float32Array> {
  const info = model.textEncoder.input("input_ids");
  const flat = prompts.flat();
  const ids: Tensor =
    info.type === "int64"
      ? {
          type: "int64",
          data: BigInt64Array.from(flat, BigInt),
          dims: [prompts.length, model.tokenizer.maxLength],
        }
      : { type: "int32", data: Int32Array.from(flat), dims: [prompts.length, model.tokenizer.maxLength] };
  return firstFloat(await model.textEncoder.run({ input_ids: ids }), "last_hidden_state");
}

/** VAE posterior sample × scaling factor: mean + std · randn, as `latent_dist.sample(generator)`. */
async function encodeImage(
  model: Model,
  pixels: Float32Array,
  params: GenerateParams,
  rng: NumpyRandom,
  latentShape: readonly number[],
): Promise<Float32Array> {
  if (!model.vaeEncoder) {
    throw new ModelError(
      "MODEL_NOT_FOUND",
      `model folder ${model.dir} has no vae_encoder/model.onnx, needed for img2img and inpainting`,
      {
        details: { path: `${model.dir}/vae_encoder/model.onnx` },
      },
    );
  }
  const out = await model.vaeEncoder.run({
    sample: { type: "float32", data: pixels, dims: [1, 3, params.height, params.width] },
  });
  const size = latentShape.reduce((a, b) => a * b, 1);
  const parameters = out.latent_parameters;
  let sample: Float32Array;
  if (parameters) {
    // mean and logvar stacked on the channel axis; logvar clamped to [-30, 20] as DiagonalGaussianDistribution
    const p = parameters.data as Float32Array;
    const eps = rng.randn(latentShape);
    sample = new Float32Array(size);
    for (let k = 0; k < size; k++) {
      const std = Math.fround(
        Math.exp(Math.fround(0.5 * Math.min(20, Math.max(-30, p[size + k] as number)))),
      );
      sample[k] = Math.fround((p[k] as number) + Math.fround(std * (eps[k] as number)));
    }
  } else {
    sample = firstFloat(out, "latent_sample");
  }
  return scale(sample, model.vaeScalingFactor);
}

/** The UNet's `sample` feed: latents repeated per guidance branch, plus mask and masked image for 9-channel UNets. */
function unetSample(
  model: Model,
  input: Float32Array,
  batch: number,
  latentShape: readonly number[],
  maskLatent: Float32Array | undefined,
  maskedImageLatents: Float32Array | undefined,
): Float32Array {
  const channels = model.unetInChannels;
  const plane = (latentShape[2] as number) * (latentShape[3] as number);
  if (channels === 4) return repeat(input, batch);
  if (channels === 9 && maskLatent && maskedImageLatents) {
    const one = new Float32Array(9 * plane);
    one.set(input, 0);
    one.set(maskLatent, 4 * plane);
    one.set(maskedImageLatents, 5 * plane);
    return repeat(one, batch);
  }
  throw new BadRequestError(
    channels === 9
      ? `model ${model.name} is an inpainting model (9-channel UNet): it needs init_image and mask`
      : `model ${model.name} has a ${channels}-channel UNet; only 4 (text-to-image) and 9 (inpainting) are supported`,
  );
}

async function runUnet(
  model: Model,
  sample: Float32Array,
  t: number,
  embeddings: Float32Array,
  batch: number,
  latentShape: readonly number[],
  timestepCond: Float32Array | undefined,
): Promise<Float32Array> {
  const info = model.unet.input("timestep");
  const count = info.shape.length === 0 ? 1 : info.shape[0] === 1 ? 1 : batch;
  const dims = info.shape.length === 0 ? [] : [count];
  const timestep: Tensor =
    info.type === "int64"
      ? { type: "int64", data: new BigInt64Array(count).fill(BigInt(Math.trunc(t))), dims }
      : { type: "float32", data: new Float32Array(count).fill(t), dims };
  const hiddenSize = embeddings.length / (batch * model.tokenizer.maxLength);
  const cond: Record<string, Tensor> = timestepCond
    ? {
        timestep_cond: {
          type: "float32",
          data: repeat(timestepCond, batch),
          dims: [batch, timestepCond.length],
        },
      }
    : {};
  const out = await model.unet.run({
    ...cond,
    sample: {
      type: "float32",
      data: sample,
      dims: [batch, model.unetInChannels, latentShape[2] as number, latentShape[3] as number],
    },
    timestep,
    encoder_hidden_states: {
      type: "float32",
      data: embeddings,
      dims: [batch, model.tokenizer.maxLength, hiddenSize],
    },
  });
  return firstFloat(out, "out_sample");
}

/** uncond + g · (cond − uncond), in float32 like torch. */
function guide(out: Float32Array, size: number, g: number): Float32Array {
  const result = new Float32Array(size);
  const gf = Math.fround(g);
  for (let k = 0; k < size; k++) {
    const u = out[k] as number;
    const c = out[size + k] as number;
    result[k] = Math.fround(u + Math.fround(gf * Math.fround(c - u)));
  }
  return result;
}

/** torch.nn.functional.interpolate(mode="nearest") by an integer factor: every `factor`-th pixel. */
function downsampleNearest(mask: Float32Array, width: number, height: number, factor: number): Float32Array {
  const w = width / factor;
  const h = height / factor;
  const out = new Float32Array(w * h);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) out[y * w + x] = mask[y * factor * width + x * factor] as number;
  return out;
}

function firstFloat(out: Record<string, Tensor>, preferred: string): Float32Array {
  const t = out[preferred] ?? Object.values(out)[0];
  if (!t || !(t.data instanceof Float32Array))
    throw new ModelError("MODEL_INVALID", `model output ${preferred} is not float32`);
  return t.data;
}

function scale(x: Float32Array, s: number): Float32Array {
  return x.map((v) => v * s);
}

function repeat(x: Float32Array, times: number): Float32Array {
  if (times === 1) return x;
  const out = new Float32Array(x.length * times);
  for (let r = 0; r < times; r++) out.set(x, r * x.length);
  return out;
}
