/**
 * `sd-lambda bench`'s measurements: one cold generation then N warm ones of the same request (same
 * seed), either in-process (`local`: model load, the handler's render path) or in a fresh function
 * container under the RIE (`emulator`: Init Duration and REPORT durations, cgroup memory peak). Every
 * run's image is hashed: a benchmark of an engine that does not reproduce its own output is void.
 */
import { createHash } from "node:crypto";
import { basename, dirname, resolve } from "node:path";
import { IMAGE_MODELS_ROOT } from "../../deploy/config.ts";
import { loadModel, releaseModel } from "../../runtime/engine/model.ts";
import { render } from "../../runtime/render.ts";
import { DEFAULT_LIMITS, parseRequest } from "../../runtime/request.ts";
import { type Invoked, InvokeError, invoke, type Target } from "../invoke/client.ts";
import type { Report } from "../invoke/report.ts";
import { initDurations } from "../scenarios/rie-logs.ts";
import { type MemoryFacts, startSandbox } from "../scenarios/sandbox.ts";
import { type Stats, summarize } from "./stats.ts";

export interface Run {
  readonly cold: boolean;
  /** Local: render's total; emulator: the client's round trip. */
  readonly totalMs: number;
  /** The function's own stage timings (timings_ms). */
  readonly stagesMs: Record<string, number>;
  /** Emulator: the REPORT line's Duration. */
  readonly reportDurationMs?: number;
  readonly sha256: string;
}

export interface BenchResult {
  readonly target: "local" | "emulator" | "aws";
  readonly model: string;
  /** The model folder (local, emulator) or the function (aws). */
  readonly where: string;
  readonly request: {
    readonly width: number;
    readonly height: number;
    readonly steps: number;
    readonly scheduler: string;
    readonly guidance: number;
    readonly seed: number;
    readonly mode: string;
  };
  readonly engine: { readonly onnxruntime: string; readonly threads: number };
  /** Null when the first invoke found a warm environment (aws: Lambda decides). */
  readonly coldStart: {
    /** Emulator: the runtime's init (the RIE's INIT REPORT; its REPORT "Init Duration" is ~0); aws: REPORT. */
    readonly initMs?: number;
    /** Creating the model's sessions (emulator, aws: the function's model_loaded log line). */
    readonly modelLoadMs?: number;
    /** The parts opened from graphs saved for the host (`sd-lambda models optimize`). */
    readonly optimizedParts?: readonly string[];
  } | null;
  /** Emulator: the sandbox the function ran in. */
  readonly sandbox?: { readonly memoryMb: number; readonly cpus: number; readonly memory: MemoryFacts };
  /** Aws: from the REPORT lines (Lambda measures Max Memory Used; the RIE does not). */
  readonly lambda?: { readonly memorySizeMb: number; readonly maxMemoryUsedMb: number };
  /** Local: this process's peak resident set. */
  readonly peakRssMb?: number;
  readonly runs: readonly Run[];
  readonly warm: {
    readonly totalMs: Stats;
    readonly unetPerStepMs: Stats;
    readonly stagesMs: Record<string, Stats>;
  };
  /** Every run gave the same image bytes. */
  readonly identical: boolean;
}

export interface BenchOptions {
  readonly modelDir: string;
  readonly request: Record<string, unknown>;
  /** Warm runs after the cold one. */
  readonly runs: number;
  /** Whether the function opens saved optimised graphs (SD_OPTIMIZED_GRAPHS; default use). */
  readonly graphs?: "use" | "off";
  readonly say: (line: string) => void;
}

export interface LocalBenchOptions extends BenchOptions {
  readonly threads: number;
}

export async function benchLocal(options: LocalBenchOptions): Promise<BenchResult> {
  const request = parseRequest(options.request, DEFAULT_LIMITS);
  options.say(`loading ${options.modelDir} (${options.threads} threads)`);
  const loadStart = performance.now();
  const model = await loadModel(options.modelDir, {
    threads: options.threads,
    ...(options.graphs ? { graphs: options.graphs } : {}),
  });
  const loadMs = performance.now() - loadStart;
  try {
    const runs: Run[] = [];
    let first: Awaited<ReturnType<typeof render>> | undefined;
    for (let i = 0; i <= options.runs; i++) {
      const r = await render(model, request);
      first ??= r;
      runs.push({
        cold: i === 0,
        totalMs: r.timings.total + r.timings.encode,
        stagesMs: { ...r.timings },
        sha256: sha256(r.bytes),
      });
      options.say(describeRun(i, options.runs, runs[i] as Run));
    }
    const f = first as NonNullable<typeof first>;
    return {
      target: "local",
      model: f.model,
      where: options.modelDir,
      request: {
        width: f.width,
        height: f.height,
        steps: f.steps,
        scheduler: f.scheduler,
        guidance: f.guidance,
        seed: f.seed,
        mode: f.mode,
      },
      engine: f.engine,
      coldStart: { modelLoadMs: loadMs, optimizedParts: model.optimizedParts },
      peakRssMb: process.resourceUsage().maxRSS / 1024,
      runs,
      ...judge(runs, f.steps),
    };
  } finally {
    await releaseModel(model);
  }
}

export interface EmulatorBenchOptions extends BenchOptions {
  readonly memoryMb: number;
  readonly timeoutS: number;
  readonly cpus: number;
  /** Environment for docker (the project's compose plugin and builder settings). */
  readonly env: NodeJS.ProcessEnv;
  /** An image with the model baked in (model location `image`); otherwise the model is mounted as EFS. */
  readonly image?: string;
}

/** A fresh container per bench, so the first invoke is a real cold start (init + model load). */
export async function benchEmulator(options: EmulatorBenchOptions): Promise<BenchResult> {
  const modelDir = resolve(options.modelDir);
  options.say(
    `starting a function container: ${options.memoryMb} MB, model ${modelDir} ${options.image ? `baked into ${options.image}` : "mounted as EFS"}`,
  );
  const sandbox = await startSandbox(
    {
      modelsDir: options.image ? undefined : dirname(modelDir),
      memoryMb: options.memoryMb,
      timeoutS: options.timeoutS,
      environment: {
        SD_MODEL: basename(modelDir),
        ...(options.image ? { MNT_DIR: IMAGE_MODELS_ROOT } : {}),
        ...(options.graphs ? { SD_OPTIMIZED_GRAPHS: options.graphs } : {}),
      },
      ...(options.image ? { image: options.image } : {}),
    },
    options.env,
  );
  try {
    const target = {
      kind: "local",
      endpoint: `http://${sandbox.container.getHost()}:${sandbox.container.getMappedPort(8080)}`,
    } as const;
    const { measured } = await invokeRuns(target, options, options.timeoutS + 30, (error, label) =>
      explainFailure(error, label, sandbox, options.memoryMb),
    );
    const logs = sandbox.logs();
    const loaded = /"event":"model_loaded".*?"optimized_graphs":(\[[^\]]*\]).*?"load_ms":(\d+)/.exec(logs);
    if (!loaded)
      throw new Error("the function's logs have no model_loaded line: cannot tell the model load time");
    return {
      ...measured,
      target: "emulator",
      where: options.image ? `${modelDir} (in ${options.image})` : modelDir,
      coldStart: {
        initMs: initDurations(logs)[0],
        modelLoadMs: Number(loaded[2]),
        optimizedParts: JSON.parse(loaded[1] as string) as string[],
      },
      sandbox: { memoryMb: options.memoryMb, cpus: options.cpus, memory: await sandbox.memory() },
    };
  } finally {
    await sandbox.stop();
  }
}

export interface AwsBenchOptions extends Omit<BenchOptions, "modelDir"> {
  readonly functionName: string;
  readonly region?: string;
  /** Client-side limit per invoke. */
  readonly timeoutS: number;
}

/**
 * A deployed function. Lambda decides whether an environment is cold: the first REPORT says so with
 * its Init Duration (then the model load is the function's model_loaded line, when the 4 KB log tail
 * still holds it); memory is the REPORT's Max Memory Used, which Lambda measures for real.
 */
export async function benchAws(options: AwsBenchOptions): Promise<BenchResult> {
  const target = { kind: "aws", functionName: options.functionName, region: options.region } as const;
  const { measured, reports, firstTail } = await invokeRuns(
    target,
    options,
    options.timeoutS,
    async (error, label) => failed(error, label),
  );
  const first = reports[0];
  const loaded = /"event":"model_loaded".*?"load_ms":(\d+)/.exec(firstTail ?? "");
  return {
    ...measured,
    target: "aws",
    where: `${options.functionName}${options.region ? ` (${options.region})` : ""}`,
    coldStart:
      first?.initDurationMs === undefined
        ? null
        : { initMs: first.initDurationMs, ...(loaded ? { modelLoadMs: Number(loaded[1]) } : {}) },
    lambda: {
      memorySizeMb: first?.memorySizeMb ?? Number.NaN,
      maxMemoryUsedMb: Math.max(...reports.map((r) => r.maxMemoryUsedMb)),
    },
  };
}

interface InvokedRuns {
  readonly measured: Pick<BenchResult, "model" | "request" | "engine" | "runs" | "warm" | "identical">;
  readonly reports: readonly Report[];
  /** The first invoke's log tail (Lambda's LogResult), where a cold start's model_loaded line is. */
  readonly firstTail: string | undefined;
}

/** One cold and options.runs warm invokes of the same request; every one must come with its REPORT. */
async function invokeRuns(
  target: Target,
  options: Pick<BenchOptions, "request" | "runs" | "say">,
  timeoutS: number,
  explain: (error: unknown, label: string) => Promise<Error>,
): Promise<InvokedRuns> {
  const runs: Run[] = [];
  const reports: Report[] = [];
  let first: Invoked | undefined;
  for (let i = 0; i <= options.runs; i++) {
    const label = i === 0 ? "the first run" : `warm run ${i}`;
    const invoked = await invoke(options.request, target, {
      timeoutS,
      onTick: (s) => {
        if (s % 30 === 0) options.say(`  ${label}: waiting ${s} s`);
      },
    }).catch(async (error: unknown) => {
      throw await explain(error, label);
    });
    if (!invoked.report)
      throw new Error(`bench needs the REPORT line of every invoke: ${invoked.reportNote}`);
    first ??= invoked;
    reports.push(invoked.report);
    runs.push({
      // the REPORT of an invoke that started an environment carries Init Duration (the RIE's too)
      cold: invoked.report.initDurationMs !== undefined,
      totalMs: invoked.elapsedMs,
      stagesMs: invoked.result.timings_ms ?? {},
      reportDurationMs: invoked.report.durationMs,
      sha256: sha256(invoked.image),
    });
    options.say(describeRun(i, options.runs, runs[i] as Run));
  }
  const f = (first as Invoked).result;
  const steps = Number(f.num_inference_steps);
  return {
    measured: {
      model: String(f.model),
      request: {
        width: f.width,
        height: f.height,
        steps,
        scheduler: String(f.scheduler),
        guidance: Number(f.guidance_scale),
        seed: f.seed,
        mode: String(f.mode),
      },
      engine: f.engine ?? { onnxruntime: "unknown", threads: 0 },
      runs,
      ...judge(runs, steps),
    },
    reports,
    firstTail: (first as Invoked).logTail,
  };
}

/** An invoke that failed: named for memory when the container's OOM killer fired, else as it came. */
async function explainFailure(
  error: unknown,
  label: string,
  sandbox: { memory(): Promise<MemoryFacts> },
  memoryMb: number,
): Promise<Error> {
  const message = error instanceof Error ? error.message : String(error);
  const memory = await sandbox.memory().catch(() => undefined);
  if (memory && memory.oomKills > 0) {
    const details = error instanceof InvokeError ? error.details : {};
    const answer =
      typeof details.errorType === "string"
        ? `${details.errorType}: ${String(details.errorMessage)}`
        : message;
    return new Error(
      `${label} was killed for memory: the function has ${memoryMb} MB and used ${memory.maxUsedMb.toFixed(0)} MB (cgroup peak, ${memory.oomKills} OOM kill${memory.oomKills === 1 ? "" : "s"}); Lambda would answer Runtime.OutOfMemory — raise --memory-mb (at most 10240) or lower --width/--height (the emulator answered ${answer})`,
      { cause: error },
    );
  }
  return failed(error, label);
}

function failed(error: unknown, label: string): Error {
  return new Error(`${label} failed: ${error instanceof Error ? error.message : String(error)}`, {
    cause: error,
  });
}

/** Statistics over the warm runs (the cold one when there are none) and the reproducibility verdict. */
function judge(runs: readonly Run[], steps: number): Pick<BenchResult, "warm" | "identical"> {
  const warm = runs.length > 1 ? runs.slice(1) : runs;
  const stageNames = Object.keys(warm[0]?.stagesMs ?? {});
  return {
    warm: {
      totalMs: summarize(warm.map((r) => r.totalMs)),
      unetPerStepMs: summarize(warm.map((r) => (r.stagesMs.unet ?? 0) / steps)),
      stagesMs: Object.fromEntries(
        stageNames.map((name) => [name, summarize(warm.map((r) => r.stagesMs[name] ?? 0))]),
      ),
    },
    identical: runs.every((r) => r.sha256 === runs[0]?.sha256),
  };
}

function describeRun(i: number, warmRuns: number, run: Run): string {
  const report = run.reportDurationMs === undefined ? "" : `, REPORT ${run.reportDurationMs.toFixed(0)} ms`;
  return `  ${i > 0 ? `warm ${i}/${warmRuns}` : run.cold ? "cold" : "first (warm)"}: ${run.totalMs.toFixed(0)} ms (unet ${(run.stagesMs.unet ?? Number.NaN).toFixed(0)} ms${report})`;
}

function sha256(bytes: Buffer): string {
  return createHash("sha256").update(bytes).digest("hex");
}
