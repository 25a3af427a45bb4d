/**
 * The golden gate: run every case on a target, judge it against its golden (compare.ts), update goldens
 * as the mode allows, list goldens no case uses, and write the reports (report.ts). The run's I/O lives
 * here; verdicts stay pure.
 */
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { caseEvent, caseRequest, type GoldenCase } from "./cases.ts";
import {
  type CompareOptions,
  checkStable,
  DEFAULT_COMPARE_OPTIONS,
  judge,
  type Outcome,
  type RgbaImage,
} from "./compare.ts";
import { type Fingerprint, fingerprintDiffs } from "./fingerprint.ts";
import { type CaseResultFiles, renderHtml, renderJunit } from "./report.ts";
import {
  decodeImage,
  encodePng,
  extensionOf,
  fingerprintOf,
  pixelmatchVersion,
  readGolden,
  recordEngine,
  recordedSha256,
  removeGoldens,
  sha256,
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
  /** Only the cases on these models (all when undefined): an emulator or deployed function serves one. */
  readonly models?: readonly string[];
  readonly target: Target;
  readonly goldenDir: string;
  readonly reportDir: string;
  readonly update: UpdateMode;
  /** Repository root, for cases' init_image and mask paths. */
  readonly root: string;
  readonly compare?: CompareOptions;
  readonly onProgress?: (done: number, total: number, name: string) => void;
}

/** `recorded`: this engine's exact bytes were added to the golden's sidecar (the image was kept). */
export type Action = "kept" | "written" | "recorded" | "none";

export interface CaseResult {
  readonly name: string;
  /** What the picture should show, for the reader of the report. */
  readonly prompt: string;
  readonly outcome: Outcome;
  /**
   * `written`: the golden was (re)written by the update mode; `recorded`: this engine's bytes were added to
   * its sidecar; `kept`: left as it was.
   */
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
  const selected = options.cases.filter(
    (c) =>
      (!options.only || options.only.includes(c.name)) &&
      (!options.models || options.models.includes(c.model)),
  );
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
    results.push(await runCase(c, options, engine, compare, pmVersion));
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
): Promise<CaseResult> {
  const started = performance.now();
  const ms = () => Math.round(performance.now() - started);
  const files: { expected?: string; actual?: string; diff?: string } = {};
  const save = async (kind: "expected" | "actual" | "diff", bytes: Buffer) => {
    const file = `images/${c.name}.${kind}.${extensionOf(bytes)}`;
    await writeFile(join(options.reportDir, file), bytes);
    files[kind] = file;
  };
  const golden = await readGolden(options.goldenDir, c.name);
  if (golden) await save("expected", golden.bytes);
  const tolerance = { ...compare, ...c.tolerance };

  const failed = (error: unknown): CaseResult => ({
    name: c.name,
    prompt: c.prompt,
    outcome: { kind: "error", message: message(error) },
    action: "none",
    ms: ms(),
    files,
  });
  let event: unknown;
  let first: RunResult;
  try {
    event = caseEvent(c, await caseRequest(c, options.root));
    first = await options.target.run(c, event);
  } catch (error) {
    return failed(error);
  }
  await save("actual", first.image);
  const actual = await decodeImage(first.image);
  const fingerprint: Fingerprint = fingerprintOf(runEngine(engine, first), pmVersion);
  const verdict = judge(
    // a sidecar from an older format has no contract: every field then shows as a difference
    golden && {
      image: golden.image,
      sha256: golden.sidecar.sha256,
      contract: golden.sidecar.contract ?? {},
      recordedSha256: recordedSha256(golden.sidecar, fingerprint),
    },
    {
      image: actual,
      sha256: sha256(first.image),
      contract: first.contract,
      fingerprintDiffs: fingerprintDiffs(golden?.sidecar.fingerprint, fingerprint).map((d) => ({
        field: d.field,
        expected: d.golden,
        actual: d.run,
      })),
    },
    tolerance,
  );
  if (verdict.diff) await save("diff", await encodePng(verdict.diff));
  let outcome = verdict.outcome;

  const wantsWrite =
    options.update === "all" ||
    (options.update === "changed" && outcome.kind !== "match") ||
    (options.update === "missing" && outcome.kind === "missing-golden");
  // `missing` also records the bytes of an engine that has none yet, once the tolerance tier passed it
  const wantsRecord =
    options.update === "missing" && outcome.kind === "match" && outcome.tier === "tolerance";
  // A second run when the first did not match, or before writing: never pin a non-deterministic image.
  if (outcome.kind !== "match" || wantsWrite || wantsRecord) {
    let second: RgbaImage;
    try {
      second = await decodeImage((await options.target.run(c, event)).image);
    } catch (error) {
      return failed(error);
    }
    outcome = checkStable(actual, second) ?? outcome;
  }
  let action: Action = golden ? "kept" : "none";
  if (wantsWrite && outcome.kind !== "unstable") {
    const sidecar = sidecarFor(c.name, first.contract, engine, fingerprint, first.image, tolerance);
    await writeGolden(options.goldenDir, c.name, first.image, sidecar);
    action = "written";
  } else if (wantsRecord && golden && outcome.kind === "match") {
    await recordEngine(options.goldenDir, c.name, golden.sidecar, {
      fingerprint,
      sha256: sha256(first.image),
    });
    action = "recorded";
  }
  return { name: c.name, prompt: c.prompt, outcome, action, ms: ms(), files };
}

/** The target's engine, completed by what the function reports about itself (its answer's `engine`). */
function runEngine(engine: EngineInfo, run: RunResult): EngineInfo {
  return run.reported
    ? { ...engine, ortVersion: run.reported.ortVersion, threads: run.reported.threads }
    : engine;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
