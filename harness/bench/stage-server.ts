/**
 * One model part in our engine's session (runtime/engine/ort.ts, the engine's settings), driven over
 * stdin so a peer benchmark (fixtures/generate/peer_stages.py) can interleave its runs with ours:
 * every "run" line runs the part once on fixed inputs and answers {"ms": …}; "quit" releases it.
 * The first line out is {"ready": true, "createMs": …, "onnxruntime": …}.
 *
 * The part opens as the function opens it: from the graph `sd-lambda models optimize` saved for this host
 * when there is a current one (with the function's settings for it, named in the ready line's `graph` and
 * `tuning`; `--unet-runs`: how many times the model's default request runs the UNet, which decides its
 * prepacking), else from the export. The ready line also carries the part's FLOPs for these inputs, counted
 * on the export (flops.ts). With --gemm-peak it only
 * measures the fp32 GEMM peak (gemm-peak.ts) and prints it.
 *
 *   node harness/bench/stage-server.ts --file PATH/model.onnx --size 512 --batch 2 [--threads N] [--unet-runs 1]
 *   node harness/bench/stage-server.ts --gemm-peak [--threads N]
 */
import { readFile } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { OnnxSession, ortVersion } from "../../runtime/engine/ort.ts";
import { feedsFor, savedGraphToOpen } from "./ab-session.ts";
import { countWork } from "./flops.ts";
import { measureGemmPeak } from "./gemm-peak.ts";
import { axisValues, inputShapes } from "./model-work.ts";
import { readGraph } from "./onnx-proto.ts";

const { values } = parseArgs({
  options: {
    file: { type: "string" },
    size: { type: "string", default: "512" },
    batch: { type: "string", default: "1" },
    threads: { type: "string", default: String(availableParallelism()) },
    "unet-runs": { type: "string", default: "1" },
    "gemm-peak": { type: "boolean", default: false },
  },
});
const say = (o: object) => process.stdout.write(`${JSON.stringify(o)}\n`);
if (values["gemm-peak"]) {
  say(await measureGemmPeak({ threads: Number(values.threads), runs: 7 }));
  process.exit(0);
}
if (!values.file)
  throw new Error("usage: --file MODEL.onnx [--size 512] [--batch 1] [--threads N] [--unet-runs 1]");
const saved = await savedGraphToOpen(values.file, Number(values["unet-runs"]));
const { path: graph, tuning } = "why" in saved ? { path: values.file, tuning: {} } : saved;
const t = performance.now();
const session = await OnnxSession.open(graph, { threads: Number(values.threads), tuning });
const createMs = performance.now() - t;
const size = Number(values.size);
const axes = axisValues(
  { width: size, height: size, batch: Number(values.batch), unetEvaluations: 1 },
  8,
  77,
);
const feeds = feedsFor(session, axes);
const exported = readGraph(await readFile(values.file));
const flops = countWork(exported, inputShapes(exported.inputs, axes, values.file)).flops;
say({ ready: true, createMs, onnxruntime: await ortVersion(), flops, graph, tuning });
for await (const line of createInterface({ input: process.stdin })) {
  if (line.trim() === "quit") break;
  const start = performance.now();
  await session.run(feeds);
  say({ ms: performance.now() - start, maxRssMb: process.resourceUsage().maxRSS / 1024 });
}
await session.release();
process.exit(0); // stdin stays open in the readline interface
