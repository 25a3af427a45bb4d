/**
 * `sd-lambda up | down | logs`: the function under the real Runtime Interface Emulator on
 * localhost:9000, with the function URL front door on localhost:9001.
 */
import { spawnSync } from "node:child_process";
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
import type { Command } from "./command.ts";

export const UP_USAGE = `usage: sd-lambda up   (no flags; set MEMORY_MB, TIMEOUT_S, EPHEMERAL_STORAGE_MB, MODELS_DIR, SD_MODEL)
  the function under the RIE on localhost:9000, the function URL front door on localhost:9001`;
export const DOWN_USAGE = "usage: sd-lambda down   stop and remove what `sd-lambda up` started";
export const LOGS_USAGE = "usage: sd-lambda logs [--follow|-f]   the function's and the front door's logs";

const say = (line: string) => process.stderr.write(`[sd-lambda] ${line}\n`);

export async function upCommand(args: string[]): Promise<number> {
  if (args.length > 0)
    throw new Error(
      `up takes no arguments (set MEMORY_MB, TIMEOUT_S, EPHEMERAL_STORAGE_MB, MODELS_DIR, SD_MODEL instead), got ${args.join(" ")}`,
    );
  const settings = settingsFromEnv();
  const started = performance.now();
  const prepared = up(settings, say);
  for (const note of prepared.notes) process.stderr.write(`${note}\n`);
  process.stdout.write(
    [
      `function running on localhost:9000 (base image ${prepared.baseImage}; ${settings.memoryMb} MB, timeout ${settings.timeoutS} s, /tmp ${settings.ephemeralStorageMb} MB, models from ${settings.modelsDir}) in ${((performance.now() - started) / 1000).toFixed(0)} s`,
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

export async function downCommand(): Promise<number> {
  down();
  say("stopped and removed the emulator containers and network");
  return 0;
}

export async function logsCommand(args: string[]): Promise<number> {
  const env = dockerEnv();
  const follow = args.includes("--follow") || args.includes("-f");
  if (!follow) {
    process.stdout.write(compose(env, ["logs", "--no-color", "function", "function-url"]));
    return 0;
  }
  const result = spawnSync(
    "docker",
    [
      "compose",
      "--project-directory",
      ROOT,
      "--env-file",
      ENV_FILE,
      "logs",
      "-f",
      "function",
      "function-url",
    ],
    {
      env,
      stdio: "inherit",
    },
  );
  return result.status ?? 1;
}

export const upVerb: Command = { run: upCommand, usage: UP_USAGE };

export const downVerb: Command = { run: downCommand, usage: DOWN_USAGE };

export const logsVerb: Command = { run: logsCommand, usage: LOGS_USAGE };
