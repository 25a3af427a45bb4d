/**
 * Pre-optimised graphs, the cold-start lever. Opening an exported model, onnxruntime spends most of its
 * time copying weights, not reading them: its graph transformers copy every Conv weight into the NCHWc
 * layout and prepacking copies the MatMul weights (perf: page faults, memmove, clear_page). A graph saved
 * after optimisation and opened with optimisation off maps its weights straight from the file instead —
 * SD-Turbo's UNet opens in ~1 s instead of ~11 s (docs/decisions/session-tuning.md).
 *
 * The saved graph holds NCHWc blocks of this CPU's vector width and the contrib ops of this onnxruntime
 * version, so it is kept per host kind: `<part>/optimized/<key>/model.onnx` (+ `model.onnx.data`), with
 * `source.json`, the fingerprint of the part's files it was made from — a replaced model is never served
 * from a stale graph.
 */
import { createHash } from "node:crypto";
import { constants } from "node:fs";
import { access, mkdir, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { arch } from "node:os";
import { basename, dirname, join } from "node:path";
import { OnnxSession, ortVersion, type SessionTuning } from "./ort.ts";

export const OPTIMIZED_DIR = "optimized";
const GRAPH = "model.onnx";
const SOURCE = "source.json";

/** How a saved graph is opened: already optimised; prepacking off, so the weights stay mapped (not copied). */
const SAVED_GRAPH_TUNING: SessionTuning = { optimizationLevel: "disabled", prepacking: false };

/**
 * The session settings for the saved graph of `modelFile` (an export's `<part>/model.onnx`). The UNet's,
 * the part that runs at every step, trade load time and memory for speed:
 * - the CPU arena on: with the weights mapped rather than allocated, the arena holds only the UNet's
 *   activations, which it reuses instead of faulting in fresh pages at every allocation (SD-Turbo's first
 *   UNet run 1.9 s faster, SD 1.5's fused UNet step 1.05×);
 * - prepacking on when the model's default request runs the UNet more than once (`unetRuns`): its MatMul
 *   weights are then packed once at load instead of at every call — 1.00–1.06× per step for ~1.6–2 s more
 *   load and ~1 GB kept, which a one-step model (SD-Turbo) would pay at every cold start for ~0.1 s per image.
 * The VAE decoder keeps the arena off (it would hold ~1.8 GB at 512² between images for ~2 % per decode)
 * and every other part keeps its weights mapped. Measurements: docs/decisions/session-tuning.md.
 */
export function savedGraphTuning(modelFile: string, unetRuns = 1): SessionTuning {
  if (basename(dirname(modelFile)) !== "unet") return SAVED_GRAPH_TUNING;
  return { ...SAVED_GRAPH_TUNING, memArena: true, ...(unetRuns > 1 ? { prepacking: true } : {}) };
}

/**
 * CPU flags onnxruntime's kernels (MLAS) dispatch on. Two hosts with the same set run the same saved
 * graph; any difference gets its own key (Lambda's x86 fleet mixes CPU generations).
 */
const KERNEL_FLAGS = [
  "sse4_1",
  "avx",
  "avx2",
  "fma",
  "f16c",
  "avx512f",
  "avx512bw",
  "avx512dq",
  "avx512vl",
  "avx512_vnni",
  "avx512_bf16",
  "avx512_fp16",
  "avx_vnni",
  "amx_tile",
  "amx_bf16",
  "amx_int8",
  "asimd",
  "asimddp",
  "asimdhp",
  "sve",
  "sve2",
  "i8mm",
  "bf16",
];

/**
 * `ort1.30.0-x64-avx2-1f2e3d4c`: the onnxruntime version, the architecture, a readable vector tier and a
 * hash of the kernel flags present (from /proc/cpuinfo's `flags` or, on arm64, `Features`).
 */
export function graphKey(ortVersionText: string, cpuArch: string, cpuinfo: string): string {
  const line = /^(?:flags|Features)\s*:(.*)$/m.exec(cpuinfo)?.[1] ?? "";
  const present = new Set(line.trim().split(/\s+/));
  const flags = KERNEL_FLAGS.filter((f) => present.has(f));
  const tier = present.has("avx512f")
    ? "avx512"
    : present.has("avx2")
      ? "avx2"
      : present.has("sve")
        ? "sve"
        : present.has("asimd")
          ? "neon"
          : "base";
  const hash = createHash("sha256").update(flags.join(" ")).digest("hex").slice(0, 8);
  return `ort${ortVersionText}-${cpuArch}-${tier}-${hash}`;
}

/** This host's key. */
export async function hostGraphKey(): Promise<string> {
  const cpuinfo = await readFile("/proc/cpuinfo", "utf8").catch(() => "");
  return graphKey(await ortVersion(), arch(), cpuinfo);
}

/** Where the saved graph of `modelFile` (e.g. `<model>/unet/model.onnx`) for `key` lives. */
export function optimizedGraphPath(modelFile: string, key: string): string {
  return join(dirname(modelFile), OPTIMIZED_DIR, key, GRAPH);
}

/** Names, sizes and modification times of the files beside `modelFile` (the graph and its weights). */
async function fingerprint(modelFile: string): Promise<string[]> {
  const dir = dirname(modelFile);
  const entries = await readdir(dir, { withFileTypes: true });
  const files = entries
    .filter((e) => e.isFile())
    .map((e) => e.name)
    .sort();
  return Promise.all(
    files.map(async (name) => {
      const s = await stat(join(dir, name));
      return `${name} ${s.size} ${Math.round(s.mtimeMs)}`;
    }),
  );
}

export type SavedGraph =
  | { readonly state: "current"; readonly path: string }
  | { readonly state: "missing"; readonly path: string }
  | { readonly state: "stale"; readonly path: string; readonly why: string };

/** Whether a saved graph for `key` exists and was made from the files now beside `modelFile`. */
export async function findOptimizedGraph(modelFile: string, key: string): Promise<SavedGraph> {
  const path = optimizedGraphPath(modelFile, key);
  let recorded: unknown;
  try {
    recorded = JSON.parse(await readFile(join(dirname(path), SOURCE), "utf8"));
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    return code === "ENOENT" || code === "ENOTDIR"
      ? { state: "missing", path }
      : { state: "stale", path, why: String(cause) };
  }
  const now = await fingerprint(modelFile);
  const then = (recorded as { files?: unknown }).files;
  if (JSON.stringify(then) !== JSON.stringify(now))
    return {
      state: "stale",
      path,
      why: `made from other files than those now in ${dirname(modelFile)} (${JSON.stringify(then)} vs ${JSON.stringify(now)})`,
    };
  return { state: "current", path };
}

export interface SaveResult {
  readonly path: string;
  readonly ms: number;
  readonly bytes: number;
}

/**
 * Optimises `modelFile` for this host and saves it under `optimized/<key>/`. Written to a temporary folder
 * and renamed into place, so a concurrent reader (another function instance on the same EFS) sees the whole
 * graph or none; if another writer finished first, its graph is kept.
 */
export async function saveOptimizedGraph(
  modelFile: string,
  key: string,
  threads: number,
): Promise<SaveResult> {
  const started = performance.now();
  const target = dirname(optimizedGraphPath(modelFile, key));
  const scratch = `${target}.partial-${process.pid}-${Date.now()}`;
  // first, so a read-only mount says EROFS (mkdir -p there reports ENOENT for the missing folder)
  await access(dirname(modelFile), constants.W_OK);
  await mkdir(scratch, { recursive: true });
  try {
    const files = await fingerprint(modelFile);
    const session = await OnnxSession.open(modelFile, {
      threads,
      tuning: { optimizedModelFilePath: join(scratch, GRAPH) },
    });
    await session.release();
    await writeFile(
      join(scratch, SOURCE),
      `${JSON.stringify({ from: basename(modelFile), files }, null, 2)}\n`,
    );
    await rm(target, { recursive: true, force: true }); // a stale graph: its source changed
    await rename(scratch, target).catch(async (cause: NodeJS.ErrnoException) => {
      if (cause.code !== "ENOTEMPTY" && cause.code !== "EEXIST") throw cause;
      await rm(scratch, { recursive: true, force: true }); // another instance saved it meanwhile
    });
  } catch (error) {
    await rm(scratch, { recursive: true, force: true });
    throw error;
  }
  let bytes = 0;
  for (const name of await readdir(target)) bytes += (await stat(join(target, name))).size;
  return { path: join(target, GRAPH), ms: performance.now() - started, bytes };
}
