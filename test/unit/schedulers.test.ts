/**
 * The TypeScript schedulers against diffusers 0.42.1: test/fixtures/schedulers/make.py runs each diffusers
 * scheduler through a StableDiffusion-style loop with a fake model and numpy noise; here the same loop is
 * replayed and every timestep, scaled input, intermediate sample and add_noise result compared.
 */

import { readFileSync } from "node:fs";
import { afterAll, describe, expect, test } from "vitest";
import { NumpyRandom } from "../../runtime/engine/random.ts";
import {
  createScheduler,
  SCHEDULER_NAMES,
  type SchedulerConfig,
  type SchedulerName,
} from "../../runtime/engine/schedulers/index.ts";
import { boundaryScalings } from "../../runtime/engine/schedulers/lcm.ts";

interface AddNoiseProbe {
  t: number;
  after: number;
  out: string;
}

interface Case {
  scheduler: SchedulerName;
  config: string;
  steps: number;
  strength: number | null;
  begin: number | null;
  timesteps: number[];
  order: number;
  init_noise_sigma: number;
  scaled0: string;
  samples: string[];
  add_noise: AddNoiseProbe[];
}

interface Fixture {
  diffusers: string;
  shape: number[];
  seed: number;
  probe_seed: number;
  base_config: SchedulerConfig;
  configs: Record<string, Partial<SchedulerConfig>>;
  cases: Case[];
}

const fixture = JSON.parse(
  readFileSync(new URL("../fixtures/schedulers/references.json", import.meta.url), "utf8"),
) as Fixture;
const SHAPE = fixture.shape;
const TOLERANCE = 1e-5;

function decode(b64: string): Float32Array {
  const bytes = Buffer.from(b64, "base64");
  return new Float32Array(new Uint8Array(bytes).buffer);
}

/** Must match fake_model in make.py: float64 maths, float32 result. */
function fakeModel(x: Float32Array, t: number): Float32Array {
  return x.map((v, i) => 0.1 * v + 0.5 * Math.sin(0.013 * (i + 1) * t + 0.7 * i));
}

function cleanLatents(): Float32Array {
  return Float32Array.from({ length: x0Size() }, (_, i) => 0.5 * Math.cos(0.3 * i + 0.1));
}

function x0Size(): number {
  return SHAPE.reduce((a, b) => a * b, 1);
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return Number.isNaN(m) ? Infinity : m;
}

const worst = new Map<string, number>();

function record(name: SchedulerName, err: number): void {
  worst.set(name, Math.max(worst.get(name) ?? 0, err));
}

/** Replays make.py's loop; returns the largest abs error over everything compared. */
function replay(c: Case): number {
  const config = { ...fixture.base_config, ...fixture.configs[c.config] } as SchedulerConfig;
  const s = createScheduler(c.scheduler, config, c.steps);
  const expected = c.timesteps.map(Math.fround);
  if (c.config === "karras") {
    // Karras timesteps come from numpy's float32 SIMD log (not correctly rounded, and CPU-dependent), so
    // one can differ in the last bits; every other schedule must match exactly.
    expect(s.timesteps.length).toBe(expected.length);
    s.timesteps.forEach((t, i) => {
      expect(Math.abs(t - (expected[i] as number))).toBeLessThanOrEqual(1e-5);
    });
  } else {
    expect([...s.timesteps]).toEqual(expected);
  }
  expect(s.order).toBe(c.order);
  expect(s.initNoiseSigma).toBe(Math.fround(c.init_noise_sigma));

  let err = 0;
  const check = (actual: Float32Array, expected: string) => {
    err = Math.max(err, maxAbsDiff(actual, decode(expected)));
  };
  const rng = new NumpyRandom(fixture.seed);
  const x0 = cleanLatents();
  const probeNoise = new NumpyRandom(fixture.probe_seed).randn(SHAPE);
  const probes = [...c.add_noise];
  const probe = (after: number) => {
    while (probes[0] !== undefined && probes[0].after === after) {
      const p = probes.shift() as AddNoiseProbe;
      check(s.addNoise(x0, probeNoise, Math.fround(p.t)), p.out);
    }
  };

  let latents: Float32Array;
  const start = c.begin ?? 0;
  if (c.begin === null) {
    latents = rng.randn(SHAPE).map((v) => v * s.initNoiseSigma);
    probe(-1);
  } else {
    s.setBeginIndex(c.begin);
    const noise = rng.randn(SHAPE);
    latents = s.addNoise(x0, noise, s.timesteps[c.begin] as number);
    const first = probes.shift() as AddNoiseProbe;
    check(latents, first.out);
  }
  expect(c.samples.length).toBe(s.timesteps.length - start);
  for (let i = start; i < s.timesteps.length; i++) {
    const scaled = s.scaleModelInput(latents, i);
    if (i === start) check(scaled, c.scaled0);
    const out = fakeModel(scaled, s.timesteps[i] as number);
    latents = s.step(out, i, latents, rng, SHAPE);
    check(latents, c.samples[i - start] as string);
    probe(i);
  }
  expect(probes).toEqual([]);
  return err;
}

describe(`schedulers match diffusers ${fixture.diffusers}`, () => {
  for (const name of SCHEDULER_NAMES) {
    describe(name, () => {
      for (const c of fixture.cases.filter((x) => x.scheduler === name)) {
        const label = `${c.config} steps=${c.steps}${c.strength === null ? "" : ` img2img begin=${c.begin}`}`;
        test(label, () => {
          const err = replay(c);
          record(name, err);
          expect(err).toBeLessThanOrEqual(TOLERANCE);
        });
      }
    });
  }

  afterAll(() => {
    const rows = [...worst].map(([name, err]) => `${name}: ${err.toExponential(2)}`);
    console.log(`max abs error vs diffusers: ${rows.join(", ")}`);
  });
});

// LCM's boundary condition at small timesteps, where it matters (at SD's own timesteps c_skip < 1e-5 and
// the replays above cannot tell SIGMA_DATA 0.5 from 0.25). Expected values from diffusers 0.42.1:
// `LCMScheduler().get_scalings_for_boundary_condition_discrete(t)` for t = 0, 1, 19 (timestep_scaling 10).
test("LCM boundary scalings match diffusers' at t = 0, 1 and 19", () => {
  const diffusers: [number, [number, number]][] = [
    [0, [1, 0]],
    [1, [0.0024937655860349127, 0.9987523388778445]],
    [19, [6.92515979806234e-6, 0.9999965374141062]],
  ];
  for (const [t, [skip, out]] of diffusers) {
    const [cSkip, cOut] = boundaryScalings(t, 10);
    expect(Math.abs(cSkip - skip), `c_skip at t=${t}`).toBeLessThanOrEqual(1e-6 * Math.max(1, skip) + 1e-12);
    expect(Math.abs(cOut - out), `c_out at t=${t}`).toBeLessThanOrEqual(1e-6);
  }
});

describe("config handling", () => {
  const base = fixture.base_config;

  test("rejects non-default behaviour it does not implement, naming the key", () => {
    expect(() => createScheduler("euler", { ...base, use_exponential_sigmas: true }, 4)).toThrow(
      /use_exponential_sigmas/,
    );
    expect(() => createScheduler("ddim", { ...base, thresholding: true }, 4)).toThrow(/thresholding/);
    expect(() => createScheduler("dpmpp_2m", { ...base, algorithm_type: "sde-dpmsolver++" }, 4)).toThrow(
      /algorithm_type/,
    );
    expect(() => createScheduler("euler_a", { ...base, rescale_betas_zero_snr: true }, 4)).toThrow(
      /rescale_betas_zero_snr/,
    );
    expect(() => createScheduler("pndm", { ...base, skip_prk_steps: false }, 2)).toThrow(/skip_prk_steps/);
    // diffusers itself rejects these prediction types for these classes
    expect(() => createScheduler("euler_a", { ...base, prediction_type: "sample" }, 4)).toThrow(
      /prediction_type/,
    );
    expect(() => createScheduler("pndm", { ...base, prediction_type: "sample" }, 4)).toThrow(
      /prediction_type/,
    );
    expect(() => createScheduler("lcm", base, 51)).toThrow(/original_inference_steps/);
  });

  test("ignores keys a class does not know, like from_config", () => {
    const a = createScheduler("euler_a", { ...base, use_karras_sigmas: true, solver_order: 3 }, 4);
    const b = createScheduler("euler_a", base, 4);
    expect(a.timesteps).toEqual(b.timesteps);
  });
});
