/**
 * How well a bench used the machine and what it would cost: the generation's FLOPs counted from the
 * model's graphs, the UNet's achieved GFLOP/s against this machine's fp32 GEMM peak measured in the
 * same run (the Lambda price of an image is cost.ts's).
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { createScheduler } from "../../runtime/engine/schedulers/index.ts";
import type { SchedulerConfig, SchedulerName } from "../../runtime/engine/schedulers/types.ts";
import { type GemmPeak, measureGemmPeak } from "./gemm-peak.ts";
import type { BenchResult } from "./measure.ts";
import { modelWork, type Work } from "./model-work.ts";

export interface Efficiency {
  /** FLOPs of one image (txt2img: text encoder, UNet × evaluations, VAE decoder). */
  readonly work: Work;
  /** UNet FLOPs of the warm median UNet stage time. */
  readonly unetGflops: number;
  /** All counted FLOPs over the warm median total. */
  readonly imageGflops: number;
  readonly gemm: GemmPeak;
  /** unetGflops / gemm.peakGflops. */
  readonly unetFractionOfPeak: number;
}

/** The UNet calls of a txt2img generation: the scheduler's timesteps (PNDM runs one more than steps). */
export async function unetEvaluations(modelDir: string, scheduler: string, steps: number): Promise<number> {
  const config = JSON.parse(
    await readFile(join(modelDir, "scheduler/scheduler_config.json"), "utf8"),
  ) as SchedulerConfig;
  return createScheduler(scheduler as SchedulerName, config, steps).timesteps.length;
}

/** Pure: the relations between the measured times, the counted work, the peak and the prices. */
export function judgeEfficiency(
  work: Work,
  times: { unetMs: number; totalMs: number },
  gemm: GemmPeak,
): Efficiency {
  const unetGflops = (work.unetPerEvaluation * work.unetEvaluations) / (times.unetMs / 1000) / 1e9;
  return {
    work,
    unetGflops,
    imageGflops: work.total / (times.totalMs / 1000) / 1e9,
    gemm,
    unetFractionOfPeak: unetGflops / gemm.peakGflops,
  };
}

export async function measureEfficiency(
  result: BenchResult,
  options: { modelDir: string; threads: number; cacheFile: string; gemmN?: number },
): Promise<Efficiency> {
  const q = result.request;
  const work = await modelWork(
    options.modelDir,
    {
      width: q.width,
      height: q.height,
      batch: q.guidance > 1 ? 2 : 1,
      unetEvaluations: await unetEvaluations(options.modelDir, q.scheduler, q.steps),
    },
    options.cacheFile,
  );
  const gemm = await measureGemmPeak({ threads: options.threads, n: options.gemmN });
  return judgeEfficiency(
    work,
    { unetMs: result.warm.stagesMs.unet?.median ?? Number.NaN, totalMs: result.warm.totalMs.median },
    gemm,
  );
}

/** The duration Lambda bills per image: the warm REPORT Durations' median, else the warm totals'. */
export function billedMs(result: BenchResult): number {
  const warm = result.runs.length > 1 ? result.runs.slice(1) : result.runs;
  const reported = warm.map((r) => r.reportDurationMs).filter((d): d is number => d !== undefined);
  return reported.length === warm.length ? median(reported) : result.warm.totalMs.median;
}

function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)] as number;
}

/** The efficiency in words, for bench's text output. */
export function formatEfficiency(e: Efficiency): string {
  const g = (flops: number) => `${(flops / 1e9).toFixed(flops < 1e10 ? 3 : 1)} GFLOP`;
  const w = e.work;
  return [
    `  work            ${g(w.total)} per image: text encoder ${g(w.textEncoder)}, UNet ${w.unetEvaluations} × ${g(w.unetPerEvaluation)}, VAE decoder ${g(w.vaeDecoder)} (Conv/MatMul/Gemm, 2 FLOPs per MAC)`,
    `  achieved        UNet ${e.unetGflops.toFixed(1)} GFLOP/s = ${(100 * e.unetFractionOfPeak).toFixed(0)} % of the fp32 GEMM peak; whole image ${e.imageGflops.toFixed(1)} GFLOP/s`,
    `  GEMM peak       ${e.gemm.peakGflops.toFixed(1)} GFLOP/s (median ${e.gemm.medianGflops.toFixed(1)}): onnxruntime MatMul ${e.gemm.n}³, ${e.gemm.threads} threads, best of ${e.gemm.runs}`,
  ].join("\n");
}
