/**
 * Pieces every scheduler shares, mirroring diffusers 0.42 (and the torch / numpy numerics under it):
 * config reading with `from_config` semantics, the training noise schedule, timestep spacing, sigma
 * interpolation and the begin/step index bookkeeping of the sigma-indexed schedulers.
 *
 * Dtypes follow diffusers: torch tensors are float32, so every scalar or elementwise torch op is rounded
 * with `f32` (Math.fround) after each operation; numpy code paths run in float64 and are cast where
 * diffusers casts.
 */

import type { SchedulerConfig } from "./types.ts";

export const f32 = Math.fround;

// ---------------------------------------------------------------------------------------------------------
// config

/** Reads one config key the way `from_config` does: a missing key takes the class's own default. */
export class ConfigReader {
  readonly #config: SchedulerConfig;
  readonly #owner: string;

  constructor(config: SchedulerConfig, owner: string) {
    this.#config = config;
    this.#owner = owner;
  }

  number(key: string, fallback: number): number {
    const value = this.#config[key];
    if (value === undefined) return fallback;
    if (typeof value !== "number" || !Number.isFinite(value)) {
      // lambda_min_clipped may legitimately be -inf, which JSON cannot carry: accept it as a string too.
      if (value === "-inf" || value === "-Infinity" || value === -Infinity) return -Infinity;
      throw new TypeError(
        `${this.#owner}: config key "${key}" must be a number, got ${JSON.stringify(value)}`,
      );
    }
    return value;
  }

  integer(key: string, fallback: number): number {
    const value = this.number(key, fallback);
    if (!Number.isInteger(value)) {
      throw new TypeError(`${this.#owner}: config key "${key}" must be an integer, got ${value}`);
    }
    return value;
  }

  boolean(key: string, fallback: boolean): boolean {
    const value = this.#config[key];
    if (value === undefined) return fallback;
    if (value === null) return false;
    if (typeof value !== "boolean") {
      throw new TypeError(
        `${this.#owner}: config key "${key}" must be a boolean, got ${JSON.stringify(value)}`,
      );
    }
    return value;
  }

  /** A string key restricted to `allowed` (the values this port implements). */
  choice<T extends string>(key: string, fallback: T, allowed: readonly T[]): T {
    const value = this.#config[key];
    if (value === undefined) return fallback;
    if (typeof value !== "string" || !(allowed as readonly string[]).includes(value)) {
      throw new Error(
        `${this.#owner}: config key "${key}"=${JSON.stringify(value)} is not supported (expected one of ${allowed.join(", ")})`,
      );
    }
    return value as T;
  }

  optionalNumber(key: string): number | null {
    const value = this.#config[key];
    if (value === undefined || value === null) return null;
    return this.number(key, 0);
  }

  /** Rejects a key whose non-default value this port does not implement. */
  unsupported(key: string, fallback: unknown): void {
    const value = this.#config[key];
    if (value === undefined || value === null || value === fallback) return;
    throw new Error(
      `${this.#owner}: config key "${key}"=${JSON.stringify(value)} is not supported (only ${JSON.stringify(fallback)})`,
    );
  }

  trainedBetas(): number[] | null {
    const value = this.#config.trained_betas;
    if (value === undefined || value === null) return null;
    if (!Array.isArray(value) || !value.every((v) => typeof v === "number")) {
      throw new TypeError(`${this.#owner}: config key "trained_betas" must be an array of numbers`);
    }
    return value;
  }
}

export type PredictionType = "epsilon" | "v_prediction" | "sample";
export type TimestepSpacing = "linspace" | "leading" | "trailing";
export const SPACINGS: readonly TimestepSpacing[] = ["linspace", "leading", "trailing"];

// ---------------------------------------------------------------------------------------------------------
// training noise schedule

export interface BetaDefaults {
  beta_start: number;
  beta_end: number;
  beta_schedule: string;
}

/**
 * `torch.linspace(start, end, steps, dtype=torch.float32)` bit for bit: torch's CPU kernel computes the
 * step in float and each value as a fused multiply-add from whichever end is nearer.
 */
export function torchLinspaceF32(start: number, end: number, steps: number): Float32Array {
  const out = new Float32Array(steps);
  const s = f32(start);
  const e = f32(end);
  if (steps === 1) {
    out[0] = s;
    return out;
  }
  const step = f32(f32(e - s) / (steps - 1));
  const halfway = Math.floor(steps / 2);
  for (let i = 0; i < steps; i++) {
    // step * i is exact in float64 (24-bit × small integer), so only the sum rounds, like an FMA
    out[i] = i < halfway ? f32(step * i + s) : f32(e - step * (steps - i - 1));
  }
  return out;
}

/** diffusers' `betas_for_alpha_bar` (cosine), computed in Python floats then cast to float32. */
function betasForAlphaBar(n: number, maxBeta = 0.999): Float32Array {
  const alphaBar = (t: number) => Math.cos(((t + 0.008) / 1.008) * (Math.PI / 2)) ** 2;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    out[i] = Math.min(1 - alphaBar((i + 1) / n) / alphaBar(i / n), maxBeta);
  }
  return out;
}

/**
 * The float32 `alphas_cumprod` of a diffusers scheduler. `rescale_betas_zero_snr` is rejected (not
 * needed by SD 1.x / 2.x configs).
 */
export function alphasCumprod(read: ConfigReader, defaults: BetaDefaults): Float32Array {
  const n = read.integer("num_train_timesteps", 1000);
  const trained = read.trainedBetas();
  read.unsupported("rescale_betas_zero_snr", false);
  let betas: Float32Array;
  if (trained !== null) {
    betas = Float32Array.from(trained);
  } else {
    const start = read.number("beta_start", defaults.beta_start);
    const end = read.number("beta_end", defaults.beta_end);
    const schedule = read.choice("beta_schedule", defaults.beta_schedule, [
      "linear",
      "scaled_linear",
      "squaredcos_cap_v2",
    ]);
    if (schedule === "linear") {
      betas = torchLinspaceF32(start, end, n);
    } else if (schedule === "scaled_linear") {
      betas = torchLinspaceF32(start ** 0.5, end ** 0.5, n).map((b) => f32(b * b));
    } else {
      betas = betasForAlphaBar(n);
    }
  }
  // torch.cumprod on CPU accumulates float32 in double and stores each prefix rounded to float32
  const out = new Float32Array(betas.length);
  let acc = 1;
  for (let i = 0; i < betas.length; i++) {
    acc *= f32(1 - (betas[i] as number));
    out[i] = acc;
  }
  return out;
}

/** `((1 - alphas_cumprod) / alphas_cumprod) ** 0.5` as float32 torch ops (ascending in t). */
export function trainSigmas(acp: Float32Array): Float32Array {
  return acp.map((a) => f32(Math.sqrt(f32(f32(1 - a) / a))));
}

/** `alphas_cumprod[t]` for an integer timestep, with diffusers' bounds. */
export function alphaAt(acp: Float32Array, t: number): number {
  const a = acp[t];
  if (a === undefined || !Number.isInteger(t)) {
    throw new RangeError(`timestep ${t} is outside 0..${acp.length - 1}`);
  }
  return a;
}

// ---------------------------------------------------------------------------------------------------------
// numpy helpers (float64)

/** `np.round` / `torch.round`: half to even. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** `np.linspace(start, stop, num, endpoint)` in float64. */
export function npLinspace(start: number, stop: number, num: number, endpoint = true): number[] {
  const div = endpoint ? num - 1 : num;
  const delta = stop - start;
  const out: number[] = [];
  if (div > 0) {
    const step = delta / div;
    for (let i = 0; i < num; i++) out.push(step === 0 ? (i / div) * delta + start : i * step + start);
    if (endpoint && num > 1) out[num - 1] = stop;
  } else {
    for (let i = 0; i < num; i++) out.push(i * delta + start);
  }
  return out;
}

/** `np.arange(start, stop, step)` for floats: numpy fills `start + i * ((start + step) - start)`. */
export function npArange(start: number, stop: number, step: number): number[] {
  const length = Math.max(0, Math.ceil((stop - start) / step));
  const out: number[] = [];
  if (length > 0) out.push(start);
  if (length > 1) out.push(start + step);
  const delta = start + step - start;
  for (let i = 2; i < length; i++) out.push(start + i * delta);
  return out;
}

/** `np.interp(x, arange(len(ys)), ys)` in float64. */
export function npInterpIndex(x: number, ys: ArrayLike<number>): number {
  const last = ys.length - 1;
  if (x <= 0) return ys[0] as number;
  if (x >= last) return ys[last] as number;
  const j = Math.floor(x);
  const y0 = ys[j] as number;
  const slope = ((ys[j + 1] as number) - y0) / 1;
  return slope * (x - j) + y0;
}

/** diffusers' `_sigma_to_t` (numpy: float64 sigma against float32 log-sigmas). */
export function sigmaToT(sigma: number, logSigmas: Float32Array): number {
  const logSigma = Math.log(Math.max(sigma, 1e-10));
  let low = 0;
  for (let i = 0; i < logSigmas.length; i++) if (logSigma - (logSigmas[i] as number) >= 0) low = i;
  low = Math.min(low, logSigmas.length - 2);
  const lo = logSigmas[low] as number;
  const hi = logSigmas[low + 1] as number;
  let w = (lo - logSigma) / f32(lo - hi);
  w = Math.min(Math.max(w, 0), 1);
  return (1 - w) * low + w * (low + 1);
}

/** diffusers' `_convert_to_karras` (float64). */
export function karrasSigmas(sigmaMin: number, sigmaMax: number, n: number): number[] {
  const rho = 7;
  const minInv = sigmaMin ** (1 / rho);
  const maxInv = sigmaMax ** (1 / rho);
  return npLinspace(0, 1, n).map((r) => (maxInv + r * (minInv - maxInv)) ** rho);
}

// ---------------------------------------------------------------------------------------------------------
// timestep spacing

/**
 * The float timesteps of LMS / Euler / Euler ancestral (`np.float32`, descending), before any Karras
 * remapping.
 */
export function floatTimesteps(spacing: TimestepSpacing, train: number, n: number, offset: number): number[] {
  if (spacing === "linspace")
    return npLinspace(0, train - 1, n)
      .map(f32)
      .reverse();
  if (spacing === "leading") {
    const ratio = Math.floor(train / n);
    return Array.from({ length: n }, (_, i) => f32(f32((n - 1 - i) * ratio) + offset));
  }
  return npArange(train, 0, -train / n).map((t) => f32(f32(roundHalfEven(t)) - 1));
}

/** The integer timesteps of DDIM (descending). PNDM uses the same values ascending. */
export function integerTimesteps(
  spacing: TimestepSpacing,
  train: number,
  n: number,
  offset: number,
): number[] {
  if (spacing === "linspace")
    return npLinspace(0, train - 1, n)
      .map(roundHalfEven)
      .reverse();
  if (spacing === "leading") {
    const ratio = Math.floor(train / n);
    return Array.from({ length: n }, (_, i) => (n - 1 - i) * ratio + offset);
  }
  return npArange(train, 0, -train / n).map((t) => roundHalfEven(t) - 1);
}

// ---------------------------------------------------------------------------------------------------------
// sigma-indexed bookkeeping (diffusers' `_step_index` / `_begin_index`)

/**
 * diffusers' `index_for_timestep`: the second match when a timestep repeats (so img2img does not skip a
 * sigma). `lastIfMissing` is DPM-Solver's variant, which falls back to the final index.
 */
export function indexForTimestep(timesteps: readonly number[], t: number, lastIfMissing = false): number {
  const hits: number[] = [];
  timesteps.forEach((v, i) => {
    if (v === t) hits.push(i);
  });
  const hit = hits.length > 1 ? hits[1] : hits[0];
  if (hit === undefined) {
    if (lastIfMissing) return timesteps.length - 1;
    throw new RangeError(`timestep ${t} is not in the schedule [${timesteps.join(", ")}]`);
  }
  return hit;
}

export class StepCursor {
  readonly #timesteps: readonly number[];
  readonly #lastIfMissing: boolean;
  begin: number | null = null;
  current: number | null = null;

  constructor(timesteps: readonly number[], lastIfMissing = false) {
    this.#timesteps = timesteps;
    this.#lastIfMissing = lastIfMissing;
  }

  /** `_init_step_index` if needed; returns the step index in use. `index` is the caller's position. */
  at(index: number): number {
    if (this.current === null) {
      const t = this.#timesteps[index];
      if (t === undefined) throw new RangeError(`index ${index} is outside 0..${this.#timesteps.length - 1}`);
      this.current = this.begin ?? indexForTimestep(this.#timesteps, t, this.#lastIfMissing);
    }
    return this.current;
  }

  advance(): void {
    if (this.current === null) throw new Error("advance() before the step index was initialised");
    this.current += 1;
  }

  /** The index `add_noise` resolves `t` to: by value before `set_begin_index`, else current or begin. */
  forAddNoise(t: number): number {
    if (this.begin === null) return indexForTimestep(this.#timesteps, t, this.#lastIfMissing);
    return this.current ?? this.begin;
  }
}

// ---------------------------------------------------------------------------------------------------------
// shared elementwise pieces

/** `sample / ((sigma**2 + 1) ** 0.5)` in float32. */
export function scaleBySigma(sample: Float32Array, sigma: number): Float32Array {
  const denom = f32(Math.sqrt(f32(f32(sigma * sigma) + 1)));
  return sample.map((x) => f32(x / denom));
}

/** `sqrt(a_t) * x + sqrt(1 - a_t) * noise` (DDPM-style `add_noise` of DDIM / PNDM / LCM). */
export function addNoiseAlpha(
  acp: Float32Array,
  original: Float32Array,
  noise: Float32Array,
  t: number,
): Float32Array {
  const a = alphaAt(acp, t);
  const sa = f32(Math.sqrt(a));
  const sb = f32(Math.sqrt(f32(1 - a)));
  return original.map((x, i) => f32(f32(sa * x) + f32(sb * (noise[i] as number))));
}

/** `x0` from the model output for the alpha-parameterised schedulers (DDIM, LCM). */
export function predictOriginal(
  prediction: PredictionType,
  alphaProd: number,
  modelOutput: Float32Array,
  sample: Float32Array,
): Float32Array {
  const sa = f32(Math.sqrt(alphaProd));
  const sb = f32(Math.sqrt(f32(1 - alphaProd)));
  if (prediction === "epsilon") {
    return sample.map((x, i) => f32(f32(x - f32(sb * (modelOutput[i] as number))) / sa));
  }
  if (prediction === "v_prediction") {
    return sample.map((x, i) => f32(f32(sa * x) - f32(sb * (modelOutput[i] as number))));
  }
  return Float32Array.from(modelOutput);
}

export function maxOf(values: ArrayLike<number>): number {
  let m = -Infinity;
  for (let i = 0; i < values.length; i++) m = Math.max(m, values[i] as number);
  return m;
}

// ---------------------------------------------------------------------------------------------------------
// k-diffusion style sigma schedules (LMS, Euler, Euler ancestral)

export interface SigmaSchedule {
  /** float32 timesteps, descending. */
  timesteps: number[];
  /** float32 sigmas, one per timestep plus the final sigma. */
  sigmas: Float32Array;
}

export interface SigmaScheduleOptions {
  spacing: TimestepSpacing;
  train: number;
  steps: number;
  offset: number;
  karras: boolean;
  /** Euler's `sigma_min` / `sigma_max` overrides for the Karras ramp (null: the schedule's ends). */
  karrasMin?: number | null;
  karrasMax?: number | null;
  finalSigma: number;
}

/** `set_timesteps` of LMS / Euler / Euler ancestral: interpolate train sigmas at the spaced timesteps. */
export function sigmaSchedule(acp: Float32Array, o: SigmaScheduleOptions): SigmaSchedule {
  let timesteps = floatTimesteps(o.spacing, o.train, o.steps, o.offset);
  const train = trainSigmas(acp);
  let sigmas = timesteps.map((t) => npInterpIndex(t, train));
  if (o.karras) {
    const logSigmas = train.map(Math.log);
    sigmas = karrasSigmas(
      o.karrasMin ?? (sigmas.at(-1) as number),
      o.karrasMax ?? (sigmas[0] as number),
      o.steps,
    );
    timesteps = sigmas.map((s) => f32(sigmaToT(s, logSigmas)));
  }
  return { timesteps, sigmas: Float32Array.from([...sigmas, o.finalSigma]) };
}

/** `init_noise_sigma` of the k-diffusion style schedulers. */
export function kInitNoiseSigma(spacing: TimestepSpacing, sigmas: Float32Array): number {
  const max = maxOf(sigmas);
  return spacing === "leading" ? f32(Math.sqrt(f32(f32(max * max) + 1))) : max;
}

/** `x0` for the k-diffusion style schedulers (LMS, Euler ancestral; Euler with sigma_hat = sigma). */
export function kPredictOriginal(
  prediction: PredictionType,
  sigma: number,
  modelOutput: Float32Array,
  sample: Float32Array,
): Float32Array {
  if (prediction === "epsilon") return sample.map((x, i) => f32(x - f32(sigma * (modelOutput[i] as number))));
  if (prediction === "v_prediction") {
    const c1 = f32(-sigma / f32(Math.sqrt(f32(f32(sigma * sigma) + 1))));
    const c2 = f32(f32(sigma * sigma) + 1);
    return sample.map((x, i) => f32(f32((modelOutput[i] as number) * c1) + f32(x / c2)));
  }
  return Float32Array.from(modelOutput);
}

/** `original + noise * sigma` (k-diffusion style `add_noise`). */
export function addNoiseSigma(original: Float32Array, noise: Float32Array, sigma: number): Float32Array {
  return original.map((x, i) => f32(x + f32((noise[i] as number) * sigma)));
}
