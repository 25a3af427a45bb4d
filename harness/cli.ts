/**
 * `sd-lambda <verb>`: the harness's single entry point. Each verb lives in harness/commands/<verb>.ts,
 * prints what it did for a person (or JSON with --json) and returns the exit code.
 */
import { SdLambdaError } from "../runtime/errors.ts";

type Command = (args: string[]) => Promise<number>;

const COMMANDS: Record<string, { summary: string; load: () => Promise<Command> }> = {
  generate: {
    summary: "run the engine in-process and write a PNG",
    load: async () => (await import("./commands/generate.ts")).generateCommand,
  },
  up: {
    summary:
      "start the function under the Runtime Interface Emulator on localhost:9000 (+ function URL on :9001)",
    load: async () => (await import("./commands/stack.ts")).upCommand,
  },
  down: {
    summary: "stop and remove what `up` started",
    load: async () => (await import("./commands/stack.ts")).downCommand,
  },
  logs: {
    summary: "the function's and the front door's logs (--follow to stream)",
    load: async () => (await import("./commands/stack.ts")).logsCommand,
  },
  invoke: {
    summary: "invoke the emulator (localhost:9000) or a deployed function through @aws-sdk/client-lambda",
    load: async () => (await import("./commands/invoke.ts")).invokeCommand,
  },
  golden: {
    summary: "golden-seed regression gate: generate every case and compare with pixelmatch",
    load: async () => (await import("./commands/golden.ts")).goldenCommand,
  },
  scenarios: {
    summary: "reproduce Lambda's failure modes in the emulator and check the diagnosis",
    load: async () => (await import("./commands/scenarios.ts")).scenariosCommand,
  },
  preflight: {
    summary: "check a built bundle or image before deploy (glibc, permissions, memory)",
    load: async () => (await import("./commands/preflight.ts")).preflightCommand,
  },
  bench: {
    summary: "time a generation (cold and warm) and its memory, in-process or in a fresh emulator container",
    load: async () => (await import("./commands/bench.ts")).benchCommand,
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
  try {
    return await (await command.load())(args);
  } catch (error) {
    process.stderr.write(`sd-lambda ${verb}: ${describeError(error)}\n`);
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
