/**
 * LCMScheduler (diffusers 0.42): consistency-model boundary scalings, then re-noising to the next timestep
 * with fresh noise on every step but the last (drawn inside `step`, as diffusers does).
 * Timesteps follow `set_timesteps(n)` with strength 1, which is what the StableDiffusion pipelines call.
 */

import { mixWithNoise, predictOriginal, readAlphaSetup, readClip } from "./alpha-family.ts";
import { alphaAt, f32, npLinspace } from "./common.ts";
import { cursorIndexed } from "./scheduler-shells.ts";
import type { Scheduler, SchedulerConfig } from "./types.ts";

const SIGMA_DATA = 0.5;

/**
 * get_scalings_for_boundary_condition_discrete as float32 tensor ops (0.25 / x is reciprocal * 0.25):
 * [c_skip, c_out] for timestep t. At SD's timesteps (≥ 19 for 50 original steps) c_skip is below 1e-5, so
 * only a direct test sees a wrong SIGMA_DATA (test/unit/schedulers.test.ts).
 */
export function boundaryScalings(t: number, timestepScaling: number): [number, number] {
  const scaled = f32(f32(t) * timestepScaling);
  const scaled2 = f32(f32(scaled * scaled) + SIGMA_DATA ** 2);
  return [f32(f32(1 / scaled2) * SIGMA_DATA ** 2), f32(scaled / f32(Math.sqrt(scaled2)))];
}

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
  const { read, acp, train, prediction, alphaPrev, addNoise } = readAlphaSetup(config, {
    owner: "LCMScheduler",
    betas: { beta_start: 0.00085, beta_end: 0.012, beta_schedule: "scaled_linear" },
    alphaToOne: true,
    thresholding: true,
  });
  const clip = readClip(read, false);
  const scaling = f32(read.number("timestep_scaling", 10));
  const timesteps = lcmTimesteps(train, read.integer("original_inference_steps", 50), steps);

  return cursorIndexed({
    name: "lcm",
    timesteps,
    step({ modelOutput, sample, noise, shape, index, stepIndex: si }) {
      const t = timesteps[index] as number;
      const [cSkip, cOut] = boundaryScalings(t, scaling);
      const x0 = clip(predictOriginal(prediction, alphaAt(acp, t), modelOutput, sample));
      const denoised = x0.map((v, i) => f32(f32(cOut * v) + f32(cSkip * (sample[i] as number))));
      if (si === steps - 1) return denoised;
      return mixWithNoise(alphaPrev(timesteps[si + 1] ?? t), denoised, noise.randn(shape));
    },
    addNoise,
  });
}
