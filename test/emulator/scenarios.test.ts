// Every failure scenario in the emulator (the function image under the real RIE, via testcontainers),
// run the way a user runs them: `sd-lambda scenarios --json` as a child process, its stdout parsed as
// JSON (image builds and progress must go to stderr, so `| jq .` works). One test per scenario, each
// asserting the whole diagnosis the user gets and what Lambda does.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { ROOT } from "../../harness/emulator/stack.ts";
import { renderOutcome, SCENARIOS, type ScenarioOutcome } from "../../harness/scenarios/index.ts";

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function cli(args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(join(ROOT, "bin/sd-lambda"), args, {
      env: { ...process.env, TESTCONTAINERS_RYUK_DISABLED: "true" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

const run: Promise<Run> = cli(["scenarios", "--json"]);
// keep an unobserved rejection from failing the run before the tests look at it
run.catch(() => {});

async function outcomes(): Promise<ScenarioOutcome[]> {
  const { stdout, stderr } = await run;
  try {
    return JSON.parse(stdout) as ScenarioOutcome[];
  } catch (error) {
    throw new Error(
      `stdout of sd-lambda scenarios --json is not JSON (${(error as Error).message}): ${stdout.slice(0, 400)}\nstderr: ${stderr.slice(-2000)}`,
    );
  }
}

describe("sd-lambda scenarios --json", () => {
  test("stdout is one JSON document, the exit code says whether all passed", {
    timeout: 900_000,
  }, async () => {
    const { code, stderr } = await run;
    const all = await outcomes();
    expect(all.map((o) => o.name)).toEqual(SCENARIOS.map((s) => s.name));
    expect(code).toBe(all.every((o) => o.status === "pass") ? 0 : 1);
    // progress went to stderr
    expect(stderr).toMatch(/\[sd-lambda\] running \d+ scenarios/);
  });

  for (const scenario of SCENARIOS) {
    test(scenario.name, { timeout: 900_000 }, async () => {
      const outcome = (await outcomes()).find((o) => o.name === scenario.name);
      expect(outcome, `no outcome for ${scenario.name}`).toBeDefined();
      expect(outcome?.lambda.length, "the AWS documentation it cites").toBeGreaterThan(0);
      if (outcome?.status !== "pass") throw new Error(renderOutcome(outcome as ScenarioOutcome));
    });
  }
});
