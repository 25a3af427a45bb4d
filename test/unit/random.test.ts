// NumpyRandom must reproduce numpy's legacy RandomState bit for bit, and glibcLog must return exactly
// what x86-64 glibc's log() does (numpy's Gaussian calls it; Math.log differs in the last bit for a
// few percent of inputs, and glibc itself is not correctly rounded everywhere).
import { readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { fma, glibcLog } from "../../runtime/engine/glibc-log.ts";
import { NumpyRandom } from "../../runtime/engine/random.ts";

const bits = new BigUint64Array(1);
const dbl = new Float64Array(bits.buffer);
const fromBits = (b: bigint) => {
  bits[0] = b;
  return dbl[0] as number;
};
const toBits = (x: number) => {
  dbl[0] = x;
  return `0x${(bits[0] as bigint).toString(16).padStart(16, "0")}`;
};

// [what, bits of x, bits of Python's math.log(x) (= glibc 2.36 log on x86-64 with FMA)].
// "misrounded": glibc's result is not the correctly rounded log (checked with decimal at 60 digits).
const LOG_CASES: [string, bigint, bigint][] = [
  ["2^-1074 (smallest subnormal)", 0x0000000000000001n, 0xc0874385446d71c3n],
  ["largest subnormal", 0x000fffffffffffffn, 0xc086232bdd7abcd2n],
  ["2^-1022", 0x0010000000000000n, 0xc086232bdd7abcd2n],
  ["2^-1", 0x3fe0000000000000n, 0xbfe62e42fefa39efn],
  ["2^-2", 0x3fd0000000000000n, 0xbff62e42fefa39efn],
  ["2^-30", 0x3e10000000000000n, 0xc034cb5ecf0a9650n],
  ["2", 0x4000000000000000n, 0x3fe62e42fefa39efn],
  ["2^1023", 0x7fe0000000000000n, 0x408628b76e3a7b61n],
  ["largest double", 0x7fefffffffffffffn, 0x40862e42fefa39efn],
  ["1 - 2^-53", 0x3fefffffffffffffn, 0xbca0000000000000n],
  ["1 + 2^-52", 0x3ff0000000000001n, 0x3cafffffffffffffn],
  ["1 - 2^-30", 0x3fefffffff800000n, 0xbe10000000200000n],
  ["1 - 2^-4 (first near-1 input)", 0x3fee000000000000n, 0xbfb08598b59e3a07n],
  ["just below 1 - 2^-4", 0x3fedffffffffffffn, 0xbfb08598b59e3a0fn],
  ["1 + 0x1.09p-4 (first table input above 1)", 0x3ff1090000000000n, 0x3fb00c7c14184ec5n],
  ["just below 1 + 0x1.09p-4", 0x3ff108ffffffffffn, 0x3fb00c7c14184eb6n],
  ["0x1.6p-1 (table offset)", 0x3fe6000000000000n, 0xbfd7fafa3bd8151cn],
  ["just below 0x1.6p-1", 0x3fe5ffffffffffffn, 0xbfd7fafa3bd8151fn],
  ["Math.log differs", 0x3feb32b911ce76bbn, 0xbfc4cfaa57e413c5n],
  ["Math.log differs", 0x3fe65998978d5127n, 0xbfd6f862c7e0dacdn],
  ["Math.log differs", 0x3fe28db8be159592n, 0xbfe1713af1980fc1n],
  ["Math.log differs", 0x3fd5a729ed01411an, 0xbff156ff9441fc81n],
  ["subnormal, Math.log differs", 0x000b34068ebfefc1n, 0xc0862605beeca93dn],
  ["subnormal, Math.log differs", 0x000b5ffaffbb6ad1n, 0xc08625e698bb1143n],
  ["misrounded", 0x3feef9b2513de781n, 0xbfa0a983eb71df34n],
  ["misrounded", 0x3feba1a4a516a273n, 0xbfc2c9c439546ca1n],
  ["misrounded", 0x3fe1533395fa699bn, 0xbfe3a27d0c24c3b6n],
  ["misrounded", 0x3fedb886d54e8050n, 0xbfb2ea5b9acb3c0fn],
  ["near 1, misrounded", 0x3fee2770df8d5d1an, 0xbfae6bca6ad3cadcn],
  ["near 1, misrounded", 0x3fee65986d72edb4n, 0xbfaa50aa8c40332en],
  ["near 1, misrounded", 0x3feec43fc023d7e8n, 0xbfa41ff439ebce9en],
];

describe("glibcLog", () => {
  test.each(LOG_CASES.map(([what, x, y]) => [what, toBits(fromBits(x)), fromBits(x), fromBits(y)] as const))(
    "%s: log(%s)",
    (_what, _shown, x, expected) => {
      expect(toBits(glibcLog(x))).toBe(toBits(expected));
    },
  );

  test("special values", () => {
    expect(Object.is(glibcLog(1), 0)).toBe(true);
    expect(glibcLog(0)).toBe(Number.NEGATIVE_INFINITY);
    expect(glibcLog(-0)).toBe(Number.NEGATIVE_INFINITY);
    expect(glibcLog(Number.POSITIVE_INFINITY)).toBe(Number.POSITIVE_INFINITY);
    expect(glibcLog(-1)).toBeNaN();
    expect(glibcLog(Number.NEGATIVE_INFINITY)).toBeNaN();
    expect(glibcLog(Number.NaN)).toBeNaN();
  });

  test("fma rounds once", () => {
    expect(fma(0.1, 10, -1)).toBe(2 ** -54); // 0.1 * 10 is 1 + 2^-54 exactly
    expect(fma(1 + 2 ** -52, 1 - 2 ** -52, -1)).toBe(-(2 ** -104));
    expect(fma(1 + 2 ** -30, 1 + 2 ** -30, 0)).toBe((1 + 2 ** -30) * (1 + 2 ** -30));
    // a*b = 1 + 2^-53 - 2^-105 rounds down to 1 on its own; + 2^-104 puts the exact sum above the midpoint
    expect(fma(1 + 2 ** -52, 1 - 2 ** -53, 2 ** -104)).toBe(1 + 2 ** -52);
    expect((1 + 2 ** -52) * (1 - 2 ** -53) + 2 ** -104).toBe(1);
    expect(fma(3, 5, 7)).toBe(22);
  });
});

describe("NumpyRandom", () => {
  test("RandomState(0).randn: first values and values where Math.log would be 1 ulp off", () => {
    const v = new NumpyRandom(0).randn64([178]);
    const at = (i: number) => v[i];
    expect([0, 1, 2, 3, 4].map(at)).toEqual([
      1.764052345967664, 0.4001572083672233, 0.9787379841057392, 2.240893199201458, 1.8675579901499675,
    ]);
    expect([122, 123, 176, 177].map(at)).toEqual([
      0.298238174206056, 1.3263858966870303, -0.8034096641738411, -0.6895497777502005,
    ]);
  });

  test("RandomState(2**32 - 1).randn", () => {
    expect(Array.from(new NumpyRandom(2 ** 32 - 1).randn64([4]))).toEqual([
      0.6484086742306527, 0.6693235306338161, -1.0805437227474493, 0.2845010447986309,
    ]);
  });

  test("rejects seeds numpy rejects", () => {
    expect(() => new NumpyRandom(-1)).toThrow(RangeError);
    expect(() => new NumpyRandom(2 ** 32)).toThrow(RangeError);
    expect(() => new NumpyRandom(1.5)).toThrow(RangeError);
  });
});

// fixtures/reference/noise.json, written by fixtures/generate/generate.py (write_noise_reference).
type Noise = {
  gaussian: { cases: { seed: number; shape: number[]; float64: number[]; float32: number[] }[] };
  gaussian_sequences: { cases: { seed: number; draws: { shape: number[]; float64: number[] }[] }[] };
  uint32: { cases: { seed: number; values: number[] }[] };
  random_sample: { cases: { seed: number; values: number[] }[] };
};
const noiseUrl = new URL("../../fixtures/reference/noise.json", import.meta.url);
const noise: Noise = JSON.parse(readFileSync(noiseUrl, "utf8"));

/** Indices where got and want differ bit for bit (so a failure says how many, not just "not equal"). */
function mismatches(got: ArrayLike<number>, want: readonly number[]): number[] {
  const bad: number[] = [];
  if (got.length !== want.length) return [-1];
  for (let i = 0; i < want.length; i++) if (!Object.is(got[i], want[i])) bad.push(i);
  return bad;
}

describe("NumpyRandom parity with fixtures/reference/noise.json", () => {
  const n = noise as Noise;
  test("raw MT19937 outputs", () => {
    for (const c of n.uint32.cases) {
      const rng = new NumpyRandom(c.seed);
      expect(
        c.values.map(() => rng.nextUint32()),
        `seed ${c.seed}`,
      ).toEqual(c.values);
    }
  });

  test("random_sample", () => {
    for (const c of n.random_sample.cases) {
      const rng = new NumpyRandom(c.seed);
      expect(
        c.values.map(() => rng.randomSample()),
        `seed ${c.seed}`,
      ).toEqual(c.values);
    }
  });

  test("randn in float64 and float32, bit for bit", () => {
    expect(n.gaussian.cases.length).toBeGreaterThan(0);
    for (const c of n.gaussian.cases) {
      const label = `seed ${c.seed} shape [${c.shape}]`;
      expect(mismatches(new NumpyRandom(c.seed).randn64(c.shape), c.float64), `${label} float64`).toEqual([]);
      expect(mismatches(new NumpyRandom(c.seed).randn(c.shape), c.float32), `${label} float32`).toEqual([]);
    }
  });

  test("consecutive draws from one generator share the cached Gaussian", () => {
    for (const c of n.gaussian_sequences.cases) {
      const rng = new NumpyRandom(c.seed);
      for (const d of c.draws) {
        expect(mismatches(rng.randn64(d.shape), d.float64), `seed ${c.seed} shape [${d.shape}]`).toEqual([]);
      }
    }
  });
});
