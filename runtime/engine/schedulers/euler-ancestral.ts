/** EulerAncestralDiscreteScheduler (diffusers 0.42): Euler step to sigma_down plus fresh noise * sigma_up. */

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
} from "./common.ts";
import type { NoiseSource, Scheduler, SchedulerConfig } from "./types.ts";

export function createEulerAncestral(config: SchedulerConfig, steps: number): Scheduler {
  const read = new ConfigReader(config, "EulerAncestralDiscreteScheduler");
  const acp = alphasCumprod(read, { beta_start: 0.0001, beta_end: 0.02, beta_schedule: "linear" });
  // diffusers raises NotImplementedError for "sample" here
  const prediction = read.choice<PredictionType>("prediction_type", "epsilon", ["epsilon", "v_prediction"]);
  const spacing = read.choice("timestep_spacing", "linspace", SPACINGS);
  const { timesteps, sigmas } = sigmaSchedule(acp, {
    spacing,
    train: read.integer("num_train_timesteps", 1000),
    steps,
    offset: read.integer("steps_offset", 0),
    karras: false, // not a config key of this class
    finalSigma: 0,
  });
  const cursor = new StepCursor(timesteps);

  return {
    name: "euler_a",
    timesteps,
    order: 1,
    initNoiseSigma: kInitNoiseSigma(spacing, sigmas),
    setBeginIndex(index: number) {
      cursor.begin = index;
    },
    scaleModelInput(sample: Float32Array, index: number) {
      return scaleBySigma(sample, sigmas[cursor.at(index)] as number);
    },
    step(modelOutput: Float32Array, index: number, sample: Float32Array, noise: NoiseSource, shape) {
      const si = cursor.at(index);
      const sigma = sigmas[si] as number;
      const pred = kPredictOriginal(prediction, sigma, modelOutput, sample);
      const from2 = f32(sigma * sigma);
      const to = sigmas[si + 1] as number;
      const to2 = f32(to * to);
      const sigmaUp = f32(Math.sqrt(f32(f32(to2 * f32(from2 - to2)) / from2)));
      const sigmaDown = f32(Math.sqrt(f32(to2 - f32(sigmaUp * sigmaUp))));
      const dt = f32(sigmaDown - sigma);
      const prev = sample.map((x, i) => f32(x + f32(f32(f32(x - (pred[i] as number)) / sigma) * dt)));
      const eps = noise.randn(shape); // drawn on every step, the last one included (sigma_up = 0 there)
      cursor.advance();
      return prev.map((x, i) => f32(x + f32((eps[i] as number) * sigmaUp)));
    },
    addNoise(original: Float32Array, noise: Float32Array, t: number) {
      return addNoiseSigma(original, noise, sigmas[cursor.forAddNoise(t)] as number);
    },
  };
}
