/** EulerDiscreteScheduler (diffusers 0.42) with the pipeline's defaults (s_churn = 0: deterministic). */

import { f32, trainSigmas } from "./common.ts";
import { createSigmaScheduler, eulerMove } from "./sigma-family.ts";
import type { Scheduler, SchedulerConfig } from "./types.ts";

export function createEuler(config: SchedulerConfig, steps: number): Scheduler {
  return createSigmaScheduler(
    {
      name: "euler",
      owner: "EulerDiscreteScheduler",
      karrasOption: true,
      readExtras(read, acp) {
        read.unsupported("interpolation_type", "linear");
        read.unsupported("timestep_type", "discrete");
        const finalType = read.choice("final_sigmas_type", "zero", ["zero", "sigma_min"]);
        return {
          finalSigma: finalType === "zero" ? 0 : (trainSigmas(acp)[0] as number),
          karrasMin: read.optionalNumber("sigma_min"),
          karrasMax: read.optionalNumber("sigma_max"),
        };
      },
      // s_churn = 0 → gamma = 0 → sigma_hat = sigma and no noise is drawn
      makeStep:
        (sigmas) =>
        ({ sample, derivative, stepIndex }) => {
          const dt = f32((sigmas[stepIndex + 1] as number) - (sigmas[stepIndex] as number));
          return eulerMove(sample, derivative, dt);
        },
    },
    config,
    steps,
  );
}
