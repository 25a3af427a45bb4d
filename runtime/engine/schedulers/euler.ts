/** EulerDiscreteScheduler (diffusers 0.42) with the pipeline's defaults (s_churn = 0: deterministic). */

import {
  addNoiseSigma,
  alphasCumprod,
  ConfigReader,
  f32,
  kInitNoiseSigma,
  kPredictOriginal,
  type PredictionType,
  SPACINGS,
  StepCursor,
  scaleBySigma,
  sigmaSchedule,
  trainSigmas,
} from "./common.ts";
import type { NoiseSource, Scheduler, SchedulerConfig } from "./types.ts";

export function createEuler(config: SchedulerConfig, steps: number): Scheduler {
  const read = new ConfigReader(config, "EulerDiscreteScheduler");
  const acp = alphasCumprod(read, { beta_start: 0.0001, beta_end: 0.02, beta_schedule: "linear" });
  read.unsupported("use_exponential_sigmas", false);
  read.unsupported("use_beta_sigmas", false);
  read.unsupported("interpolation_type", "linear");
  read.unsupported("timestep_type", "discrete");
  const prediction = read.choice<PredictionType>("prediction_type", "epsilon", [
    "epsilon",
    "v_prediction",
    "sample",
  ]);
  const spacing = read.choice("timestep_spacing", "linspace", SPACINGS);
  const finalType = read.choice("final_sigmas_type", "zero", ["zero", "sigma_min"]);
  const { timesteps, sigmas } = sigmaSchedule(acp, {
    spacing,
    train: read.integer("num_train_timesteps", 1000),
    steps,
    offset: read.integer("steps_offset", 0),
    karras: read.boolean("use_karras_sigmas", false),
    karrasMin: read.optionalNumber("sigma_min"),
    karrasMax: read.optionalNumber("sigma_max"),
    finalSigma: finalType === "zero" ? 0 : (trainSigmas(acp)[0] as number),
  });
  const cursor = new StepCursor(timesteps);

  return {
    name: "euler",
    timesteps,
    order: 1,
    initNoiseSigma: kInitNoiseSigma(spacing, sigmas),
    setBeginIndex(index: number) {
      cursor.begin = index;
    },
    scaleModelInput(sample: Float32Array, index: number) {
      return scaleBySigma(sample, sigmas[cursor.at(index)] as number);
    },
    step(modelOutput: Float32Array, index: number, sample: Float32Array, _noise: NoiseSource) {
      const si = cursor.at(index);
      // s_churn = 0 → gamma = 0 → sigma_hat = sigma and no noise is drawn
      const sigma = sigmas[si] as number;
      const pred = kPredictOriginal(prediction, sigma, modelOutput, sample);
      const dt = f32((sigmas[si + 1] as number) - sigma);
      cursor.advance();
      return sample.map((x, i) => f32(x + f32(f32(f32(x - (pred[i] as number)) / sigma) * dt)));
    },
    addNoise(original: Float32Array, noise: Float32Array, t: number) {
      return addNoiseSigma(original, noise, sigmas[cursor.forAddNoise(t)] as number);
    },
  };
}
