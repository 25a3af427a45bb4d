// The deadline guard on a simulated clock: full-size timings (no wall-clock assumption) and a seeded
// property test over random profiles; the model-load deadline with fake timers.
import { afterEach, describe, expect, test, vi } from "vitest";
import {
  awaitLoad,
  Deadline,
  estimate,
  LoadWatch,
  type ModelCost,
  TimingMemory,
  type Work,
} from "../../runtime/deadline.ts";
import { DeadlineError } from "../../runtime/errors.ts";
import { seeded } from "../helpers/random.ts";

/** SD 1.5's file sizes (fp32 UNet and VAE decoder) on 2 threads, as `make bench-model` builds it. */
const SD15: ModelCost = { unetBytes: 3.438e9, decoderBytes: 198e6, threads: 2 };

interface Profile {
  readonly stepMs: readonly number[];
  /** Last step to answer: decode, encode, response. */
  readonly tailMs: number;
  readonly timeoutMs: number;
}
type Outcome = { kind: "answered" | "deadline"; atMs: number; error?: DeadlineError };

/** One invoke as the handler runs it: the guard's hooks around each UNet call, as the pipeline calls them. */
function simulate(p: Profile, memory: TimingMemory, cost: ModelCost, work: Work): Outcome {
  let now = 0;
  const deadline = new Deadline(() => p.timeoutMs - now, memory, cost, work);
  const { beforeStep, onStep } = deadline.hooks;
  let mean: number | undefined;
  const total = p.stepMs.length;
  try {
    for (let i = 0; i < total; i++) {
      beforeStep(total - i, mean);
      const stepMs = p.stepMs[i] as number;
      now += stepMs;
      mean = ((mean ?? 0) * i + stepMs) / (i + 1);
      onStep({ index: i, total, stepMs, timestep: 0, latents: new Float32Array() });
    }
    now += p.tailMs;
    deadline.finished();
    return { kind: "answered", atMs: now };
  } catch (error) {
    if (!(error instanceof DeadlineError)) throw error;
    return { kind: "deadline", atMs: now, error };
  }
}

describe("full-size timing profile (SD 1.5 at 512², 7.7 s per step, 8 s decode, 33.8 s timeout)", () => {
  const work = (steps: number): Work => ({ width: 512, height: 512, batch: 2, steps });
  const profile = (steps: number): Profile => ({
    stepMs: Array(steps).fill(7700),
    tailMs: 8000,
    timeoutMs: 33_800,
  });

  test("the estimate before anything is measured is the measured reference", () => {
    expect(estimate(SD15, work(4))).toEqual({ stepMs: 7700, decodeMs: 8000 });
  });

  test("4 steps on a cold function: a 504 before the first step, not Lambda's timeout at 38.8 s", () => {
    const out = simulate(profile(4), new TimingMemory(), SD15, work(4));
    expect(out).toMatchObject({ kind: "deadline", atMs: 0 });
    expect(out.error?.message).toBe(
      "4 of 4 UNet steps left at ~9625 ms each (estimated from the UNet's size) and ~12250 ms to decode and answer (estimated from the VAE decoder's size) need ~50750 ms, but the function has 33800 ms before its timeout — ask for at most 2 num_inference_steps or raise the function timeout",
    );
  });

  test("the 2 steps it offers fit, and once measured a warm 4-step request is refused up front", () => {
    const memory = new TimingMemory();
    expect(simulate(profile(2), memory, SD15, work(2))).toEqual({ kind: "answered", atMs: 23_400 });
    const warm = simulate(profile(4), memory, SD15, work(4));
    expect(warm).toMatchObject({ kind: "deadline", atMs: 0 });
    expect(warm.error?.message).toMatch(/\(measured\) and ~12100 ms to decode and answer \(measured\)/);
  });

  test("PNDM's extra UNet call is counted, and the offer is in num_inference_steps", () => {
    // PNDM with skip_prk_steps runs steps + 1 UNet calls: 5 calls for 4 steps; 2 calls fit in 40 s
    // beside the reserve, and 2 steps would be 3 calls
    const out = simulate({ ...profile(5), timeoutMs: 40_000 }, new TimingMemory(), SD15, work(4));
    expect(out.error?.message).toMatch(/^5 of 5 UNet steps left .* ask for at most 1 num_inference_steps/);
  });
});

test("a size not measured yet is scaled by pixels from the nearest measured size, not estimated from file sizes", () => {
  const memory = new TimingMemory();
  const at = (side: number, batch: number): Work => ({ width: side, height: side, batch, steps: 4 });
  memory.recordStep(at(256, 2), 500);
  memory.recordTail(at(256, 2), 1000);
  memory.recordTail(at(64, 2), 10);
  expect(memory.tail(at(512, 1))).toEqual({ ms: 4000, source: "scaled from 256x256 measured" });
  expect(memory.step(at(512, 1))).toEqual({ ms: 1000, source: "scaled from 256x256 measured" });
  expect(memory.tail(at(64, 1))).toEqual({ ms: 10, source: "measured" });
  // a tiny VAE at 768² is slower than its file size suggests: once 256² is measured, that corrects it
  const d = new Deadline(() => 5000, memory, { unetBytes: 1e6, decoderBytes: 3e5, threads: 2 }, at(768, 2));
  expect(d.reserve()).toEqual({ ms: 13_600, source: "scaled from 256x256 measured" });
});

test("2,000 random profiles: every invoke answers before its timeout; a warm one that fits is served", () => {
  const rand = seeded(9);
  const between = (lo: number, hi: number) => lo + (hi - lo) * rand();
  let refused = 0;
  let served = 0;
  for (let run = 0; run < 2000; run++) {
    const cost: ModelCost = {
      unetBytes: between(1e6, 7e9),
      decoderBytes: between(1e5, 4e8),
      threads: Math.ceil(between(0, 6)),
    };
    const side = 64 * Math.ceil(between(0, 12));
    const work: Work = {
      width: side,
      height: side,
      batch: rand() < 0.5 ? 1 : 2,
      steps: Math.ceil(between(0, 50)),
    };
    const est = estimate(cost, work);
    // the estimate is an upper bound of the real work (it is scaled from the slowest measured machine);
    // steps jitter ±10 % around their base, the tail ±10 % between invokes
    const base = est.stepMs * between(0.3, 1);
    const tail = est.decodeMs * between(0.3, 1);
    const timeoutMs = between(0.2, 3) * (work.steps * base + tail);
    const memory = new TimingMemory();
    const invoke = () =>
      simulate(
        {
          stepMs: Array.from({ length: work.steps }, () => base * between(0.9, 1.1)),
          tailMs: tail * between(0.9, 1.1),
          timeoutMs,
        },
        memory,
        cost,
        work,
      );
    const cold = invoke();
    const warm = invoke();
    for (const out of [cold, warm]) {
      expect(out.atMs, `profile ${run}`).toBeLessThanOrEqual(timeoutMs);
      if (out.kind === "deadline") refused++;
    }
    if (cold.kind === "answered" && work.steps * base * 1.1 * 1.25 + 1.5 * 1.1 * tail + 100 <= timeoutMs) {
      expect(warm.kind, `profile ${run}`).toBe("answered");
      served++;
    }
  }
  // both branches were exercised
  expect(refused).toBeGreaterThan(100);
  expect(served).toBeGreaterThan(100);
});

describe("a model load near the deadline", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  test("becomes a 504 naming the folder, the MB read so far and the speed, 0.5 s before the timeout", async () => {
    vi.useFakeTimers();
    const t0 = Date.now();
    const elapsed = () => Date.now() - t0;
    // 100 MB/s from an EFS that holds a 4.27 GB model
    const watch = new LoadWatch("/mnt/fs/models/sd15", elapsed, () => 5e6 + elapsed() * 1e5);
    watch.folderBytes = 4.27e9;
    const load = awaitLoad(
      new Promise<never>(() => {}),
      () => 30_000 - elapsed(),
      () => watch,
    );
    const refused = expect(load).rejects.toMatchObject({
      code: "DEADLINE",
      status: 504,
      message:
        "model /mnt/fs/models/sd15 is still loading after 29.5 s, 2,950 MB of 4,270 MB read at 100.0 MB/s with 500 ms left before the function's timeout — raise the timeout, keep the environment warm (provisioned concurrency), or use faster storage (EFS Elastic throughput)",
    });
    await vi.advanceTimersByTimeAsync(29_500);
    await refused;
  });

  test("where bytes read are not observable, it names the time and the folder's size", () => {
    let now = 0;
    const watch = new LoadWatch(
      "/mnt/fs/models/sd15",
      () => now,
      () => undefined,
    );
    watch.folderBytes = 4.27e9;
    now = 12_345;
    expect(watch.progress()).toBe("after 12.3 s (bytes read not observable here; the folder holds 4,270 MB)");
  });

  test("a context reporting more time than a timer can hold (2^31 ms) does not give up at once", async () => {
    const load = new Promise((resolve) => setTimeout(() => resolve("model"), 20));
    await expect(
      awaitLoad(
        load,
        () => 2 ** 40,
        () => undefined,
      ),
    ).resolves.toBe("model");
  });

  test("a load that finishes in time is returned and leaves no timer behind", async () => {
    vi.useFakeTimers();
    const loaded = await awaitLoad(
      Promise.resolve("model"),
      () => 30_000,
      () => undefined,
    );
    expect(loaded).toBe("model");
    expect(vi.getTimerCount()).toBe(0);
  });
});
