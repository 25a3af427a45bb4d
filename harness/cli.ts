/**
 * `sd-lambda <verb>`: the harness's single entry point. Each verb lives in harness/commands/<verb>.ts,
 * prints what it did for a person (or JSON with --json) and returns the exit code.
 */
import { readFileSync } from "node:fs";
import { SdLambdaError } from "../runtime/errors.ts";
import { type Command, EXIT, UsageError } from "./commands/command.ts";

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
  if (verb === "--version" || verb === "-V") {
    const version = packageVersion();
    process.stdout.write(
      args.includes("--json") ? `${JSON.stringify({ version })}\n` : `sd-lambda ${version}\n`,
    );
    return EXIT.ok;
  }
  const command = verb === undefined ? undefined : COMMANDS[verb];
  if (!command) {
    const list = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`);
    const help = verb === undefined || verb === "--help" || verb === "help";
    const out = help ? process.stdout : process.stderr;
    out.write(
      `${help ? "" : `sd-lambda: unknown ${verb?.startsWith("-") ? "option" : "command"} "${verb}"\n`}usage: sd-lambda <command> [options]   (or --version)\n${list.join("\n")}\n`,
    );
    return help ? EXIT.ok : EXIT.usage;
  }
  const { run, usage } = await command.load();
  if (args.includes("--help") || args.includes("-h")) {
    process.stdout.write(`${usage}\n`);
    return EXIT.ok;
  }
  try {
    return await run(args);
  } catch (error) {
    // node:util parseArgs: an unknown or malformed flag — show what the verb takes
    const badFlag = String((error as { code?: unknown }).code).startsWith("ERR_PARSE_ARGS");
    process.stderr.write(`sd-lambda ${verb}: ${describeError(error)}\n${badFlag ? `${usage}\n` : ""}`);
    return badFlag || error instanceof UsageError ? EXIT.usage : EXIT.failed;
  }
}

/** The version in package.json (the one `npm` and the CHANGELOG use). */
export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as {
    version?: unknown;
  };
  return String(pkg.version);
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
