// Every failure scenario in the emulator (the function image under the real RIE, via testcontainers):
// one test per scenario, each asserting the whole diagnosis the user gets.
import { describe, expect, test } from "vitest";
import { dockerEnv } from "../../harness/emulator/stack.ts";
import {
  renderOutcome,
  runScenarios,
  SCENARIOS,
  type ScenarioOutcome,
} from "../../harness/scenarios/index.ts";

const outcomes: Promise<ScenarioOutcome[]> = (async () => {
  process.env.TESTCONTAINERS_RYUK_DISABLED = "true";
  return runScenarios(SCENARIOS, dockerEnv());
})();
// keep an unobserved rejection from failing the run before the tests look at it
outcomes.catch(() => {});

describe("failure scenarios", () => {
  for (const scenario of SCENARIOS) {
    test(scenario.name, { timeout: 300_000 }, async () => {
      const outcome = (await outcomes).find((o) => o.name === scenario.name);
      expect(outcome, `no outcome for ${scenario.name}`).toBeDefined();
      if (outcome?.status !== "pass") throw new Error(renderOutcome(outcome as ScenarioOutcome));
    });
  }
});
