/**
 * One model part opened the way a cold start opens it, alone in this process (so its memory is its own):
 * the session's creation time, the resident memory right after it, and the first runs. `--graph saved`
 * opens the graph `sd-lambda models optimize` saved for this host, with the function's settings for it
 * (optimisation and prepacking off, the UNet's arena on: a one-step model's; add `--prepacking on` for the UNet of
 * a model whose default request runs it more than once); `--graph export` the exported graph with the engine's defaults;
 * `--prepacking on|off` sets prepacking for either, `--arena on` turns onnxruntime's CPU memory arena on
 * (it then keeps the peak activations: `anonAfterRunsMb`, memory that is not a mapped file), `--denormals zero` flushes
 * denormal floats to zero (onnxruntime applies it to the process's calling thread only for the first session
 * it creates, so it is measured here, alone, and not in ab-session.ts). Run each variant in its own process,
 * one after the other: it measures a load, so nothing else may run.
 *
 *   node harness/bench/open-part.ts --model DIR --part unet [--graph export|saved] [--prepacking on|off]
 *        [--arena on|off] [--denormals keep|zero] [--size 512] [--batch 1] [--runs 2] [--threads N]
 */
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { parseArgs } from "node:util";
import { OnnxSession } from "../../runtime/engine/ort.ts";
import { feedsFor, partToOpen } from "./ab-session.ts";
import { axisValues } from "./model-work.ts";

const { values } = parseArgs({
  options: {
    model: { type: "string" },
    part: { type: "string", default: "unet" },
    graph: { type: "string", default: "export" },
    prepacking: { type: "string" },
    arena: { type: "string" },
    denormals: { type: "string" },
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
  !["on", "off", undefined].includes(values.arena) ||
  !["keep", "zero", undefined].includes(values.denormals)
)
  throw new Error(
    "usage: --model DIR [--part unet] [--graph export|saved] [--prepacking on|off] [--arena on|off] [--denormals keep|zero] [--size 512] [--batch 1] [--runs 2]",
  );
const { path, tuning: opened } = await partToOpen(
  values.model,
  values.part,
  values.graph as "export" | "saved",
);
let tuning = opened;
if (values.prepacking) tuning = { ...tuning, prepacking: values.prepacking === "on" };
if (values.arena) tuning = { ...tuning, memArena: values.arena === "on" };
if (values.denormals) tuning = { ...tuning, denormalAsZero: values.denormals === "zero" };
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
