/**
 * Numerics every scheduler shares, mirroring diffusers 0.42 (and the torch / numpy numerics under it):
 * config reading with `from_config` semantics, the training noise schedule, numpy helpers, sigma
 * interpolation and timestep spacing. The family pieces live in sigma-family.ts and alpha-family.ts, the
 * `Scheduler` objects' common shells in scheduler-shells.ts.
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
export const PREDICTIONS: readonly PredictionType[] = ["epsilon", "v_prediction", "sample"];
export type TimestepSpacing = "linspace" | "leading" | "trailing";
export const SPACINGS: readonly TimestepSpacing[] = ["linspace", "leading", "trailing"];

/** `prediction_type` (default "epsilon"), restricted to the kinds the class implements. */
export function readPrediction(read: ConfigReader, allowed = PREDICTIONS): PredictionType {
  return read.choice("prediction_type", "epsilon", allowed);
}

// ---------------------------------------------------------------------------------------------------------
// training noise schedule

export interface BetaDefaults {
  beta_start: number;
  beta_end: number;
  beta_schedule: string;
}

/** The beta defaults of every class here but LCM. */
export const LINEAR_BETAS: BetaDefaults = { beta_start: 0.0001, beta_end: 0.02, beta_schedule: "linear" };

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

/** `(sigma**2 + 1) ** 0.5` in float32: the input scale of sigma-parameterised schedulers. */
export function sigmaNorm(sigma: number): number {
  return f32(Math.sqrt(f32(f32(sigma * sigma) + 1)));
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
function sigmaToT(sigma: number, logSigmas: Float32Array): number {
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
function karrasSigmas(sigmaMin: number, sigmaMax: number, n: number): number[] {
  const rho = 7;
  const minInv = sigmaMin ** (1 / rho);
  const maxInv = sigmaMax ** (1 / rho);
  return npLinspace(0, 1, n).map((r) => (maxInv + r * (minInv - maxInv)) ** rho);
}

/**
 * `use_karras_sigmas`: the Karras ramp between `sigmaMin` and `sigmaMax` and the float64 timesteps
 * `_sigma_to_t` maps it back to on the training sigmas (each class then rounds them its own way).
 */
export function karrasSchedule(
  train: Float32Array,
  sigmaMin: number,
  sigmaMax: number,
  steps: number,
): { sigmas: number[]; timesteps: number[] } {
  const logSigmas = train.map(Math.log);
  const sigmas = karrasSigmas(sigmaMin, sigmaMax, steps);
  return { sigmas, timesteps: sigmas.map((s) => sigmaToT(s, logSigmas)) };
}

// ---------------------------------------------------------------------------------------------------------
// timestep spacing

/**
 * One spacing rule for both kinds of timestep: `onGrid` rounds the linspace grid and `cast` each result
 * of the other two rules (np.float32 for the sigma schedulers, plain integers for DDIM / PNDM).
 */
function spacedTimesteps(
  spacing: TimestepSpacing,
  train: number,
  n: number,
  offset: number,
  onGrid: (x: number) => number,
  cast: (x: number) => number,
): number[] {
  if (spacing === "linspace")
    return npLinspace(0, train - 1, n)
      .map(onGrid)
      .reverse();
  if (spacing === "leading") {
    const ratio = Math.floor(train / n);
    return Array.from({ length: n }, (_, i) => cast(cast((n - 1 - i) * ratio) + offset));
  }
  return npArange(train, 0, -train / n).map((t) => cast(cast(roundHalfEven(t)) - 1));
}

/**
 * The float timesteps of LMS / Euler / Euler ancestral (`np.float32`, descending), before any Karras
 * remapping.
 */
export function floatTimesteps(spacing: TimestepSpacing, train: number, n: number, offset: number): number[] {
  return spacedTimesteps(spacing, train, n, offset, f32, f32);
}

/** The integer timesteps of DDIM (descending). PNDM uses the same values ascending. */
export function integerTimesteps(
  spacing: TimestepSpacing,
  train: number,
  n: number,
  offset: number,
): number[] {
  return spacedTimesteps(spacing, train, n, offset, roundHalfEven, (x) => x);
}
