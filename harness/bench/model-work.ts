/**
 * The FLOPs of one generation, per model part, counted from the model folder's ONNX graphs for the
 * request's size (flops.ts) and cached in .cache/flops.json, keyed by each file's path, size and mtime
 * and the input shapes: parsing a UNet graph takes a second, and bench runs repeat sizes.
 */
import { mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { countWork, type GraphWork } from "./flops.ts";
import { type OnnxValueInfo, readGraph } from "./onnx-proto.ts";

export interface Work {
  /** FLOPs (2 × MACs of Conv/ConvTranspose/MatMul/Gemm). */
  readonly textEncoder: number;
  readonly unetPerEvaluation: number;
  readonly unetEvaluations: number;
  readonly vaeDecoder: number;
  readonly total: number;
}

export interface WorkRequest {
  readonly width: number;
  readonly height: number;
  /** 2 with classifier-free guidance, else 1. */
  readonly batch: number;
  readonly unetEvaluations: number;
}

/** The value of each dynamic axis, by the names optimum's exporter gives them. */
export function axisValues(r: WorkRequest, vaeScale: number, sequence: number): Record<string, number> {
  const h = r.height / vaeScale;
  const w = r.width / vaeScale;
  return {
    batch_size: r.batch,
    sequence_length: sequence,
    height: h,
    width: w,
    latent_height: h,
    latent_width: w,
    sample_height: r.height,
    sample_width: r.width,
  };
}

/** Concrete shapes for a graph's inputs: every symbolic axis must be one of `axes`. */
export function inputShapes(
  inputs: readonly OnnxValueInfo[],
  axes: Readonly<Record<string, number>>,
  path: string,
): Record<string, number[]> {
  return Object.fromEntries(
    inputs.map((input) => [
      input.name,
      input.shape.map((d) => {
        if (typeof d === "number") return d;
        const v = axes[d];
        if (v === undefined)
          throw new Error(
            `${path}: input ${input.name} has an axis named "${d}"; the FLOP counter knows ${Object.keys(axes).join(", ")}`,
          );
        return v;
      }),
    ]),
  );
}

type Cache = Record<string, GraphWork>;

async function graphWork(
  file: string,
  axes: Readonly<Record<string, number>>,
  batchOverride: number,
  cache: Cache,
): Promise<{ work: GraphWork; fresh: boolean }> {
  const s = await stat(file);
  const key = `${resolve(file)}|${s.size}|${Math.round(s.mtimeMs)}|${JSON.stringify({ ...axes, batch_size: batchOverride })}`;
  const hit = cache[key];
  if (hit) return { work: hit, fresh: false };
  const graph = readGraph(await readFile(file));
  const work = countWork(graph, inputShapes(graph.inputs, { ...axes, batch_size: batchOverride }, file));
  if (work.uncounted > 0)
    throw new Error(
      `${file}: ${work.uncounted} Conv/MatMul/Gemm nodes have inputs of unknown shape after ops the counter does not model (${work.unknownOps.join(", ")}); teach harness/bench/flops.ts those ops`,
    );
  cache[key] = work;
  return { work, fresh: true };
}

/** Counts (or reads from `cacheFile`) the work of one txt2img generation with `modelDir`. */
export async function modelWork(modelDir: string, request: WorkRequest, cacheFile: string): Promise<Work> {
  const cache: Cache = await readFile(cacheFile, "utf8").then(
    (t) => JSON.parse(t) as Cache,
    () => ({}),
  );
  const vaeConfig = await readFile(join(modelDir, "vae_decoder/config.json"), "utf8").then(
    (t) => JSON.parse(t) as { block_out_channels?: unknown[] },
    () => ({}) as { block_out_channels?: unknown[] },
  );
  const vaeScale = 2 ** ((vaeConfig.block_out_channels?.length ?? 4) - 1);
  const tokenizer = await readFile(join(modelDir, "tokenizer/tokenizer_config.json"), "utf8").then(
    (t) => JSON.parse(t) as { model_max_length?: number },
    () => ({}) as { model_max_length?: number },
  );
  const sequence = Math.min(tokenizer.model_max_length ?? 77, 77);
  const axes = axisValues(request, vaeScale, sequence);
  const part = (name: string, batch: number) =>
    graphWork(join(modelDir, name, "model.onnx"), axes, batch, cache);
  const text = await part("text_encoder", request.batch);
  const unet = await part("unet", request.batch);
  const vae = await part("vae_decoder", 1);
  if (text.fresh || unet.fresh || vae.fresh) {
    await mkdir(dirname(cacheFile), { recursive: true });
    await writeFile(cacheFile, `${JSON.stringify(cache, null, 1)}\n`);
  }
  const unetPerEvaluation = unet.work.flops;
  return {
    textEncoder: text.work.flops,
    unetPerEvaluation,
    unetEvaluations: request.unetEvaluations,
    vaeDecoder: vae.work.flops,
    total: text.work.flops + unetPerEvaluation * request.unetEvaluations + vae.work.flops,
  };
}
