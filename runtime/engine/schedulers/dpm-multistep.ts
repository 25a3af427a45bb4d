/**
 * DPMSolverMultistepScheduler (diffusers 0.42), algorithm_type "dpmsolver++" (the default): DPM-Solver++(2M)
 * with its defaults (solver_order 2, midpoint, lower_order_final, final_sigmas_type "zero"); orders 1–3
 * and the "heun" solver type are honoured when a config sets them.
 */

import {
  alphasCumprod,
  ConfigReader,
  f32,
  karrasSchedule,
  LINEAR_BETAS,
  npArange,
  npInterpIndex,
  npLinspace,
  readPrediction,
  roundHalfEven,
  SPACINGS,
  sigmaNorm,
  type TimestepSpacing,
  trainSigmas,
} from "./common.ts";
import { cursorIndexed } from "./scheduler-shells.ts";
import type { Scheduler, SchedulerConfig } from "./types.ts";

/** `_sigma_to_alpha_sigma_t` in float32. */
function alphaSigma(sigma: number): [number, number] {
  const alpha = f32(1 / sigmaNorm(sigma));
  return [alpha, f32(sigma * alpha)];
}

function lambdaOf(alpha: number, sigma: number): number {
  return f32(f32(Math.log(alpha)) - f32(Math.log(sigma)));
}

function dpmTimesteps(
  spacing: TimestepSpacing,
  train: number,
  last: number,
  steps: number,
  offset: number,
): number[] {
  if (spacing === "linspace") {
    return npLinspace(0, last - 1, steps + 1)
      .map(roundHalfEven)
      .reverse()
      .slice(0, -1);
  }
  if (spacing === "leading") {
    const ratio = Math.floor(last / (steps + 1));
    return Array.from({ length: steps }, (_, i) => (steps - i) * ratio + offset);
  }
  return npArange(last, 0, -train / steps).map((t) => roundHalfEven(t) - 1);
}

export function createDpmMultistep(config: SchedulerConfig, steps: number): Scheduler {
  const read = new ConfigReader(config, "DPMSolverMultistepScheduler");
  const acp = alphasCumprod(read, LINEAR_BETAS);
  const train = read.integer("num_train_timesteps", 1000);
  const solverOrder = read.integer("solver_order", 2);
  if (solverOrder < 1 || solverOrder > 3) {
    throw new Error(
      `DPMSolverMultistepScheduler: config key "solver_order"=${solverOrder} must be 1, 2 or 3`,
    );
  }
  const prediction = readPrediction(read);
  read.unsupported("thresholding", false);
  read.choice("algorithm_type", "dpmsolver++", ["dpmsolver++", "deis"]); // diffusers maps "deis" to dpmsolver++
  const solverType = read.choice("solver_type", "midpoint", ["midpoint", "heun", "logrho", "bh1", "bh2"]);
  const heun = solverType === "heun";
  const lowerOrderFinal = read.boolean("lower_order_final", true);
  const eulerAtFinal = read.boolean("euler_at_final", false);
  const karras = read.boolean("use_karras_sigmas", false);
  read.unsupported("use_exponential_sigmas", false);
  read.unsupported("use_beta_sigmas", false);
  read.unsupported("use_lu_lambdas", false);
  read.unsupported("use_flow_sigmas", false);
  read.unsupported("variance_type", null);
  const finalType = read.choice("final_sigmas_type", "zero", ["zero", "sigma_min"]);
  const lambdaMinClipped = read.number("lambda_min_clipped", -Infinity);
  const spacing = read.choice("timestep_spacing", "linspace", SPACINGS);
  const offset = read.integer("steps_offset", 0);

  // clipped_idx = searchsorted(flip(lambda_t), lambda_min_clipped)
  const lambdas = acp.map((a) => lambdaOf(f32(Math.sqrt(a)), f32(Math.sqrt(f32(1 - a)))));
  const clip = f32(lambdaMinClipped);
  let clippedIdx = 0;
  for (let i = lambdas.length - 1; i >= 0 && (lambdas[i] as number) < clip; i--) clippedIdx++;
  const last = train - clippedIdx;

  const train32 = trainSigmas(acp);
  let timesteps = dpmTimesteps(spacing, train, last, steps, offset);
  let sigmas64: number[];
  if (karras) {
    const ramp = karrasSchedule(train32, train32[0] as number, train32.at(-1) as number, steps);
    sigmas64 = ramp.sigmas;
    timesteps = ramp.timesteps;
    const schedule = read.choice("beta_schedule", "linear", ["linear", "scaled_linear", "squaredcos_cap_v2"]);
    timesteps = timesteps.map((t) => Math.trunc(schedule !== "squaredcos_cap_v2" ? roundHalfEven(t) : t));
  } else {
    sigmas64 = timesteps.map((t) => npInterpIndex(t, train32));
  }
  const sigmas = Float32Array.from([...sigmas64, finalType === "zero" ? 0 : (train32[0] as number)]);
  const n = timesteps.length;
  const outputs: (Float32Array | null)[] = new Array(solverOrder).fill(null);
  let lowerOrderNums = 0;

  const convert = (modelOutput: Float32Array, sample: Float32Array, si: number): Float32Array => {
    if (prediction === "sample") return modelOutput;
    const [alpha, sigma] = alphaSigma(sigmas[si] as number);
    if (prediction === "epsilon") {
      return sample.map((x, i) => f32(f32(x - f32(sigma * (modelOutput[i] as number))) / alpha));
    }
    return sample.map((x, i) => f32(f32(alpha * x) - f32(sigma * (modelOutput[i] as number))));
  };

  /** alpha_t, sigma_t and lambda_t at `sigmas[k]`. */
  const point = (k: number) => {
    const [alpha, sigma] = alphaSigma(sigmas[k] as number);
    return { alpha, sigma, lambda: lambdaOf(alpha, sigma) };
  };

  /** What every order uses at step `si`: the target and current points, h, and the first-order terms. */
  const stepTerms = (si: number) => {
    const target = point(si + 1);
    const s0 = point(si);
    const h = f32(target.lambda - s0.lambda);
    const em1 = f32(f32(Math.exp(-h)) - 1);
    return { target, s0, h, em1, a: f32(target.sigma / s0.sigma), b: f32(target.alpha * em1) };
  };

  const firstOrder = (m: Float32Array, sample: Float32Array, si: number): Float32Array => {
    const { a, b } = stepTerms(si);
    return sample.map((x, i) => f32(f32(a * x) - f32(b * (m[i] as number))));
  };

  const secondOrder = (sample: Float32Array, si: number): Float32Array => {
    const m0 = outputs[solverOrder - 1] as Float32Array;
    const m1 = outputs[solverOrder - 2] as Float32Array;
    const { target, s0, h, em1, a, b } = stepTerms(si);
    const invR0 = f32(1 / f32(f32(s0.lambda - point(si - 1).lambda) / h));
    const c = heun ? f32(target.alpha * f32(f32(em1 / h) + 1)) : f32(0.5 * f32(target.alpha * em1));
    return sample.map((x, i) => {
      const d0 = m0[i] as number;
      const d1 = f32(invR0 * f32(d0 - (m1[i] as number)));
      const base = f32(f32(a * x) - f32(b * d0));
      return heun ? f32(base + f32(c * d1)) : f32(base - f32(c * d1));
    });
  };

  const thirdOrder = (sample: Float32Array, si: number): Float32Array => {
    const m0 = outputs[solverOrder - 1] as Float32Array;
    const m1 = outputs[solverOrder - 2] as Float32Array;
    const m2 = outputs[solverOrder - 3] as Float32Array;
    const { target, s0, h, em1, a, b } = stepTerms(si);
    const lambdaS1 = point(si - 1).lambda;
    const r0 = f32(f32(s0.lambda - lambdaS1) / h);
    const r1 = f32(f32(lambdaS1 - point(si - 2).lambda) / h);
    const invR0 = f32(1 / r0);
    const invR1 = f32(1 / r1);
    const r01 = f32(r0 + r1);
    const w = f32(r0 / r01);
    const invR01 = f32(1 / r01);
    const c = f32(target.alpha * f32(f32(em1 / h) + 1));
    const d = f32(target.alpha * f32(f32(f32(em1 + h) / f32(h * h)) - 0.5));
    return sample.map((x, i) => {
      const v0 = m0[i] as number;
      const v1 = m1[i] as number;
      const d10 = f32(invR0 * f32(v0 - v1));
      const d11 = f32(invR1 * f32(v1 - (m2[i] as number)));
      const diff = f32(d10 - d11);
      const d1 = f32(d10 + f32(w * diff));
      const d2 = f32(invR01 * diff);
      return f32(f32(f32(f32(a * x) - f32(b * v0)) + f32(c * d1)) - f32(d * d2));
    });
  };

  return cursorIndexed({
    name: "dpmpp_2m",
    timesteps,
    lastIfMissing: true,
    step({ modelOutput, sample, stepIndex: si }) {
      const finalFirst =
        si === n - 1 && (eulerAtFinal || (lowerOrderFinal && n < 15) || finalType === "zero");
      const finalSecond = si === n - 2 && lowerOrderFinal && n < 15;
      const m = convert(modelOutput, sample, si);
      for (let i = 0; i < solverOrder - 1; i++) outputs[i] = outputs[i + 1] ?? null;
      outputs[solverOrder - 1] = m;
      let prev: Float32Array;
      if (solverOrder === 1 || lowerOrderNums < 1 || finalFirst) prev = firstOrder(m, sample, si);
      else if (solverOrder === 2 || lowerOrderNums < 2 || finalSecond) prev = secondOrder(sample, si);
      else prev = thirdOrder(sample, si);
      if (lowerOrderNums < solverOrder) lowerOrderNums += 1;
      return prev;
    },
    addNoise(original, noise, t, cursor) {
      const [alpha, sigma] = alphaSigma(sigmas[cursor.forAddNoise(t)] as number);
      return original.map((x, i) => f32(f32(alpha * x) + f32(sigma * (noise[i] as number))));
    },
  });
}
