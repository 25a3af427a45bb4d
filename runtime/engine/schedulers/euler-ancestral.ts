/** EulerAncestralDiscreteScheduler (diffusers 0.42): Euler step to sigma_down plus fresh noise * sigma_up. */

import { f32 } from "./common.ts";
import { createSigmaScheduler, eulerMove } from "./sigma-family.ts";
import type { Scheduler, SchedulerConfig } from "./types.ts";

export function createEulerAncestral(config: SchedulerConfig, steps: number): Scheduler {
  return createSigmaScheduler(
    {
      name: "euler_a",
      owner: "EulerAncestralDiscreteScheduler",
      predictions: ["epsilon", "v_prediction"], // diffusers raises NotImplementedError for "sample"
      karrasOption: false, // not a config key of this class
      makeStep:
        (sigmas) =>
        ({ sample, derivative, stepIndex, noise, shape }) => {
          const sigma = sigmas[stepIndex] as number;
          const from2 = f32(sigma * sigma);
          const to = sigmas[stepIndex + 1] as number;
          const to2 = f32(to * to);
          const sigmaUp = f32(Math.sqrt(f32(f32(to2 * f32(from2 - to2)) / from2)));
          const sigmaDown = f32(Math.sqrt(f32(to2 - f32(sigmaUp * sigmaUp))));
          const prev = eulerMove(sample, derivative, f32(sigmaDown - sigma));
          const eps = noise.randn(shape); // drawn on every step, the last one included (sigma_up = 0 there)
          return prev.map((x, i) => f32(x + f32((eps[i] as number) * sigmaUp)));
        },
    },
    config,
    steps,
  );
}
