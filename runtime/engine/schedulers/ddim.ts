/** DDIMScheduler (diffusers 0.42) with eta = 0 (deterministic), as the pipelines call it by default. */

import {
  addNoiseAlpha,
  alphaAt,
  alphasCumprod,
  ConfigReader,
  f32,
  integerTimesteps,
  type PredictionType,
  predictOriginal,
  SPACINGS,
} from "./common.ts";
import type { NoiseSource, Scheduler, SchedulerConfig } from "./types.ts";

export function createDdim(config: SchedulerConfig, steps: number): Scheduler {
  const read = new ConfigReader(config, "DDIMScheduler");
  const acp = alphasCumprod(read, { beta_start: 0.0001, beta_end: 0.02, beta_schedule: "linear" });
  read.unsupported("thresholding", false);
  const train = read.integer("num_train_timesteps", 1000);
  const prediction = read.choice<PredictionType>("prediction_type", "epsilon", [
    "epsilon",
    "v_prediction",
    "sample",
  ]);
  const clip = read.boolean("clip_sample", true);
  const clipRange = f32(read.number("clip_sample_range", 1));
  const finalAlpha = read.boolean("set_alpha_to_one", true) ? 1 : (acp[0] as number);
  if (steps > train)
    throw new RangeError(`DDIMScheduler: ${steps} steps exceed num_train_timesteps ${train}`);
  const timesteps = integerTimesteps(
    read.choice("timestep_spacing", "leading", SPACINGS),
    train,
    steps,
    read.integer("steps_offset", 0),
  );
  const stride = Math.floor(train / steps);

  return {
    name: "ddim",
    timesteps,
    order: 1,
    initNoiseSigma: 1,
    setBeginIndex() {
      // DDIMScheduler has no set_begin_index: it is stateless, indexed by timestep value
    },
    scaleModelInput(sample: Float32Array) {
      return sample;
    },
    step(modelOutput: Float32Array, index: number, sample: Float32Array, _noise: NoiseSource) {
      const t = timesteps[index];
      if (t === undefined) throw new RangeError(`index ${index} is outside 0..${timesteps.length - 1}`);
      const prevT = t - stride;
      const alphaT = alphaAt(acp, t);
      const alphaPrev = prevT >= 0 ? alphaAt(acp, prevT) : finalAlpha;
      let x0 = predictOriginal(prediction, alphaT, modelOutput, sample);
      let eps: Float32Array;
      const sa = f32(Math.sqrt(alphaT));
      const sb = f32(Math.sqrt(f32(1 - alphaT)));
      if (prediction === "epsilon") eps = modelOutput;
      else if (prediction === "v_prediction") {
        eps = sample.map((x, i) => f32(f32(sa * (modelOutput[i] as number)) + f32(sb * x)));
      } else eps = sample.map((x, i) => f32(f32(x - f32(sa * (x0[i] as number))) / sb));
      if (clip) x0 = x0.map((v) => Math.min(Math.max(v, -clipRange), clipRange));
      // eta = 0: std_dev_t = 0
      const dirCoeff = f32(Math.sqrt(f32(1 - alphaPrev)));
      const sPrev = f32(Math.sqrt(alphaPrev));
      return x0.map((v, i) => f32(f32(sPrev * v) + f32(dirCoeff * (eps[i] as number))));
    },
    addNoise(original: Float32Array, noise: Float32Array, t: number) {
      return addNoiseAlpha(acp, original, noise, t);
    },
  };
}
