/**
 * `make mutation`: how many small realistic bugs the golden gate and the test suites catch. Each mutant of
 * fixtures/mutation/mutants.json (one find → replace in one runtime/ file) is applied alone to a scratch
 * copy of runtime/; the gate runs on it in-process (`golden --target local --runtime-dir`), and the unit
 * + integration suites run in a scratch copy of the repository — for the mutants the gate let through
 * (MUTATION_TESTS=survivors, the default), every mutant (all) or none. It prints what killed each.
 *
 * The gate runs with the goldens' own thread count, so its bytes tier judges; a case that fails there also
 * says whether the change would pass the tolerance tier (another engine), so one run gives both figures.
 *
 *   MUTATION_MODEL=tiny-shapes,tiny-sd-inpaint MUTATION_TESTS=survivors MUTATION_ONLY=name,… MUTATION_THREADS=2
 *
 * The default models are the trained tiny-shapes (the figure the README states) and the 9-channel
 * tiny-sd-inpaint, whose UNet reads the masked picture that no 4-channel model does; the summary gives the
 * gate's kills per model as well as together.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { z } from "zod";
import { ROOT } from "../emulator/stack.ts";
import { loadCases } from "./cases.ts";

const mutantSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9.-]+$/),
    area: z.string().min(1),
    /** Relative to the repository root; always under runtime/. */
    file: z.string().startsWith("runtime/"),
    find: z.string().min(1),
    replace: z.string(),
    note: z.string().optional(),
  })
  .strict();

export type Mutant = z.output<typeof mutantSchema>;

export const MUTANTS_FILE = join(ROOT, "fixtures/mutation/mutants.json");

export function loadMutants(file = MUTANTS_FILE): Mutant[] {
  const list = z.array(mutantSchema).parse(JSON.parse(readFileSync(file, "utf8")));
  const seen = new Set<string>();
  for (const m of list) {
    if (seen.has(m.name)) throw new Error(`${file}: mutant "${m.name}" is listed twice`);
    seen.add(m.name);
  }
  return list;
}

/** How many times `find` occurs in `text` (non-overlapping). */
export function occurrences(text: string, find: string): number {
  return text.split(find).length - 1;
}

/** The mutated source; a `find` that is not there exactly once means the list went stale. */
export function applyMutant(source: string, m: Mutant): string {
  const n = occurrences(source, m.find);
  if (n !== 1)
    throw new Error(
      `mutant "${m.name}": its find text occurs ${n} times in ${m.file} (needs exactly 1) — update fixtures/mutation/mutants.json`,
    );
  return source.replace(m.find, () => m.replace);
}

/** A case the gate failed and how; `case` is null when the gate could not start (it counts for every model). */
interface Failure {
  readonly case: string | null;
  readonly kind: string;
}

const describeFailure = (f: Failure) => (f.case === null ? `(no result: ${f.kind})` : `${f.case}:${f.kind}`);

interface GateVerdict {
  readonly killed: boolean;
  /** Killed even by the tolerance tier alone (as on another engine). */
  readonly killedByTolerance: boolean;
  readonly failing: Failure[];
}

function gate(runtimeDir: string, models: string[], threads: string, reportDir: string): GateVerdict {
  const run = spawnSync(
    process.execPath,
    [
      "--disable-warning=ExperimentalWarning",
      join(ROOT, "harness/cli.ts"),
      "golden",
      "--target",
      "local",
      "--runtime-dir",
      runtimeDir,
      "--threads",
      threads,
      ...models.flatMap((m) => ["--model", m]),
      "--report-dir",
      reportDir,
      "--json",
    ],
    { cwd: ROOT, encoding: "utf8", maxBuffer: 256 * 1024 * 1024 },
  );
  let result: { cases: { name: string; outcome: { kind: string; withinTolerance?: boolean } }[] };
  try {
    result = JSON.parse(run.stdout);
  } catch {
    // the gate could not even start (e.g. the mutant does not load): a failure a user would see
    return {
      killed: true,
      killedByTolerance: true,
      failing: [{ case: null, kind: run.stderr.trim().split("\n").at(-1) ?? "" }],
    };
  }
  const bad = result.cases.filter((c) => c.outcome.kind !== "match");
  const tolerated = (c: (typeof bad)[number]) => c.outcome.kind === "bytes-diff" && c.outcome.withinTolerance;
  return {
    killed: bad.length > 0,
    killedByTolerance: bad.some((c) => !tolerated(c)),
    failing: bad.map((c) => ({ case: c.name, kind: c.outcome.kind })),
  };
}

/** A scratch copy of the tracked repository (fixtures and node_modules linked), with one mutant applied. */
function scratchRepo(base: string, m: Mutant): string {
  const dir = join(base, "repo");
  rmSync(dir, { recursive: true, force: true });
  const files = execFileSync("git", ["ls-files"], { cwd: ROOT, encoding: "utf8" })
    .split("\n")
    .filter(Boolean);
  for (const f of files) {
    if (f.startsWith("fixtures/")) continue;
    mkdirSync(dirname(join(dir, f)), { recursive: true });
    cpSync(join(ROOT, f), join(dir, f));
  }
  symlinkSync(join(ROOT, "fixtures"), join(dir, "fixtures"));
  symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"));
  symlinkSync(join(ROOT, ".toolchain"), join(dir, ".toolchain"));
  const target = join(dir, m.file);
  writeFileSync(target, applyMutant(readFileSync(target, "utf8"), m));
  return dir;
}

/** The unit + integration suites on the mutated copy; the failing test files, empty when all pass. */
function suites(repo: string): string[] {
  const run = spawnSync(
    join(ROOT, "node_modules/.bin/vitest"),
    ["run", "--project", "unit", "--project", "integration", "--exclude", "test/unit/mutants.test.ts"],
    { cwd: repo, encoding: "utf8", maxBuffer: 256 * 1024 * 1024, env: { ...process.env, CI: "true" } },
  );
  if (run.status === 0) return [];
  try {
    const report = JSON.parse(readFileSync(join(repo, "reports/vitest.json"), "utf8")) as {
      testResults: { name: string; status: string }[];
    };
    const failed = report.testResults
      .filter((t) => t.status !== "passed")
      .map((t) => t.name.replace(`${repo}/`, ""));
    return failed.length > 0 ? failed : [`(vitest exit ${run.status})`];
  } catch {
    return [`(vitest exit ${run.status}, no report)`];
  }
}

async function main(): Promise<void> {
  const models = (process.env.MUTATION_MODEL || "tiny-shapes,tiny-sd-inpaint").split(",");
  const cases = await loadCases(join(ROOT, "fixtures/golden/cases.json"));
  const modelOf = new Map(cases.map((c) => [c.name, c.model]));
  const testsMode = process.env.MUTATION_TESTS || "survivors";
  const threads = process.env.MUTATION_THREADS || "2";
  const only = process.env.MUTATION_ONLY?.split(",");
  const mutants = loadMutants().filter((m) => !only || only.includes(m.name));
  const base = mkdtempSync(join(tmpdir(), "sd-lambda-mutation-"));
  const rows: Record<string, unknown>[] = [];
  const say = (line: string) => process.stdout.write(`${line}\n`);
  say(
    `mutation: ${mutants.length} mutants; gate on ${models.join(" + ")} cases (${threads} threads), suites: ${testsMode}`,
  );
  try {
    for (const m of mutants) {
      const runtime = join(base, "runtime");
      rmSync(join(base, "runtime"), { recursive: true, force: true });
      cpSync(join(ROOT, "runtime"), runtime, { recursive: true });
      rmSync(join(base, "node_modules"), { force: true });
      symlinkSync(join(ROOT, "node_modules"), join(base, "node_modules"));
      writeFileSync(join(base, "package.json"), JSON.stringify({ type: "module" }));
      const file = join(base, m.file);
      writeFileSync(file, applyMutant(readFileSync(file, "utf8"), m));
      const verdict = gate(runtime, models, threads, join(base, "report"));
      const runSuites = testsMode === "all" || (testsMode === "survivors" && !verdict.killed);
      const failedTests = runSuites ? suites(scratchRepo(base, m)) : null;
      rows.push({ ...m, gate: verdict, tests: failedTests });
      const by = [
        verdict.killed
          ? `gate (${verdict.killedByTolerance ? "tolerance tier too" : "bytes tier only"}: ${verdict.failing.slice(0, 3).map(describeFailure).join(", ")}${verdict.failing.length > 3 ? ", …" : ""})`
          : "",
        failedTests && failedTests.length > 0 ? `tests (${failedTests.slice(0, 3).join(", ")})` : "",
      ].filter(Boolean);
      say(
        `${by.length ? "killed  " : "SURVIVED"} ${m.name.padEnd(34)} ${by.join("; ") || (failedTests === null ? "gate passed; suites not run" : "gate and suites passed")}`,
      );
    }
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
  const n = rows.length;
  const gateKills = rows.filter((r) => (r.gate as GateVerdict).killed).length;
  const toleranceKills = rows.filter((r) => (r.gate as GateVerdict).killedByTolerance).length;
  const anyKills = rows.filter(
    (r) => (r.gate as GateVerdict).killed || ((r.tests as string[] | null)?.length ?? 0) > 0,
  ).length;
  const pct = (k: number) => `${k}/${n} (${((100 * k) / Math.max(1, n)).toFixed(0)} %)`;
  const killedOn = (model: string) =>
    rows.filter((r) =>
      (r.gate as GateVerdict).failing.some((f) => f.case === null || modelOf.get(f.case) === model),
    ).length;
  if (models.length > 1)
    say(`gate alone, per model: ${models.map((m) => `${m} ${pct(killedOn(m))}`).join("; ")}`);
  say(
    `gate alone: ${pct(gateKills)}; its tolerance tier alone: ${pct(toleranceKills)}; gate + ${testsMode === "none" ? "(suites not run)" : "suites"}: ${pct(anyKills)}`,
  );
  mkdirSync(join(ROOT, "reports"), { recursive: true });
  writeFileSync(
    join(ROOT, "reports/mutation.json"),
    `${JSON.stringify({ models, testsMode, rows }, null, 2)}\n`,
  );
  process.exitCode = anyKills === n ? 0 : 1;
}

if (import.meta.main) await main();
