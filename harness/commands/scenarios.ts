/**
 * `sd-lambda scenarios [NAME...] [--json] [--list]`: reproduce Lambda's failure modes in the emulator
 * (the function image under the RIE in its sandbox) and check the diagnosis each one gives. Image builds
 * and progress go to stderr, so `--json` output pipes into `jq`.
 */
import { parseArgs } from "node:util";
import { prepare, settingsFromEnv } from "../emulator/stack.ts";
import {
  describeScenario,
  renderListing,
  renderOutcome,
  runScenarios,
  selectScenarios,
} from "../scenarios/index.ts";
import { type Command, UsageError } from "./command.ts";

export const SCENARIOS_USAGE = `usage: sd-lambda scenarios [NAME...] [--json] [--list]
  reproduce Lambda's failure modes in the emulator (all of them, or the NAMEs --list shows);
  --list prints each one's provocation, what Lambda does (with the AWS documentation) and what the
  user sees, and where the harness stands in for the Lambda service`;

export async function scenariosCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { json: { type: "boolean", default: false }, list: { type: "boolean", default: false } },
    allowPositionals: true,
    strict: true,
  });
  let chosen: ReturnType<typeof selectScenarios>;
  try {
    chosen = selectScenarios(positionals);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (values.list) {
    process.stdout.write(
      values.json
        ? `${JSON.stringify(chosen.map(describeScenario), null, 2)}\n`
        : chosen.map(renderListing).join("\n"),
    );
    return 0;
  }
  const say = (line: string) => process.stderr.write(`[sd-lambda] ${line}\n`);
  process.env.TESTCONTAINERS_RYUK_DISABLED ??= "true";
  const { env } = prepare(settingsFromEnv(), say);
  process.env.DOCKER_CONFIG = env.DOCKER_CONFIG;
  say(`running ${chosen.length} scenario${chosen.length === 1 ? "" : "s"}`);
  const outcomes = await runScenarios(chosen, env, {
    onDone: (o) => {
      if (values.json) say(`${o.status} ${o.name} (${(o.ms / 1000).toFixed(1)} s)`);
      else process.stdout.write(renderOutcome(o));
    },
  });
  const failed = outcomes.filter((o) => o.status === "fail").length;
  if (values.json) process.stdout.write(`${JSON.stringify(outcomes, null, 2)}\n`);
  else process.stdout.write(`${outcomes.length - failed} of ${outcomes.length} scenarios passed\n`);
  return failed === 0 ? 0 : 1;
}

export const scenariosVerb: Command = { run: scenariosCommand, usage: SCENARIOS_USAGE };
