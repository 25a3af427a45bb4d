/**
 * `sd-lambda up | down | logs`: the function under the real Runtime Interface Emulator on
 * localhost:9000, with the function URL front door on localhost:9001. Docker's own output is progress,
 * on stderr; stdout holds the verb's answer (text, or one JSON object with --json).
 */
import { spawnSync } from "node:child_process";
import { parseArgs } from "node:util";
import {
  compose,
  dockerEnv,
  down,
  ENV_FILE,
  FUNCTION_URL,
  INVOKE_URL,
  ROOT,
  settingsFromEnv,
  up,
} from "../emulator/stack.ts";
import { type Command, UsageError } from "./command.ts";

export const UP_USAGE = `usage: sd-lambda up [--json]   (set MEMORY_MB, TIMEOUT_S, EPHEMERAL_STORAGE_MB, MODELS_DIR, SD_MODEL)
  the function under the RIE on localhost:9000, the function URL front door on localhost:9001`;
export const DOWN_USAGE = "usage: sd-lambda down [--json]   stop and remove what `sd-lambda up` started";
export const LOGS_USAGE =
  "usage: sd-lambda logs [--follow|-f | --json]   the function's and the front door's logs";

const SERVICES = ["function", "function-url"] as const;

const say = (line: string) => process.stderr.write(`[sd-lambda] ${line}\n`);

function jsonFlag(args: string[], verb: string): boolean {
  const { values, positionals } = parseArgs({
    args,
    strict: true,
    allowPositionals: true,
    options: { json: { type: "boolean", default: false } },
  });
  if (positionals.length > 0)
    throw new UsageError(
      `${verb} takes no arguments${verb === "up" ? " (set MEMORY_MB, TIMEOUT_S, EPHEMERAL_STORAGE_MB, MODELS_DIR, SD_MODEL instead)" : ""}, got ${positionals.join(" ")}`,
    );
  return values.json;
}

export async function upCommand(args: string[]): Promise<number> {
  const json = jsonFlag(args, "up");
  const settings = settingsFromEnv();
  const started = performance.now();
  const prepared = up(settings, say);
  for (const note of prepared.notes) process.stderr.write(`${note}\n`);
  const seconds = Math.round((performance.now() - started) / 1000);
  if (json) {
    process.stdout.write(
      `${JSON.stringify({
        invoke_url: INVOKE_URL,
        function_url: FUNCTION_URL,
        base_image: prepared.baseImage,
        memory_mb: settings.memoryMb,
        timeout_s: settings.timeoutS,
        ephemeral_storage_mb: settings.ephemeralStorageMb,
        models_dir: settings.modelsDir,
        sd_model: settings.sdModel ?? null,
        notes: prepared.notes,
        seconds,
      })}\n`,
    );
    return 0;
  }
  process.stdout.write(
    [
      `function running on localhost:9000 (base image ${prepared.baseImage}; ${settings.memoryMb} MB, timeout ${settings.timeoutS} s, /tmp ${settings.ephemeralStorageMb} MB, models from ${settings.modelsDir}) in ${seconds} s`,
      "",
      "invoke through the RIE (the seed article's request shape):",
      `  curl -s ${INVOKE_URL} -d '{"body": "{\\"prompt\\": \\"beautiful tree\\", \\"num_inference_steps\\": 4}"}'`,
      "through the function URL front door, image to a file:",
      `  curl -s -X POST ${FUNCTION_URL} -H 'content-type: application/json' -d '{"prompt": "tree"}' -o tree.png`,
      "with the harness client:",
      "  npx sd-lambda invoke --prompt tree --out tree.png",
      "",
      "logs: npx sd-lambda logs (or make logs); stop: make down",
      "",
    ].join("\n"),
  );
  return 0;
}

export async function downCommand(args: string[]): Promise<number> {
  const json = jsonFlag(args, "down");
  down();
  if (json) process.stdout.write(`${JSON.stringify({ stopped: true })}\n`);
  else say("stopped and removed the emulator containers and network");
  return 0;
}

export async function logsCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    strict: true,
    allowPositionals: true,
    options: {
      follow: { type: "boolean", short: "f", default: false },
      json: { type: "boolean", default: false },
    },
  });
  if (positionals.length > 0) throw new UsageError(`logs takes no arguments, got ${positionals.join(" ")}`);
  if (values.follow && values.json)
    throw new UsageError("--follow streams text; --json prints the logs so far as one object — pick one");
  const env = dockerEnv();
  if (values.json) {
    const logs = Object.fromEntries(
      SERVICES.map((service) => [service, compose(env, ["logs", "--no-color", "--no-log-prefix", service])]),
    );
    process.stdout.write(`${JSON.stringify({ services: logs })}\n`);
    return 0;
  }
  if (!values.follow) {
    process.stdout.write(compose(env, ["logs", "--no-color", ...SERVICES]));
    return 0;
  }
  const result = spawnSync(
    "docker",
    ["compose", "--project-directory", ROOT, "--env-file", ENV_FILE, "logs", "-f", ...SERVICES],
    { env, stdio: "inherit" },
  );
  return result.status ?? 1;
}

export const upVerb: Command = { run: upCommand, usage: UP_USAGE };

export const downVerb: Command = { run: downCommand, usage: DOWN_USAGE };

export const logsVerb: Command = { run: logsCommand, usage: LOGS_USAGE };
