/**
 * numpy's legacy `RandomState`: MT19937 seeded with `init_genrand`, doubles from two 32-bit draws and
 * the polar Box–Muller Gaussian that caches its second value. Seed N gives exactly the numbers of
 * `numpy.random.RandomState(N).randn(...)`, the noise the seed article's engine and diffusers' ONNX
 * pipeline draw, so our images can be checked against theirs.
 *
 * Bit-exact in float64 needs numpy's `log` too: the Gaussian uses glibcLog (what x86-64 glibc's `log`
 * returns), not `Math.log`, which differs from it in the last bit for a few percent of inputs.
 */

import { glibcLog } from "./glibc-log.ts";

const N = 624;
const M = 397;
const UPPER_MASK = 0x80000000;
const LOWER_MASK = 0x7fffffff;
const MATRIX_A = 0x9908b0df;

export const MAX_SEED = 2 ** 32 - 1;

export class NumpyRandom {
  readonly #mt = new Uint32Array(N);
  #index = N;
  #gauss: number | null = null;

  constructor(seed: number) {
    if (!Number.isInteger(seed) || seed < 0 || seed > MAX_SEED) {
      throw new RangeError(`seed must be an integer in 0..${MAX_SEED}, got ${seed}`);
    }
    const mt = this.#mt;
    mt[0] = seed >>> 0;
    for (let i = 1; i < N; i++) {
      const prev = mt[i - 1] as number;
      const x = prev ^ (prev >>> 30);
      // 1812433253 * x mod 2^32, split to stay inside double precision
      mt[i] = ((((x & 0xffff0000) >>> 16) * 1812433253) << 16) + (x & 0x0000ffff) * 1812433253 + i;
    }
  }

  /** The next raw 32-bit output (numpy's `genrand_int32`). */
  nextUint32(): number {
    const mt = this.#mt;
    if (this.#index >= N) {
      for (let k = 0; k < N; k++) {
        const y = ((mt[k] as number) & UPPER_MASK) | ((mt[(k + 1) % N] as number) & LOWER_MASK);
        mt[k] = (mt[(k + M) % N] as number) ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
      }
      this.#index = 0;
    }
    let y = mt[this.#index++] as number;
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /** A double in [0, 1) with 53 random bits (`random_sample`). */
  randomSample(): number {
    const a = this.nextUint32() >>> 5;
    const b = this.nextUint32() >>> 6;
    return (a * 67108864 + b) / 9007199254740992;
  }

  /** One standard normal double (`legacy_gauss`). */
  gauss(): number {
    if (this.#gauss !== null) {
      const cached = this.#gauss;
      this.#gauss = null;
      return cached;
    }
    let x1: number;
    let x2: number;
    let r2: number;
    do {
      x1 = 2 * this.randomSample() - 1;
      x2 = 2 * this.randomSample() - 1;
      r2 = x1 * x1 + x2 * x2;
    } while (r2 >= 1 || r2 === 0);
    const f = Math.sqrt((-2 * glibcLog(r2)) / r2);
    this.#gauss = f * x1;
    return f * x2;
  }

  /** `randn(*shape).astype(float32)`: what the pipelines use as latent noise. */
  randn(shape: readonly number[]): Float32Array {
    const out = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < out.length; i++) out[i] = this.gauss();
    return out;
  }

  /** `randn(*shape)` in float64, for bit-exact comparison with numpy. */
  randn64(shape: readonly number[]): Float64Array {
    const out = new Float64Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < out.length; i++) out[i] = this.gauss();
    return out;
  }
}
