/**
 * `sd-lambda <verb>`: the harness's single entry point. Each verb lives in harness/commands/<verb>.ts,
 * prints what it did for a person (or JSON with --json) and returns the exit code.
 */
import { SdLambdaError } from "../runtime/errors.ts";
import type { Command } from "./commands/command.ts";

const COMMANDS: Record<string, { summary: string; load: () => Promise<Command> }> = {
  generate: {
    summary: "run the engine in-process and write a PNG",
    load: async () => (await import("./commands/generate.ts")).generateVerb,
  },
  up: {
    summary:
      "start the function under the Runtime Interface Emulator on localhost:9000 (+ function URL on :9001)",
    load: async () => (await import("./commands/stack.ts")).upVerb,
  },
  down: {
    summary: "stop and remove what `up` started",
    load: async () => (await import("./commands/stack.ts")).downVerb,
  },
  logs: {
    summary: "the function's and the front door's logs (--follow to stream)",
    load: async () => (await import("./commands/stack.ts")).logsVerb,
  },
  invoke: {
    summary: "invoke the emulator (localhost:9000) or a deployed function through @aws-sdk/client-lambda",
    load: async () => (await import("./commands/invoke.ts")).invokeVerb,
  },
  golden: {
    summary: "golden-seed regression gate: generate every case and compare with pixelmatch",
    load: async () => (await import("./commands/golden.ts")).goldenVerb,
  },
  scenarios: {
    summary: "reproduce Lambda's failure modes in the emulator and check the diagnosis",
    load: async () => (await import("./commands/scenarios.ts")).scenariosVerb,
  },
  preflight: {
    summary: "check a built bundle or image before deploy (glibc, permissions, memory)",
    load: async () => (await import("./commands/preflight.ts")).preflightVerb,
  },
  deploy: {
    summary: "deploy the stack in sd-lambda.config.ts to AWS (checks, preflight, cdk deploy, smoke test)",
    load: async () => (await import("./commands/deploy.ts")).deployVerb,
  },
  models: {
    summary: "models upload: a model folder onto the stack's EFS through its loader function",
    load: async () => (await import("./commands/models.ts")).modelsVerb,
  },
  bench: {
    summary: "time a generation (cold and warm) and its memory, in-process or in a fresh emulator container",
    load: async () => (await import("./commands/bench.ts")).benchVerb,
  },
};

export async function main(argv: string[]): Promise<number> {
  const [verb, ...args] = argv;
  const command = verb === undefined ? undefined : COMMANDS[verb];
  if (!command) {
    const list = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`);
    const out = verb === undefined || verb === "--help" || verb === "help" ? process.stdout : process.stderr;
    out.write(
      `${verb && !verb.startsWith("-") && verb !== "help" ? `sd-lambda: unknown command "${verb}"\n` : ""}usage: sd-lambda <command> [options]\n${list.join("\n")}\n`,
    );
    return out === process.stdout ? 0 : 2;
  }
  const { run, usage } = await command.load();
  if (args.includes("--help") || args.includes("-h")) {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  try {
    return await run(args);
  } catch (error) {
    // node:util parseArgs: an unknown or malformed flag — show what the verb takes
    const badFlag = String((error as { code?: unknown }).code).startsWith("ERR_PARSE_ARGS");
    process.stderr.write(`sd-lambda ${verb}: ${describeError(error)}\n${badFlag ? `${usage}\n` : ""}`);
    return 1;
  }
}

/** One line a person can act on; the code when it is ours. */
export function describeError(error: unknown): string {
  if (error instanceof SdLambdaError) return `${error.message} [${error.code}]`;
  if (error instanceof Error) return error.message;
  return String(error);
}

if (import.meta.main) {
  process.exitCode = await main(process.argv.slice(2));
}
