/**
 * What the alpha-parameterised schedulers (DDIM, PNDM, LCM) share: the config reading they have in common,
 * `alphas_cumprod` at the previous timestep, x0 / epsilon recovery, sample clipping and the
 * `sqrt(a) * x + sqrt(1 - a) * e` mix behind `add_noise`, DDIM's update and LCM's re-noising.
 */

import {
  alphaAt,
  alphasCumprod,
  type BetaDefaults,
  ConfigReader,
  f32,
  integerTimesteps,
  LINEAR_BETAS,
  PREDICTIONS,
  type PredictionType,
  readPrediction,
  SPACINGS,
} from "./common.ts";
import type { SchedulerConfig } from "./types.ts";

export interface AlphaSetupOptions {
  /** The diffusers class, for config errors. */
  owner: string;
  /** Defaults to `LINEAR_BETAS`. */
  betas?: BetaDefaults;
  /** Prediction types the class implements (all three unless given). */
  predictions?: readonly PredictionType[];
  /** The class's `set_alpha_to_one` default. */
  alphaToOne: boolean;
  /** Whether the class has a `thresholding` key (rejected when set: not implemented). */
  thresholding: boolean;
}

export interface AlphaSetup {
  read: ConfigReader;
  acp: Float32Array;
  train: number;
  prediction: PredictionType;
  /** `alphas_cumprod[prevT]`, or `final_alpha_cumprod` once `prevT` falls below 0. */
  alphaPrev(prevT: number): number;
  /** `add_noise`: `sqrt(a_t) * x + sqrt(1 - a_t) * noise`. */
  addNoise(original: Float32Array, noise: Float32Array, t: number): Float32Array;
}

/** The keys every alpha-parameterised class reads, with that class's defaults. */
export function readAlphaSetup(config: SchedulerConfig, o: AlphaSetupOptions): AlphaSetup {
  const read = new ConfigReader(config, o.owner);
  const acp = alphasCumprod(read, o.betas ?? LINEAR_BETAS);
  if (o.thresholding) read.unsupported("thresholding", false);
  const train = read.integer("num_train_timesteps", 1000);
  const prediction = readPrediction(read, o.predictions ?? PREDICTIONS);
  const finalAlpha = read.boolean("set_alpha_to_one", o.alphaToOne) ? 1 : (acp[0] as number);
  return {
    read,
    acp,
    train,
    prediction,
    alphaPrev: (prevT) => (prevT >= 0 ? alphaAt(acp, prevT) : finalAlpha),
    addNoise: (original, noise, t) => mixWithNoise(alphaAt(acp, t), original, noise),
  };
}

/** DDIM's and PNDM's integer timesteps (descending) from `timestep_spacing` and `steps_offset`. */
export function readIntegerTimesteps(read: ConfigReader, train: number, steps: number): number[] {
  const spacing = read.choice("timestep_spacing", "leading", SPACINGS);
  return integerTimesteps(spacing, train, steps, read.integer("steps_offset", 0));
}

/** `clip_sample` / `clip_sample_range`: x0 clamped to the range, or left alone. */
export function readClip(read: ConfigReader, fallback: boolean): (x0: Float32Array) => Float32Array {
  const clip = read.boolean("clip_sample", fallback);
  const range = f32(read.number("clip_sample_range", 1));
  return clip ? (x0) => x0.map((v) => Math.min(Math.max(v, -range), range)) : (x0) => x0;
}

/** `[sqrt(alpha), sqrt(1 - alpha)]` in float32. */
function rootPair(alpha: number): [number, number] {
  return [f32(Math.sqrt(alpha)), f32(Math.sqrt(f32(1 - alpha)))];
}

/** `sqrt(alpha) * x + sqrt(1 - alpha) * e` in float32. */
export function mixWithNoise(alpha: number, x: Float32Array, e: Float32Array): Float32Array {
  const [sa, sb] = rootPair(alpha);
  return x.map((v, i) => f32(f32(sa * v) + f32(sb * (e[i] as number))));
}

/** `x0` from the model output at `alphas_cumprod[t] = alphaProd`. */
export function predictOriginal(
  prediction: PredictionType,
  alphaProd: number,
  modelOutput: Float32Array,
  sample: Float32Array,
): Float32Array {
  const [sa, sb] = rootPair(alphaProd);
  if (prediction === "epsilon") {
    return sample.map((x, i) => f32(f32(x - f32(sb * (modelOutput[i] as number))) / sa));
  }
  if (prediction === "v_prediction") {
    return sample.map((x, i) => f32(f32(sa * x) - f32(sb * (modelOutput[i] as number))));
  }
  return Float32Array.from(modelOutput);
}

/** The noise `epsilon` from the model output (for "sample", from x0 = the model output). */
export function predictEpsilon(
  prediction: PredictionType,
  alphaProd: number,
  modelOutput: Float32Array,
  sample: Float32Array,
): Float32Array {
  if (prediction === "epsilon") return modelOutput;
  const [sa, sb] = rootPair(alphaProd);
  if (prediction === "v_prediction") {
    return sample.map((x, i) => f32(f32(sa * (modelOutput[i] as number)) + f32(sb * x)));
  }
  return sample.map((x, i) => f32(f32(x - f32(sa * (modelOutput[i] as number))) / sb));
}
