/**
 * The golden gate: run every case on a target, judge it against its golden (compare.ts), update goldens
 * as the mode allows, list goldens no case uses, and write the reports (report.ts). The run's I/O lives
 * here; verdicts stay pure.
 */
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { caseRequest, type GoldenCase } from "./cases.ts";
import {
  type CompareOptions,
  checkStable,
  DEFAULT_COMPARE_OPTIONS,
  judge,
  type Outcome,
  type RgbaImage,
} from "./compare.ts";
import { type CaseResultFiles, renderHtml, renderJunit } from "./report.ts";
import {
  decodePng,
  ENGINE_FIELDS,
  encodePng,
  pixelmatchVersion,
  readGolden,
  removeGoldens,
  type Sidecar,
  sidecarFor,
  unusedGoldens,
  writeGolden,
} from "./store.ts";
import type { EngineInfo, RunResult, Target } from "./targets.ts";

export type UpdateMode = "none" | "missing" | "changed" | "all";
export const UPDATE_MODES: readonly UpdateMode[] = ["none", "missing", "changed", "all"];

export interface GateOptions {
  readonly cases: readonly GoldenCase[];
  /** Only these case names (all when undefined); goldens of the others are not "unused". */
  readonly only?: readonly string[];
  readonly target: Target;
  readonly goldenDir: string;
  readonly reportDir: string;
  readonly update: UpdateMode;
  /** Repository root, for cases' init_image and mask paths. */
  readonly root: string;
  readonly compare?: CompareOptions;
  readonly onProgress?: (done: number, total: number, name: string) => void;
}

export type Action = "kept" | "written" | "none";

export interface CaseResult {
  readonly name: string;
  readonly outcome: Outcome;
  /** `written`: the golden was (re)written by the update mode; `kept`: left as it was. */
  readonly action: Action;
  readonly ms: number;
  /** Report images, relative to the report folder. */
  readonly files: CaseResultFiles;
}

export interface GateResult {
  readonly target: EngineInfo;
  readonly update: UpdateMode;
  readonly compare: CompareOptions;
  readonly pixelmatchVersion: string;
  readonly cases: readonly CaseResult[];
  /** Golden files no case uses; removed when update is `all`. */
  readonly unused: readonly string[];
  readonly removed: readonly string[];
  readonly passed: boolean;
  readonly reports: { readonly html: string; readonly junit: string; readonly json: string };
}

/** A case fails the gate unless it matched, or the update mode wrote its golden. */
export function caseFailed(r: CaseResult): boolean {
  return r.outcome.kind !== "match" && r.action !== "written";
}

export async function runGate(options: GateOptions): Promise<GateResult> {
  const compare = options.compare ?? DEFAULT_COMPARE_OPTIONS;
  const pmVersion = await pixelmatchVersion();
  const engine = await options.target.engine();
  const selected = options.only ? options.cases.filter((c) => options.only?.includes(c.name)) : options.cases;
  const unknown = (options.only ?? []).filter((n) => !options.cases.some((c) => c.name === n));
  if (unknown.length > 0)
    throw new Error(
      `no case named ${unknown.map((n) => `"${n}"`).join(", ")}; cases: ${options.cases.map((c) => c.name).join(", ")}`,
    );
  const imagesDir = join(options.reportDir, "images");
  await rm(imagesDir, { recursive: true, force: true });
  await mkdir(imagesDir, { recursive: true });
  await mkdir(options.goldenDir, { recursive: true });

  const results: CaseResult[] = [];
  for (const [i, c] of selected.entries()) {
    options.onProgress?.(i, selected.length, c.name);
    results.push(await runCase(c, options, engine, compare, pmVersion, imagesDir));
  }
  options.onProgress?.(selected.length, selected.length, "done");

  const unused = await unusedGoldens(
    options.goldenDir,
    options.cases.map((c) => c.name),
  );
  const removed = options.update === "all" ? unused : [];
  await removeGoldens(options.goldenDir, removed);
  const partial = {
    target: engine,
    update: options.update,
    compare,
    pixelmatchVersion: pmVersion,
    cases: results,
    unused,
    removed,
    passed: results.every((r) => !caseFailed(r)),
  };
  const reports = {
    html: join(options.reportDir, "index.html"),
    junit: join(options.reportDir, "junit.xml"),
    json: join(options.reportDir, "result.json"),
  };
  const result: GateResult = { ...partial, reports };
  await writeFile(reports.html, renderHtml(result));
  await writeFile(reports.junit, renderJunit(result));
  await writeFile(reports.json, `${JSON.stringify(result, null, 2)}\n`);
  return result;
}

async function runCase(
  c: GoldenCase,
  options: GateOptions,
  engine: EngineInfo,
  compare: CompareOptions,
  pmVersion: string,
  imagesDir: string,
): Promise<CaseResult> {
  const started = performance.now();
  const ms = () => Math.round(performance.now() - started);
  const files: { expected?: string; actual?: string; diff?: string } = {};
  const save = async (kind: "expected" | "actual" | "diff", png: Buffer) => {
    const file = `images/${c.name}.${kind}.png`;
    await writeFile(join(imagesDir, `${c.name}.${kind}.png`), png);
    files[kind] = file;
  };
  const golden = await readGolden(options.goldenDir, c.name);
  if (golden) await save("expected", golden.png);

  const failed = (error: unknown): CaseResult => ({
    name: c.name,
    outcome: { kind: "error", message: message(error) },
    action: "none",
    ms: ms(),
    files,
  });
  let body: Record<string, unknown>;
  let first: RunResult;
  try {
    body = await caseRequest(c, options.root);
    first = await options.target.run(c, body);
  } catch (error) {
    return failed(error);
  }
  await save("actual", first.png);
  const actual = await decodePng(first.png);
  const pixelmatch = { version: pmVersion, options: compare };
  const sidecar = sidecarFor(c.name, first.resolved, { ...engine, ...first.reported }, first.png, pixelmatch);
  const verdict = judge(
    golden && { image: golden.image, engine: comparable(golden.sidecar, sidecar) },
    { image: actual, engine: sidecar.engine },
    ENGINE_FIELDS,
    compare,
  );
  if (verdict.diff) await save("diff", await encodePng(verdict.diff));
  let outcome = verdict.outcome;

  const wantsWrite =
    options.update === "all" ||
    (options.update === "changed" && outcome.kind !== "match") ||
    (options.update === "missing" && outcome.kind === "missing-golden");
  // A second run when the first did not match, or before writing: never pin a non-deterministic image.
  if (outcome.kind !== "match" || wantsWrite) {
    let second: RgbaImage;
    try {
      second = await decodePng((await options.target.run(c, body)).png);
    } catch (error) {
      return failed(error);
    }
    outcome = checkStable(actual, second) ?? outcome;
  }
  let action: Action = golden ? "kept" : "none";
  if (wantsWrite && outcome.kind !== "unstable") {
    await writeGolden(options.goldenDir, c.name, first.png, sidecar);
    action = "written";
  }
  return { name: c.name, outcome, action, ms: ms(), files };
}

/**
 * The golden's engine record for comparison: a field this run cannot know (the ORT version inside a
 * deployed function) is taken as equal rather than reported as a difference.
 */
function comparable(golden: Sidecar, actual: Sidecar): Record<string, unknown> {
  const engine: Record<string, unknown> = { ...(golden.engine ?? {}) };
  for (const field of ENGINE_FIELDS) if (actual.engine[field] === null) engine[field] = null;
  return engine;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
