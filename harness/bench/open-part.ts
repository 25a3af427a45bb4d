/**
 * One model part opened the way a cold start opens it, alone in this process (so its memory is its own):
 * the session's creation time, the resident memory right after it, and the first runs. `--graph saved`
 * opens the graph `sd-lambda models optimize` saved for this host, with the function's settings for it
 * (optimisation and prepacking off; the UNet's arena on); `--graph export` the exported graph with the engine's defaults;
 * `--prepacking off` turns prepacking off for either, `--arena on` turns onnxruntime's CPU memory arena on
 * (it then keeps the peak activations: `anonAfterRunsMb`, memory that is not a mapped file). Run each variant in its own process, one after
 * the other: it measures a load, so nothing else may run.
 *
 *   node harness/bench/open-part.ts --model DIR --part unet [--graph export|saved] [--prepacking on|off]
 *        [--arena on|off] [--size 512] [--batch 1] [--runs 2] [--threads N]
 */
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { findOptimizedGraph, hostGraphKey, savedGraphTuning } from "../../runtime/engine/optimized-graph.ts";
import { OnnxSession, type SessionTuning } from "../../runtime/engine/ort.ts";
import { feedsFor } from "./ab-session.ts";
import { axisValues } from "./model-work.ts";

const { values } = parseArgs({
  options: {
    model: { type: "string" },
    part: { type: "string", default: "unet" },
    graph: { type: "string", default: "export" },
    prepacking: { type: "string" },
    arena: { type: "string" },
    size: { type: "string", default: "512" },
    batch: { type: "string", default: "1" },
    runs: { type: "string", default: "2" },
    threads: { type: "string", default: String(availableParallelism()) },
  },
});
if (
  !values.model ||
  !["export", "saved"].includes(values.graph) ||
  !["on", "off", undefined].includes(values.prepacking) ||
  !["on", "off", undefined].includes(values.arena)
)
  throw new Error(
    "usage: --model DIR [--part unet] [--graph export|saved] [--prepacking on|off] [--arena on|off] [--size 512] [--batch 1] [--runs 2]",
  );
const exported = join(values.model, values.part, "model.onnx");
let path = exported;
let tuning: SessionTuning = {};
if (values.graph === "saved") {
  const found = await findOptimizedGraph(exported, await hostGraphKey());
  if (found.state !== "current")
    throw new Error(`${found.path} is ${found.state} — run: npx sd-lambda models optimize ${values.model}`);
  path = found.path;
  tuning = savedGraphTuning(exported);
}
if (values.prepacking) tuning = { ...tuning, prepacking: values.prepacking === "on" };
if (values.arena) tuning = { ...tuning, memArena: values.arena === "on" };
const mb = () => Math.round(process.memoryUsage().rss / 2 ** 20);
/** Resident memory that is not a mapped file (the sessions' own allocations). */
const anonMb = () =>
  Math.round(Number(/RssAnon:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"))?.[1]) / 1024);
const started = performance.now();
const session = await OnnxSession.open(path, { threads: Number(values.threads), tuning });
const createMs = Math.round(performance.now() - started);
const rssAfterCreateMb = mb();
const size = Number(values.size);
const feeds = feedsFor(
  session,
  axisValues({ width: size, height: size, batch: Number(values.batch), unetEvaluations: 1 }, 8, 77),
);
const runsMs: number[] = [];
for (let i = 0; i < Number(values.runs); i++) {
  const t = performance.now();
  await session.run(feeds);
  runsMs.push(Math.round(performance.now() - t));
}
process.stdout.write(
  `${JSON.stringify({ path, tuning, createMs, rssAfterCreateMb, runsMs, rssAfterRunsMb: mb(), anonAfterRunsMb: anonMb(), peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024) })}\n`,
);
