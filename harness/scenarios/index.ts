/**
 * Runs failure scenarios in the emulator: up to three at once, scenarios that change nothing about the
 * function share one container (one at a time), the others start their own; every container and
 * temporary folder is removed at the end. Outcomes are plain data, rendered as text or JSON.
 */
import { rmSync } from "node:fs";
import { isDeepStrictEqual } from "node:util";
import { SCENARIOS, type Scenario, type ScenarioContext } from "./catalog.ts";
import { FIXTURE_MODELS } from "./paths.ts";
import { type Sandbox, startSandbox, tempDir } from "./sandbox.ts";
import type { DocQuote } from "./scenario.ts";

export { SCENARIOS, type Scenario } from "./catalog.ts";
export { initDurations, initWarning } from "./rie-logs.ts";

export interface CheckOutcome {
  readonly what: string;
  readonly ok: boolean;
  readonly expected: string;
  readonly actual: string;
}

/** A scenario as plain data: `scenarios --list --json`, and the head of each outcome. */
export interface ScenarioDescription {
  readonly name: string;
  readonly title: string;
  readonly provoke: string;
  /** What Lambda does, quoted from AWS's documentation. */
  readonly lambda: readonly DocQuote[];
  readonly sees: string;
  /** Where the harness answers in Lambda's place; null when the RIE's own behaviour is what is checked. */
  readonly stand_in: string | null;
}

export function describeScenario(s: Scenario): ScenarioDescription {
  return {
    name: s.name,
    title: s.title,
    provoke: s.provoke,
    lambda: s.lambda,
    sees: s.sees,
    stand_in: s.standIn ?? null,
  };
}

/** `scenarios --list`: one block per scenario, a person's reading. */
export function renderListing(s: Scenario): string {
  const lines = [`${s.name} — ${s.title}`, `  provoke:  ${s.provoke}`];
  for (const quote of s.lambda) lines.push(`  lambda:   "${quote.says}"`, `            ${quote.url}`);
  lines.push(`  sees:     ${s.sees}`);
  if (s.standIn) lines.push(`  stand-in: ${s.standIn}`);
  return `${lines.join("\n")}\n`;
}

export interface ScenarioOutcome extends ScenarioDescription {
  readonly status: "pass" | "fail";
  readonly checks: readonly CheckOutcome[];
  readonly notes: readonly string[];
  readonly error?: string;
  readonly ms: number;
}

export function selectScenarios(names: readonly string[]): Scenario[] {
  if (names.length === 0) return [...SCENARIOS];
  return names.map((name) => {
    const found = SCENARIOS.find((s) => s.name === name);
    if (!found)
      throw new Error(`unknown scenario "${name}" — one of ${SCENARIOS.map((s) => s.name).join(", ")}`);
    return found;
  });
}

const show = (value: unknown) =>
  typeof value === "string"
    ? value
    : value instanceof RegExp
      ? `/${value.source}/`
      : (JSON.stringify(value) ?? "undefined");

export async function runScenarios(
  scenarios: readonly Scenario[],
  docker: NodeJS.ProcessEnv,
  options: { parallel?: number; onDone?: (outcome: ScenarioOutcome) => void } = {},
): Promise<ScenarioOutcome[]> {
  let shared: Promise<Sandbox> | undefined;
  let lock: Promise<void> = Promise.resolve();
  const outcomes: ScenarioOutcome[] = [];
  const runOne = async (scenario: Scenario): Promise<ScenarioOutcome> => {
    const started = performance.now();
    const checks: CheckOutcome[] = [];
    const notes: string[] = [];
    const owned: Promise<Sandbox>[] = [];
    const temps: string[] = [];
    let release: () => void = () => {};
    if (scenario.shared) {
      const previous = lock;
      lock = new Promise((resolve) => {
        release = resolve;
      });
      await previous;
    }
    const ctx: ScenarioContext = {
      docker,
      shared: () => {
        // two invokes at once would make the RIE panic and take the container down for everyone
        if (!scenario.shared)
          throw new Error(`scenario ${scenario.name} uses the shared container but is not marked shared`);
        shared ??= startSandbox({ modelsDir: FIXTURE_MODELS }, docker);
        return shared;
      },
      start: (opts) => {
        const box = startSandbox(opts, docker);
        owned.push(box);
        return box;
      },
      temp: (prefix) => {
        const dir = tempDir(prefix);
        temps.push(dir);
        return dir;
      },
      check: (what, actual, expected) => {
        const ok =
          expected instanceof RegExp
            ? typeof actual === "string" && expected.test(actual)
            : isDeepStrictEqual(actual, expected);
        checks.push({ what, ok, expected: show(expected), actual: show(actual) });
      },
      note: (text) => notes.push(text),
    };
    let error: string | undefined;
    try {
      await scenario.run(ctx);
    } catch (caught) {
      error = caught instanceof Error ? caught.message : String(caught);
    } finally {
      release();
      for (const box of owned) await box.then((b) => b.stop()).catch(() => {});
      for (const dir of temps) rmSync(dir, { recursive: true, force: true });
    }
    const outcome: ScenarioOutcome = {
      ...describeScenario(scenario),
      status: error === undefined && checks.length > 0 && checks.every((c) => c.ok) ? "pass" : "fail",
      checks,
      notes,
      ...(error === undefined ? {} : { error }),
      ms: Math.round(performance.now() - started),
    };
    options.onDone?.(outcome);
    return outcome;
  };
  const queue = [...scenarios];
  const workers = Array.from({ length: Math.max(1, options.parallel ?? 3) }, async () => {
    for (let next = queue.shift(); next; next = queue.shift()) outcomes.push(await runOne(next));
  });
  try {
    await Promise.all(workers);
  } finally {
    if (shared) await shared.then((b) => b.stop()).catch(() => {});
  }
  const order = new Map(scenarios.map((s, i) => [s.name, i]));
  return outcomes.sort((a, b) => (order.get(a.name) ?? 0) - (order.get(b.name) ?? 0));
}

export function renderOutcome(outcome: ScenarioOutcome): string {
  const lines = [
    `${outcome.status === "pass" ? "ok  " : "FAIL"} ${outcome.name} — ${outcome.title} (${(outcome.ms / 1000).toFixed(1)} s)`,
  ];
  for (const check of outcome.checks) {
    lines.push(`     ${check.ok ? "✓" : "✗"} ${check.what}: ${check.actual}`);
    if (!check.ok) lines.push(`       expected: ${check.expected}`);
  }
  for (const note of outcome.notes) lines.push(`     · ${note}`);
  if (outcome.stand_in) lines.push(`     · stand-in: ${outcome.stand_in}`);
  if (outcome.error) lines.push(`     error: ${outcome.error}`);
  return `${lines.join("\n")}\n`;
}
