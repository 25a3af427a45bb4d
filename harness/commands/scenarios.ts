/**
 * `sd-lambda scenarios [NAME...] [--json] [--list]`: reproduce Lambda's failure modes in the emulator
 * (the function image under the RIE in its sandbox) and check the diagnosis each one gives.
 */
import { parseArgs } from "node:util";
import { prepare, settingsFromEnv } from "../emulator/stack.ts";
import { renderOutcome, runScenarios, SCENARIOS, selectScenarios } from "../scenarios/index.ts";
import type { Command } from "./command.ts";

export const SCENARIOS_USAGE = `usage: sd-lambda scenarios [NAME...] [--json] [--list]
  reproduce Lambda's failure modes in the emulator (all of them, or the NAMEs --list shows)`;

export async function scenariosCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { json: { type: "boolean", default: false }, list: { type: "boolean", default: false } },
    allowPositionals: true,
    strict: true,
  });
  if (values.list) {
    for (const s of SCENARIOS) process.stdout.write(`${s.name.padEnd(20)} ${s.title}: ${s.provoke}\n`);
    return 0;
  }
  const chosen = selectScenarios(positionals);
  const say = (line: string) => process.stderr.write(`[sd-lambda] ${line}\n`);
  process.env.TESTCONTAINERS_RYUK_DISABLED ??= "true";
  const { env } = prepare(settingsFromEnv(), say);
  process.env.DOCKER_CONFIG = env.DOCKER_CONFIG;
  say(`running ${chosen.length} scenarios`);
  const outcomes = await runScenarios(chosen, env, {
    onDone: (o) => {
      if (!values.json) process.stdout.write(renderOutcome(o));
    },
  });
  const failed = outcomes.filter((o) => o.status === "fail").length;
  if (values.json) process.stdout.write(`${JSON.stringify(outcomes, null, 2)}\n`);
  else process.stdout.write(`${outcomes.length - failed} of ${outcomes.length} scenarios passed\n`);
  return failed === 0 ? 0 : 1;
}

export const scenariosVerb: Command = { run: scenariosCommand, usage: SCENARIOS_USAGE };
