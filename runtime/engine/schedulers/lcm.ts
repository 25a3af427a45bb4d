/**
 * LCMScheduler (diffusers 0.42): consistency-model boundary scalings, then re-noising to the next timestep
 * with fresh noise on every step but the last (drawn inside `step`, as diffusers does).
 * Timesteps follow `set_timesteps(n)` with strength 1, which is what the StableDiffusion pipelines call.
 */

import {
  addNoiseAlpha,
  alphaAt,
  alphasCumprod,
  ConfigReader,
  f32,
  npLinspace,
  type PredictionType,
  predictOriginal,
  StepCursor,
} from "./common.ts";
import type { NoiseSource, Scheduler, SchedulerConfig } from "./types.ts";

const SIGMA_DATA = 0.5;

function lcmTimesteps(train: number, originalSteps: number, steps: number): number[] {
  if (originalSteps > train) {
    throw new RangeError(
      `LCMScheduler: original_inference_steps ${originalSteps} exceeds num_train_timesteps ${train}`,
    );
  }
  if (steps > train) throw new RangeError(`LCMScheduler: ${steps} steps exceed num_train_timesteps ${train}`);
  const k = Math.floor(train / originalSteps);
  const origin = Array.from({ length: originalSteps }, (_, i) => (i + 1) * k - 1).reverse();
  if (Math.floor(origin.length / steps) < 1 || steps > originalSteps) {
    throw new RangeError(
      `LCMScheduler: ${steps} steps exceed original_inference_steps ${originalSteps} (config key "original_inference_steps")`,
    );
  }
  return npLinspace(0, origin.length, steps, false).map((v) => origin[Math.floor(v)] as number);
}

export function createLcm(config: SchedulerConfig, steps: number): Scheduler {
  const read = new ConfigReader(config, "LCMScheduler");
  const acp = alphasCumprod(read, { beta_start: 0.00085, beta_end: 0.012, beta_schedule: "scaled_linear" });
  read.unsupported("thresholding", false);
  const train = read.integer("num_train_timesteps", 1000);
  const prediction = read.choice<PredictionType>("prediction_type", "epsilon", [
    "epsilon",
    "v_prediction",
    "sample",
  ]);
  const clip = read.boolean("clip_sample", false);
  const clipRange = f32(read.number("clip_sample_range", 1));
  const finalAlpha = read.boolean("set_alpha_to_one", true) ? 1 : (acp[0] as number);
  const scaling = f32(read.number("timestep_scaling", 10));
  const timesteps = lcmTimesteps(train, read.integer("original_inference_steps", 50), steps);
  const cursor = new StepCursor(timesteps);

  return {
    name: "lcm",
    timesteps,
    order: 1,
    initNoiseSigma: 1,
    setBeginIndex(index: number) {
      cursor.begin = index;
    },
    scaleModelInput(sample: Float32Array) {
      return sample;
    },
    step(modelOutput: Float32Array, index: number, sample: Float32Array, noise: NoiseSource, shape) {
      const si = cursor.at(index);
      const t = timesteps[index] as number;
      const prevT = timesteps[si + 1] ?? t;
      const alphaT = alphaAt(acp, t);
      const alphaPrev = prevT >= 0 ? alphaAt(acp, prevT) : finalAlpha;
      // get_scalings_for_boundary_condition_discrete, as float32 tensor ops (0.25 / x is reciprocal * 0.25)
      const scaled = f32(f32(t) * scaling);
      const scaled2 = f32(f32(scaled * scaled) + SIGMA_DATA ** 2);
      const cSkip = f32(f32(1 / scaled2) * SIGMA_DATA ** 2);
      const cOut = f32(scaled / f32(Math.sqrt(scaled2)));
      let x0 = predictOriginal(prediction, alphaT, modelOutput, sample);
      if (clip) x0 = x0.map((v) => Math.min(Math.max(v, -clipRange), clipRange));
      const denoised = x0.map((v, i) => f32(f32(cOut * v) + f32(cSkip * (sample[i] as number))));
      cursor.advance();
      if (si === steps - 1) return denoised;
      const eps = noise.randn(shape);
      const sa = f32(Math.sqrt(alphaPrev));
      const sb = f32(Math.sqrt(f32(1 - alphaPrev)));
      return denoised.map((v, i) => f32(f32(sa * v) + f32(sb * (eps[i] as number))));
    },
    addNoise(original: Float32Array, noise: Float32Array, t: number) {
      return addNoiseAlpha(acp, original, noise, t);
    },
  };
}
