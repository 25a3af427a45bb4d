/** DDIMScheduler (diffusers 0.42) with eta = 0 (deterministic), as the pipelines call it by default. */

import {
  mixWithNoise,
  predictEpsilon,
  predictOriginal,
  readAlphaSetup,
  readClip,
  readIntegerTimesteps,
} from "./alpha-family.ts";
import { alphaAt } from "./common.ts";
import { timestepIndexed } from "./scheduler-shells.ts";
import type { Scheduler, SchedulerConfig } from "./types.ts";

export function createDdim(config: SchedulerConfig, steps: number): Scheduler {
  const { read, acp, train, prediction, alphaPrev, addNoise } = readAlphaSetup(config, {
    owner: "DDIMScheduler",
    alphaToOne: true,
    thresholding: true,
  });
  const clip = readClip(read, true);
  if (steps > train)
    throw new RangeError(`DDIMScheduler: ${steps} steps exceed num_train_timesteps ${train}`);
  const timesteps = readIntegerTimesteps(read, train, steps);
  const stride = Math.floor(train / steps);

  return timestepIndexed({
    name: "ddim",
    timesteps,
    step(modelOutput, t, sample) {
      const alphaT = alphaAt(acp, t);
      const x0 = predictOriginal(prediction, alphaT, modelOutput, sample);
      const eps = predictEpsilon(prediction, alphaT, modelOutput, sample);
      // eta = 0: std_dev_t = 0, so the update is sqrt(a_prev) * x0 + sqrt(1 - a_prev) * eps
      return mixWithNoise(alphaPrev(t - stride), clip(x0), eps);
    },
    addNoise,
  });
}
