/**
 * The k-diffusion style schedulers (LMS, Euler, Euler ancestral), made by one factory: the config they
 * share, the interpolated sigma schedule, `init_noise_sigma`, input scaling, the derivative each step
 * starts from and `add_noise`. Each class supplies only its own step (and any history it keeps).
 */

import {
  alphasCumprod,
  ConfigReader,
  f32,
  floatTimesteps,
  karrasSchedule,
  LINEAR_BETAS,
  npInterpIndex,
  PREDICTIONS,
  type PredictionType,
  readPrediction,
  SPACINGS,
  sigmaNorm,
  type TimestepSpacing,
  trainSigmas,
} from "./common.ts";
import { cursorIndexed, type StepArgs } from "./scheduler-shells.ts";
import type { Scheduler, SchedulerConfig, SchedulerName } from "./types.ts";

/** A class's own keys: Euler's final sigma and Karras ramp ends (null: the schedule's ends). */
export interface SigmaExtras {
  finalSigma?: number;
  karrasMin?: number | null;
  karrasMax?: number | null;
}

/** The step arguments plus `(sample - x0) / sigma` at the current sigma, which every class starts from. */
export interface SigmaStepArgs extends StepArgs {
  derivative: Float32Array;
}

export interface SigmaSchedulerSpec {
  name: SchedulerName;
  /** The diffusers class, for config errors. */
  owner: string;
  /** Prediction types the class implements (all three unless given). */
  predictions?: readonly PredictionType[];
  /** Whether the class has `use_karras_sigmas` (and rejects the exponential / beta sigma options). */
  karrasOption: boolean;
  readExtras?: (read: ConfigReader, acp: Float32Array) => SigmaExtras;
  /** The class's step over `sigmas` (one per timestep plus the final one), made fresh per scheduler. */
  makeStep(sigmas: Float32Array): (args: SigmaStepArgs) => Float32Array;
}

/** `from_config` + `set_timesteps(steps)` for a k-diffusion style class described by `spec`. */
export function createSigmaScheduler(
  spec: SigmaSchedulerSpec,
  config: SchedulerConfig,
  steps: number,
): Scheduler {
  const read = new ConfigReader(config, spec.owner);
  const acp = alphasCumprod(read, LINEAR_BETAS);
  if (spec.karrasOption) {
    read.unsupported("use_exponential_sigmas", false);
    read.unsupported("use_beta_sigmas", false);
  }
  const prediction = readPrediction(read, spec.predictions ?? PREDICTIONS);
  const spacing = read.choice("timestep_spacing", "linspace", SPACINGS);
  const extras = spec.readExtras?.(read, acp) ?? {};
  let timesteps = floatTimesteps(
    spacing,
    read.integer("num_train_timesteps", 1000),
    steps,
    read.integer("steps_offset", 0),
  );
  const train = trainSigmas(acp);
  let sigmas64 = timesteps.map((t) => npInterpIndex(t, train));
  if (spec.karrasOption && read.boolean("use_karras_sigmas", false)) {
    const ramp = karrasSchedule(
      train,
      extras.karrasMin ?? (sigmas64.at(-1) as number),
      extras.karrasMax ?? (sigmas64[0] as number),
      steps,
    );
    sigmas64 = ramp.sigmas;
    timesteps = ramp.timesteps.map(f32);
  }
  const sigmas = Float32Array.from([...sigmas64, extras.finalSigma ?? 0]);
  const step = spec.makeStep(sigmas);

  return cursorIndexed({
    name: spec.name,
    timesteps,
    initNoiseSigma: initNoiseSigma(spacing, sigmas),
    scaleModelInput(sample, stepIndex) {
      // sample / ((sigma**2 + 1) ** 0.5)
      const sigma = sigmas[stepIndex] as number;
      const denom = sigmaNorm(sigma);
      return sample.map((x) => f32(x / denom));
    },
    step(args) {
      const sigma = sigmas[args.stepIndex] as number;
      const x0 = predictOriginal(prediction, sigma, args.modelOutput, args.sample);
      const derivative = args.sample.map((x, i) => f32(f32(x - (x0[i] as number)) / sigma));
      return step({ ...args, derivative });
    },
    addNoise(original, noise, t, cursor) {
      const sigma = sigmas[cursor.forAddNoise(t)] as number;
      return original.map((x, i) => f32(x + f32((noise[i] as number) * sigma)));
    },
  });
}

/** `sample + derivative * dt`, the Euler move of Euler and Euler ancestral. */
export function eulerMove(sample: Float32Array, derivative: Float32Array, dt: number): Float32Array {
  return sample.map((x, i) => f32(x + f32((derivative[i] as number) * dt)));
}

/** `init_noise_sigma`: the largest sigma, or `(max**2 + 1) ** 0.5` for "leading" spacing. */
function initNoiseSigma(spacing: TimestepSpacing, sigmas: Float32Array): number {
  let max = -Infinity;
  for (const s of sigmas) max = Math.max(max, s);
  return spacing === "leading" ? sigmaNorm(max) : max;
}

/** `x0` from the model output at `sigma` (Euler's sigma_hat = sigma, as s_churn = 0). */
function predictOriginal(
  prediction: PredictionType,
  sigma: number,
  modelOutput: Float32Array,
  sample: Float32Array,
): Float32Array {
  if (prediction === "epsilon") return sample.map((x, i) => f32(x - f32(sigma * (modelOutput[i] as number))));
  if (prediction === "v_prediction") {
    const c1 = f32(-sigma / sigmaNorm(sigma));
    const c2 = f32(f32(sigma * sigma) + 1);
    return sample.map((x, i) => f32(f32((modelOutput[i] as number) * c1) + f32(x / c2)));
  }
  return Float32Array.from(modelOutput);
}
