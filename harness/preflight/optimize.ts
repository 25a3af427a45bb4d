/**
 * Saves, part by part, the graphs optimised for this machine that the function opens instead of
 * re-optimising at every cold start (runtime/engine/optimized-graph.ts), then loads the folder as the
 * function does, so the report says which parts it really opens from them.
 */
import { access } from "node:fs/promises";
import { join } from "node:path";
import { loadModel, type Model, releaseModel, SESSION_FILES } from "../../runtime/engine/model.ts";
import {
  findOptimizedGraph,
  hostGraphKey,
  saveOptimizedGraph,
} from "../../runtime/engine/optimized-graph.ts";

export interface PartReport {
  readonly file: string;
  /** "saved" now, or "current": an up-to-date graph was already there. */
  readonly action: "saved" | "current";
  readonly path: string;
  readonly ms?: number;
  readonly bytes?: number;
}

export interface OptimizeReport {
  readonly key: string;
  readonly parts: readonly PartReport[];
  readonly model: Pick<Model, "optimizedParts" | "notes">;
  /** The function's load of the folder afterwards. */
  readonly loadMs: number;
}

export async function optimizeModel(
  dir: string,
  threads: number,
  say: (line: string) => void,
): Promise<OptimizeReport> {
  const key = await hostGraphKey();
  const parts: PartReport[] = [];
  for (const file of SESSION_FILES) {
    const modelFile = join(dir, file);
    if (
      !(await access(modelFile).then(
        () => true,
        () => false,
      ))
    )
      continue;
    const found = await findOptimizedGraph(modelFile, key);
    if (found.state === "current") {
      parts.push({ file, action: "current", path: found.path });
      continue;
    }
    say(
      `${file}: optimising for ${key}${found.state === "stale" ? ` (replacing a stale graph: ${found.why})` : ""}…`,
    );
    const saved = await saveOptimizedGraph(modelFile, key, threads);
    say(`${file}: saved ${(saved.bytes / 1e6).toFixed(1)} MB in ${Math.round(saved.ms)} ms`);
    parts.push({ file, action: "saved", path: saved.path, ms: saved.ms, bytes: saved.bytes });
  }
  const started = performance.now();
  const model = await loadModel(dir, { threads });
  const loadMs = performance.now() - started;
  await releaseModel(model);
  return { key, parts, model: { optimizedParts: model.optimizedParts, notes: model.notes }, loadMs };
}
