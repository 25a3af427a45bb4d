/**
 * A/B of one session setting on one model part, interleaved in one process so both sides see the same
 * machine load: the baseline (the engine's settings) and the variant are opened side by side, then run
 * alternately (A, B, A, B …) on the same inputs; medians, the load average and both creation times are
 * printed as JSON. Also: `--variant preoptimized` saves the optimised graph to /tmp from A and opens it
 * with optimisation off as B, to see whether that shortens a cold start; `--variant fixed` opens as B a copy
 * in /tmp whose inputs have the request's static shapes (the weights file is linked, not copied);
 * `--variant other --other DIR` opens as B the same part of another folder (e.g. an int8-quantized copy) and
 * also prints the largest difference between A's and B's outputs. `--graph saved` opens, on both sides, the
 * graph `sd-lambda models optimize` saved for this host with the function's settings for it, and adds the
 * variant's setting on B (`prepacking`, `spin-off`, `arena`); with `--variant other`, B is the other folder's
 * saved graph, opened the same way (e.g. a UNet rewritten by fuse_attention.py against the previous one).
 * `--unet-runs N`: the UNet's saved graph as for a model whose default request runs it N times (packed if > 1).
 *
 *   node harness/bench/ab-session.ts --model DIR --part unet|vae_decoder|text_encoder [--size 512] [--batch 2]
 *        [--pairs 3] [--threads N] [--graph export|saved] [--unet-runs 1]
 *        --variant arena|spin-off|prepacking|extended|basic|preoptimized|fixed|other [--other DIR]
 */
import { link, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { findOptimizedGraph, hostGraphKey, savedGraphTuning } from "../../runtime/engine/optimized-graph.ts";
import { OnnxSession, type SessionTuning, type Tensor } from "../../runtime/engine/ort.ts";
import { axisValues, inputShapes } from "./model-work.ts";
import { readGraph, withStaticInputs } from "./onnx-proto.ts";

const VARIANTS: Record<string, SessionTuning> = {
  arena: { memArena: true },
  "spin-off": { spinning: false },
  prepacking: { prepacking: true },
  extended: { optimizationLevel: "extended" },
  basic: { optimizationLevel: "basic" },
};

export function feedsFor(
  session: OnnxSession,
  axes: Readonly<Record<string, number>>,
): Record<string, Tensor> {
  const feeds: Record<string, Tensor> = {};
  for (const input of session.inputs) {
    const dims = input.shape.map((d) => (typeof d === "number" ? d : (axes[d] ?? 1)));
    const n = dims.reduce((a, b) => a * b, 1);
    if (input.type === "int64")
      feeds[input.name] = { type: "int64", data: new BigInt64Array(n).fill(7n), dims };
    else if (input.type === "int32")
      feeds[input.name] = { type: "int32", data: new Int32Array(n).fill(7), dims };
    else {
      const data = new Float32Array(n).map((_, i) => (((i * 7919) % 997) / 997 - 0.5) * 2);
      if (input.name === "timestep") data.fill(500);
      feeds[input.name] = { type: "float32", data, dims };
    }
  }
  return feeds;
}

/**
 * The file a part is opened from and its settings, as the function opens it: `saved`, the graph
 * `sd-lambda models optimize` saved for this host (an error says how to make it); `export`, the exported
 * graph with the engine's defaults.
 */
export async function partToOpen(
  model: string,
  part: string,
  graph: "export" | "saved",
  unetRuns = 1,
): Promise<{ path: string; tuning: SessionTuning }> {
  const exported = join(model, part, "model.onnx");
  if (graph === "export") return { path: exported, tuning: {} };
  const saved = await savedGraphToOpen(exported, unetRuns);
  if ("why" in saved) throw new Error(`${saved.why} — run: npx sd-lambda models optimize ${model}`);
  return saved;
}

/**
 * The graph `sd-lambda models optimize` saved for this host beside the export `exported`, with the function's
 * settings for it (a UNet its model's default request runs `unetRuns` times); or why there is no current one.
 */
export async function savedGraphToOpen(
  exported: string,
  unetRuns = 1,
): Promise<{ path: string; tuning: SessionTuning } | { why: string }> {
  const found = await findOptimizedGraph(exported, await hostGraphKey());
  if (found.state !== "current") return { why: `${found.path} is ${found.state}` };
  return { path: found.path, tuning: savedGraphTuning(exported, unetRuns) };
}

async function timed<T>(f: () => Promise<T>): Promise<[T, number]> {
  const t = performance.now();
  const v = await f();
  return [v, performance.now() - t];
}

/**
 * A copy of the model in /tmp with static input shapes; the other files of its folder are hard-linked
 * (onnxruntime refuses external data that resolves outside the model's folder, so a symlink will not do;
 * across file systems, as EFS → /tmp on Lambda, the weights would have to be copied).
 */
export async function staticCopy(path: string, axes: Readonly<Record<string, number>>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "sd-lambda-static-"));
  const bytes = await readFile(path);
  const shapes = inputShapes(readGraph(bytes).inputs, axes, path);
  await writeFile(join(dir, "model.onnx"), withStaticInputs(bytes, shapes));
  // files only: a folder holds `optimized/` once `sd-lambda models optimize` ran, and folders cannot be linked
  for (const f of await readdir(dirname(path), { withFileTypes: true }))
    if (f.isFile() && f.name !== "model.onnx") await link(resolve(dirname(path), f.name), join(dir, f.name));
  return join(dir, "model.onnx");
}

function maxAbsDiff(a: Record<string, Tensor>, b: Record<string, Tensor>): { diff: number; scale: number } {
  const name = Object.keys(a)[0] as string;
  const x = a[name]?.data as Float32Array;
  const y = b[name]?.data as Float32Array;
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < x.length; i++) {
    diff = Math.max(diff, Math.abs((x[i] as number) - (y[i] as number)));
    scale = Math.max(scale, Math.abs(x[i] as number));
  }
  return { diff, scale };
}

const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor((v.length - 1) / 2)] as number;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      model: { type: "string" },
      part: { type: "string", default: "unet" },
      size: { type: "string", default: "512" },
      batch: { type: "string", default: "2" },
      pairs: { type: "string", default: "3" },
      threads: { type: "string", default: String(availableParallelism()) },
      variant: { type: "string" },
      other: { type: "string" },
      graph: { type: "string", default: "export" },
      "unet-runs": { type: "string", default: "1" },
    },
  });
  const variant = values.variant ?? "";
  const special = ["preoptimized", "fixed", "other"];
  const graph = values.graph as "export" | "saved";
  if (
    !values.model ||
    !(variant in VARIANTS || special.includes(variant)) ||
    (variant === "other") !== !!values.other ||
    !["export", "saved"].includes(graph) ||
    (graph === "saved" && (variant === "preoptimized" || variant === "fixed"))
  )
    throw new Error(
      `usage: --model DIR [--graph export|saved] --variant ${[...Object.keys(VARIANTS), ...special].join("|")} (other: with --other DIR; saved: not with preoptimized, fixed)`,
    );
  const threads = Number(values.threads);
  const size = Number(values.size);
  // A's settings: the engine's defaults for the export, the function's for a saved graph
  const unetRuns = Number(values["unet-runs"]);
  const { path, tuning: baseline } = await partToOpen(values.model, values.part as string, graph, unetRuns);
  const axes = axisValues(
    { width: size, height: size, batch: Number(values.batch), unetEvaluations: 1 },
    8,
    77,
  );
  const fixed = variant === "fixed" ? await staticCopy(path, axes) : undefined;
  const load = [loadavg()[0] as number];
  const preoptimized = join(tmpdir(), "sd-lambda-ab.onnx");
  if (variant === "preoptimized") {
    // first load: optimise and save (what a cold start would do once), then release
    const [saver, saveMs] = await timed(() =>
      OnnxSession.open(path, { threads, tuning: { optimizedModelFilePath: preoptimized } }),
    );
    await saver.release();
    process.stderr.write(`created and saved the optimised graph in ${Math.round(saveMs)} ms\n`);
  }
  const [a, createA] = await timed(() => OnnxSession.open(path, { threads, tuning: baseline }));
  const [b, createB] = await timed(() =>
    variant === "preoptimized"
      ? OnnxSession.open(preoptimized, { threads, tuning: { optimizationLevel: "disabled" } })
      : values.other
        ? partToOpen(values.other, values.part as string, graph, unetRuns).then((o) =>
            OnnxSession.open(o.path, { threads, tuning: o.tuning }),
          )
        : OnnxSession.open(fixed ?? path, { threads, tuning: { ...baseline, ...VARIANTS[variant] } }),
  );
  const feeds = feedsFor(a, axes);
  const runsA: number[] = [];
  const runsB: number[] = [];
  // warm-up both (first-run allocations), then alternate
  const outA = await a.run(feeds);
  const outB = await b.run(feeds);
  for (let i = 0; i < Number(values.pairs); i++) {
    runsA.push((await timed(() => a.run(feeds)))[1]);
    runsB.push((await timed(() => b.run(feeds)))[1]);
    load.push(loadavg()[0] as number);
  }
  await a.release();
  await b.release();
  if (fixed) await rm(dirname(fixed), { recursive: true, force: true });
  if (variant === "preoptimized")
    await Promise.all([preoptimized, `${preoptimized}.data`].map((f) => rm(f, { force: true })));
  const result = {
    part: values.part,
    size,
    batch: Number(values.batch),
    threads,
    graph: values.graph,
    variant,
    createMs: { a: Math.round(createA), b: Math.round(createB) },
    runMs: { a: runsA.map(Math.round), b: runsB.map(Math.round) },
    medianMs: { a: Math.round(median(runsA)), b: Math.round(median(runsB)) },
    /** >1: the variant is faster. */
    speedup: median(runsA) / median(runsB),
    /** The largest |A − B| over the first output, and A's largest |value| for scale. */
    maxAbsDiff: maxAbsDiff(outA, outB),
    peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
    loadAverage: load.map((l) => Math.round(l * 10) / 10),
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

if (import.meta.main) await main();
