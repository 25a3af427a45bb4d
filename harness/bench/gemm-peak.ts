/**
 * This machine's fp32 GEMM rate through the same library and threads the engine uses: an n×n×n MatMul
 * model built in memory, run through onnxruntime-node (runtime/engine/ort.ts) a few times after a warm-up.
 * The best run is the peak (the least disturbed by the other processes on a shared machine).
 */
import { rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { OnnxSession } from "../../runtime/engine/ort.ts";
import { buildModel, DataType } from "./onnx-proto.ts";

export interface GemmPeak {
  readonly n: number;
  readonly threads: number;
  readonly runs: number;
  /** 2n³ / the fastest run. */
  readonly peakGflops: number;
  readonly medianGflops: number;
}

export function matmulModel(n: number): Uint8Array {
  const v = (name: string) => ({ name, elemType: DataType.FLOAT, shape: [n, n] });
  return buildModel({
    nodes: [{ opType: "MatMul", inputs: ["a", "b"], outputs: ["c"] }],
    inputs: [v("a"), v("b")],
    outputs: [v("c")],
  });
}

export async function measureGemmPeak(options: {
  n?: number;
  threads: number;
  runs?: number;
}): Promise<GemmPeak> {
  const n = options.n ?? 2048;
  const runs = options.runs ?? 5;
  const file = join(tmpdir(), `sd-lambda-matmul-${n}-${process.pid}.onnx`);
  await writeFile(file, matmulModel(n));
  const session = await OnnxSession.open(file, { threads: options.threads });
  try {
    const data = new Float32Array(n * n).map((_, i) => ((i * 7919) % 1000) / 1000 - 0.5);
    const feeds = {
      a: { type: "float32", data, dims: [n, n] },
      b: { type: "float32", data, dims: [n, n] },
    } as const;
    await session.run(feeds); // warm-up: thread pool start, packing buffers
    const seconds: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t = performance.now();
      await session.run(feeds);
      seconds.push((performance.now() - t) / 1000);
    }
    seconds.sort((a, b) => a - b);
    const gflops = (s: number) => (2 * n ** 3) / s / 1e9;
    return {
      n,
      threads: options.threads,
      runs,
      peakGflops: gflops(seconds[0] as number),
      medianGflops: gflops(seconds[Math.floor(runs / 2)] as number),
    };
  } finally {
    await session.release();
    await rm(file, { force: true });
  }
}
