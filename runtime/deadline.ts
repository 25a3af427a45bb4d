/**
 * Answering before Lambda's timeout kills the invoke. Before each UNet step the time left
 * (`getRemainingTimeInMillis`) must cover the steps still to run plus a reserve for everything after
 * the last step (VAE decode, image encode, the answer). Both come from measurement — the last step and
 * the last-step-to-answer time at that size, learnt while warm — and, before anything is measured, from
 * an estimate scaled from the model's file sizes. A model load still running near the timeout is
 * answered with a DEADLINE error too, naming how far the load got.
 */
import { readFileSync } from "node:fs";
import { readdir, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { Model } from "./engine/model.ts";
import { OPTIMIZED_DIR } from "./engine/optimized-graph.ts";
import type { GenerateHooks, StepInfo } from "./engine/pipeline.ts";
import { DeadlineError } from "./errors.ts";

/**
 * SD 1.5 at 512² on 2 threads, measured with `sd-lambda bench` (README "Benchmarks"): a guided UNet
 * step (batch 2) of the 3,438 MB fp32 UNet takes 7.7 s, the 198 MB VAE decoder ~8 s. Compute scales
 * with weights × pixels, so other models and sizes are scaled from these.
 */
export const REFERENCE = {
  pixels: 512 * 512,
  threads: 2,
  unetBytes: 3.438e9,
  unetStepMs: 7700,
  unetBatch: 2,
  decoderBytes: 198e6,
  decodeMs: 8000,
} as const;
/** Estimates and measurements are scaled by this before they are relied on. */
export const SAFETY = 1.5;
/** Steps vary by a few percent while warm; the step time relied on is the mean so far × this. */
export const STEP_SAFETY = 1.25;
/** Image encoding and sending the answer, beyond the decode, before anything is measured. */
export const ANSWER_MS = 250;
/**
 * A load still running with this little time left is answered with a 504 while there is time to answer
 * (the event loop can be busy for a while during a load: tokenizer JSON, session set-up). A load that
 * ends with more left than this but less than the work needs is refused by the step check instead.
 */
export const LOAD_MARGIN_MS = 500;

/** What an estimate needs from a model: its file sizes and thread count. */
export interface ModelCost {
  readonly unetBytes: number;
  readonly decoderBytes: number;
  readonly threads: number;
}

/** The work of one render, as the deadline sees it. */
export interface Work {
  readonly width: number;
  readonly height: number;
  /** UNet batch per step: 2 with classifier-free guidance. */
  readonly batch: number;
  /** num_inference_steps as requested (a scheduler may run more or fewer UNet calls). */
  readonly steps: number;
}

/** A time to rely on and where it comes from (said in the DEADLINE message). */
export interface Timed {
  readonly ms: number;
  readonly source: string;
}

/**
 * Step and after-last-step times per size, learnt while the environment is warm. A size not measured
 * yet is scaled by pixels (× batch for steps) from the measured size nearest to it: compute is linear
 * in pixels for convolutions, and this corrects the file-size estimate for the model's architecture.
 */
export class TimingMemory {
  readonly #steps = new Map<string, { ms: number; work: Work }>();
  readonly #tails = new Map<string, { ms: number; work: Work }>();
  step(w: Work): Timed | undefined {
    return nearest(this.#steps, stepKey(w), (from) => ((w.batch / from.batch) * pixels(w)) / pixels(from));
  }
  /** Decode, encode and answer do not depend on the UNet batch. */
  tail(w: Work): Timed | undefined {
    return nearest(this.#tails, tailKey(w), (from) => pixels(w) / pixels(from));
  }
  recordStep(w: Work, ms: number): void {
    remember(this.#steps, stepKey(w), { ms, work: w });
  }
  recordTail(w: Work, ms: number): void {
    remember(this.#tails, tailKey(w), { ms, work: w });
  }
}

/** Sizes remembered per kind: enough for any real traffic, bounded against a client cycling sizes. */
const MAX_SIZES = 64;
function remember<V>(map: Map<string, V>, key: string, value: V): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > MAX_SIZES) map.delete(map.keys().next().value as string);
}

const stepKey = (w: Work) => `${w.width}x${w.height}x${w.batch}`;
const tailKey = (w: Work) => `${w.width}x${w.height}`;

const pixels = (w: Work) => w.width * w.height;

function nearest(
  measured: Map<string, { ms: number; work: Work }>,
  key: string,
  ratio: (from: Work) => number,
): Timed | undefined {
  const exact = measured.get(key);
  if (exact) return { ms: exact.ms, source: "measured" };
  let best: { ms: number; work: Work } | undefined;
  for (const m of measured.values()) {
    const distance = (x: { work: Work }) => Math.abs(Math.log(ratio(x.work)));
    if (!best || distance(m) < distance(best)) best = m;
  }
  if (!best) return undefined;
  return {
    ms: best.ms * ratio(best.work),
    source: `scaled from ${best.work.width}x${best.work.height} measured`,
  };
}

/** Time per UNet step and for decode at this size, scaled from the reference by weights × pixels / threads. */
export function estimate(cost: ModelCost, work: Work): { stepMs: number; decodeMs: number } {
  const scale = ((work.width * work.height) / REFERENCE.pixels) * (REFERENCE.threads / cost.threads);
  return {
    stepMs:
      REFERENCE.unetStepMs *
      (cost.unetBytes / REFERENCE.unetBytes) *
      (work.batch / REFERENCE.unetBatch) *
      scale,
    decodeMs: REFERENCE.decodeMs * (cost.decoderBytes / REFERENCE.decoderBytes) * scale,
  };
}

/**
 * One invoke's guard. `hooks` go to the pipeline: before each UNet call it refuses work that cannot
 * finish; `finished()` after the answer is built records the last-step-to-answer time.
 */
export class Deadline {
  readonly #remainingMs: () => number;
  readonly #memory: TimingMemory;
  readonly #work: Work;
  readonly #estimate: { stepMs: number; decodeMs: number };
  #totalCalls: number | undefined;
  #remainingAtLastStep: number | undefined;

  constructor(remainingMs: () => number, memory: TimingMemory, cost: ModelCost, work: Work) {
    this.#remainingMs = remainingMs;
    this.#memory = memory;
    this.#work = work;
    this.#estimate = estimate(cost, work);
  }

  get hooks(): Required<GenerateHooks> {
    return {
      beforeStep: (remaining, meanStepMs) => this.check(remaining, meanStepMs),
      onStep: (step) => this.stepDone(step),
    };
  }

  /** The time kept back after the last step, and where it comes from. */
  reserve(): Timed {
    const tail = this.#memory.tail(this.#work);
    if (tail !== undefined) return { ms: SAFETY * tail.ms + 100, source: tail.source };
    return {
      ms: SAFETY * this.#estimate.decodeMs + ANSWER_MS,
      source: "estimated from the VAE decoder's size",
    };
  }

  /** Throws a DeadlineError when `remainingCalls` UNet calls plus the reserve do not fit in the time left. */
  check(remainingCalls: number, meanStepMs?: number): void {
    this.#totalCalls ??= remainingCalls;
    const total = this.#totalCalls;
    const step: Timed =
      meanStepMs !== undefined
        ? { ms: meanStepMs, source: "measured" }
        : (this.#memory.step(this.#work) ?? {
            ms: this.#estimate.stepMs,
            source: "estimated from the UNet's size",
          });
    const stepMs = step.ms * STEP_SAFETY;
    const reserve = this.reserve();
    const needed = remainingCalls * stepMs + reserve.ms;
    const left = this.#remainingMs();
    if (needed <= left) return;
    const done = total - remainingCalls;
    const fitCalls = done + Math.max(0, Math.floor((left - reserve.ms) / stepMs));
    // calls and requested steps differ (PNDM runs steps + 1, img2img fewer): scale back to steps
    const fitSteps = Math.floor((this.#work.steps * fitCalls) / total);
    throw new DeadlineError(
      `${remainingCalls} of ${total} UNet steps left at ~${Math.round(stepMs)} ms each (${step.source}) and ~${Math.round(reserve.ms)} ms to decode and answer (${reserve.source}) need ~${Math.round(needed)} ms, but the function has ${left} ms before its timeout — ${fitSteps >= 1 && fitSteps < this.#work.steps ? `ask for at most ${fitSteps} num_inference_steps or ` : ""}raise the function timeout`,
      {
        remaining_ms: left,
        needed_ms: Math.round(needed),
        step_ms: Math.round(stepMs),
        reserve_ms: Math.round(reserve.ms),
        steps_done: done,
      },
    );
  }

  stepDone(step: Pick<StepInfo, "index" | "total" | "stepMs">): void {
    // every step is remembered (the latest wins), so an invoke refused part-way still teaches the next
    this.#memory.recordStep(this.#work, step.stepMs);
    if (step.index === step.total - 1) this.#remainingAtLastStep = this.#remainingMs();
  }

  /** Call once the answer is built: the time since the last step is the next reserve's measure. */
  finished(): void {
    if (this.#remainingAtLastStep === undefined) return;
    this.#memory.recordTail(this.#work, Math.max(0, this.#remainingAtLastStep - this.#remainingMs()));
  }
}

/**
 * Sum of the file sizes under a folder (a model part's .onnx and external data), leaving out saved
 * optimised graphs (`optimized/`, each a copy of its part's weights for one kind of host) below the root.
 */
export async function folderBytes(dir: string): Promise<number> {
  let total = 0;
  const pending = [dir];
  for (let d = pending.pop(); d !== undefined; d = pending.pop()) {
    const entries = await readdir(d, { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      const path = join(d, e.name);
      if (e.isDirectory()) {
        if (e.name !== OPTIMIZED_DIR) pending.push(path);
      } else
        total += await stat(path).then(
          (s) => s.size,
          () => 0,
        );
    }
  }
  return total;
}

const costs = new WeakMap<Model, ModelCost>();
/** The file sizes an estimate scales from, read once per loaded model. */
export async function modelCost(model: Model): Promise<ModelCost> {
  let cost = costs.get(model);
  if (!cost) {
    cost = {
      unetBytes: await folderBytes(dirname(model.unet.path)),
      decoderBytes: await folderBytes(dirname(model.vaeDecoder.path)),
      threads: model.threads,
    };
    costs.set(model, cost);
  }
  return cost;
}

/** Bytes this process has read so far (Linux `/proc/self/io` rchar); undefined where not observable. */
export function processReadBytes(): number | undefined {
  try {
    const m = /^rchar: (\d+)$/m.exec(readFileSync("/proc/self/io", "utf8"));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** How far a model load has got: time, bytes read (when observable) and the folder's size. */
export class LoadWatch {
  readonly dir: string;
  readonly #now: () => number;
  readonly #readBytes: () => number | undefined;
  readonly #started: number;
  readonly #baseline: number | undefined;
  folderBytes: number | undefined;

  constructor(dir: string, now: () => number = () => performance.now(), readBytes = processReadBytes) {
    this.dir = dir;
    this.#now = now;
    this.#readBytes = readBytes;
    this.#started = now();
    this.#baseline = readBytes();
  }

  /** "after 8.2 s, 1,234 MB of 4,270 MB read at 150 MB/s" (or, when reads are not observable, time and size). */
  progress(): string {
    const s = (this.#now() - this.#started) / 1000;
    const size = this.folderBytes === undefined ? "?" : mb(this.folderBytes);
    const now = this.#readBytes();
    if (now === undefined || this.#baseline === undefined)
      return `after ${s.toFixed(1)} s (bytes read not observable here; the folder holds ${size} MB)`;
    const read = now - this.#baseline;
    return `after ${s.toFixed(1)} s, ${mb(read)} MB of ${size} MB read at ${s > 0 ? (read / 1e6 / s).toFixed(1) : "?"} MB/s`;
  }
}

const mb = (bytes: number) => Math.round(bytes / 1e6).toLocaleString("en-US");

/**
 * Awaits a model load, but answers with a DeadlineError while there is still time to answer
 * (LOAD_MARGIN_MS before the timeout), naming the folder and how far the load got. The load itself
 * goes on: the next invoke in this environment finds it further along or done.
 */
export async function awaitLoad<T>(
  load: Promise<T>,
  remainingMs: () => number,
  watch: () => LoadWatch | undefined,
  marginMs = LOAD_MARGIN_MS,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const giveUp = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => {
        const w = watch();
        const left = remainingMs();
        reject(
          new DeadlineError(
            `model ${w ? w.dir : "(folder not resolved yet)"} is still loading ${w ? w.progress() : ""} with ${left} ms left before the function's timeout — raise the timeout, keep the environment warm (provisioned concurrency), or use faster storage (EFS Elastic throughput)`,
            { remaining_ms: left, path: w?.dir },
          ),
        );
      },
      // setTimeout fires at once for delays past 2^31 - 1 ms; Lambda's longest timeout is 900 s
      Math.min(2 ** 31 - 1, Math.max(0, remainingMs() - marginMs)),
    );
  });
  try {
    return await Promise.race([load, giveUp]);
  } finally {
    clearTimeout(timer);
  }
}
