/**
 * `createScheduler`: the diffusers scheduler a request names, built from the model's scheduler config with
 * `from_config` semantics (unknown keys ignored, each class's own defaults for missing keys) and
 * `set_timesteps(numInferenceSteps)` already applied.
 */

import { createDdim } from "./ddim.ts";
import { createDpmMultistep } from "./dpm-multistep.ts";
import { createEuler } from "./euler.ts";
import { createEulerAncestral } from "./euler-ancestral.ts";
import { createLcm } from "./lcm.ts";
import { createLms } from "./lms.ts";
import { createPndm } from "./pndm.ts";
import type { Scheduler, SchedulerConfig, SchedulerName } from "./types.ts";

export type { NoiseSource, Scheduler, SchedulerConfig, SchedulerName } from "./types.ts";
export { SCHEDULER_NAMES } from "./types.ts";

const FACTORIES: Record<SchedulerName, (config: SchedulerConfig, steps: number) => Scheduler> = {
  lms: createLms,
  pndm: createPndm,
  euler: createEuler,
  euler_a: createEulerAncestral,
  ddim: createDdim,
  dpmpp_2m: createDpmMultistep,
  lcm: createLcm,
};

export function createScheduler(
  name: SchedulerName,
  config: SchedulerConfig,
  numInferenceSteps: number,
): Scheduler {
  const factory = FACTORIES[name];
  if (factory === undefined) throw new Error(`unknown scheduler "${name}"`);
  if (!Number.isInteger(numInferenceSteps) || numInferenceSteps < 1) {
    throw new RangeError(`numInferenceSteps must be a positive integer, got ${numInferenceSteps}`);
  }
  return factory(config, numInferenceSteps);
}
