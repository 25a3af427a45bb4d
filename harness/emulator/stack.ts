/**
 * The emulator stack's lifecycle, shared by `sd-lambda up/down/logs`, `make up` and the integration
 * tests: Docker ready (scripts/docker.sh), the runtime built, production dependencies staged, a base
 * image chosen (AWS's or the stand-in), the compose env file written, then `docker compose`.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import {
  type DeployConfig,
  dockerPlatform,
  functionEnvironment,
  loadDeployConfig,
} from "../../deploy/config.ts";
import { MAX_PAYLOAD_BYTES } from "../../runtime/config.ts";
import { composeEnv, type FunctionConfig } from "./config.ts";
import { lambdaEnvironment } from "./lambda-container.ts";
import { stageImageModel } from "./model-image.ts";

export const ROOT = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");
/** Variables docker-compose.yml interpolates (limits, base image, models folder). */
export const ENV_FILE = join(ROOT, ".cache/emulator.env");
/** The function container's own environment (docker-compose.yml `env_file`). */
export const FUNCTION_ENV_FILE = join(ROOT, ".cache/function.env");
export const INVOKE_URL = "http://localhost:9000/2015-03-31/functions/function/invocations";
export const FUNCTION_URL = "http://localhost:9001/";

export interface StackSettings extends FunctionConfig {
  /** Host folder mounted at <mount path>/models (default fixtures/models). */
  readonly modelsDir: string;
  readonly sdModel: string | undefined;
  /** The deploy configuration the rest comes from (mount path, access point, environment, platform). */
  readonly deploy: DeployConfig;
}

/** sd-lambda.config.ts, with MEMORY_MB, TIMEOUT_S, EPHEMERAL_STORAGE_MB, SD_MODEL, MODELS_DIR over it. */
export function settingsFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  deploy: DeployConfig = loadDeployConfig(),
): StackSettings {
  const num = (name: string, fallback: number) => (env[name] ? Number(env[name]) : fallback);
  return {
    memoryMb: num("MEMORY_MB", deploy.function.memoryMb),
    timeoutS: num("TIMEOUT_S", deploy.function.timeoutS),
    ephemeralStorageMb: num("EPHEMERAL_STORAGE_MB", deploy.function.ephemeralStorageMb),
    modelsDir: env.MODELS_DIR || join(ROOT, "fixtures/models"),
    sdModel: env.SD_MODEL || deploy.model.name,
    deploy,
  };
}

/**
 * What the emulator derives from the settings (pure): the variables docker-compose.yml interpolates and
 * the function's environment, the same variables the CDK stack gives the deployed function.
 */
export function emulatorFiles(
  settings: StackSettings,
  machineCores: number,
  baseImage: string,
): { compose: Record<string, string>; functionEnv: Record<string, string>; notes: string[] } {
  const { env: vars, limits } = composeEnv(settings, machineCores);
  const deploy: DeployConfig = {
    ...settings.deploy,
    model: { ...settings.deploy.model, ...(settings.sdModel ? { name: settings.sdModel } : {}) },
  };
  const { efs } = deploy;
  return {
    compose: {
      ...vars,
      BASE_IMAGE: baseImage,
      PLATFORM: dockerPlatform(deploy.function.architecture),
      // model location `image`: the runtime/Dockerfile target with the model baked in (MNT_DIR follows)
      BUILD_TARGET: deploy.model.location === "image" ? "model-in-image" : "function",
      MODELS_DIR: settings.modelsDir,
      MNT_DIR: efs.mountPath,
      // the access point's identity and root mode, given to the stand-in for the EFS mount
      EFS_UID: String(efs.uid),
      EFS_GID: String(efs.gid),
      EFS_MODE: efs.rootPermissions,
      // Lambda's payload limit, for the 413 the function URL front door answers in Lambda's place
      MAX_PAYLOAD_BYTES: String(MAX_PAYLOAD_BYTES),
    },
    functionEnv: {
      ...lambdaEnvironment(settings.memoryMb, settings.timeoutS),
      ...functionEnvironment(deploy),
    },
    notes: limits.capNote ? [limits.capNote] : [],
  };
}

/** Environment for docker commands: the project's compose v2 plugin and the classic builder (no buildx here). */
export function dockerEnv(): NodeJS.ProcessEnv {
  const config = execFileSync(join(ROOT, "scripts/docker.sh"), {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  }).trim();
  return { ...process.env, DOCKER_CONFIG: config, DOCKER_BUILDKIT: "0", COMPOSE_BAKE: "false" };
}

export interface Prepared {
  readonly env: NodeJS.ProcessEnv;
  readonly baseImage: string;
  readonly notes: string[];
}

/**
 * What every function image is built from: Docker answering, the runtime built, the production
 * dependencies staged (`stageArgs`: the CPU, x64 by default) and the base image. Shared by the emulator
 * and `sd-lambda deploy`.
 */
export function imageInputs(
  say: (line: string) => void,
  stageArgs: string[] = [],
): { env: NodeJS.ProcessEnv; baseImage: string } {
  const env = dockerEnv();
  const run = (file: string, args: string[] = []) =>
    execFileSync(file, args, {
      cwd: ROOT,
      env,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"],
    }).trim();
  say("building the runtime (npm run build)");
  run(process.execPath, [join(ROOT, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json"]);
  run(join(ROOT, "harness/emulator/stage-deps.sh"), stageArgs);
  return { env, baseImage: run(join(ROOT, "scripts/base-image.sh")) };
}

/** Everything before `compose up`: the image inputs, the env files, the image build. */
export function prepare(settings: StackSettings, say: (line: string) => void): Prepared {
  const { env, baseImage } = imageInputs(say);
  const { compose: vars, functionEnv, notes } = emulatorFiles(settings, availableParallelism(), baseImage);
  if (vars.BUILD_TARGET === "model-in-image" && settings.sdModel) {
    say(`model location image: baking ${settings.sdModel} from ${settings.modelsDir} into the image`);
    stageImageModel(join(settings.modelsDir, settings.sdModel), settings.sdModel);
  }
  mkdirSync(join(ROOT, ".cache"), { recursive: true });
  writeFileSync(ENV_FILE, envLines(vars));
  writeFileSync(FUNCTION_ENV_FILE, envLines(functionEnv));
  say(`building the function image on ${baseImage}`);
  compose(env, ["build", "function"], "progress");
  return { env, baseImage, notes };
}

function envLines(vars: Record<string, string>): string {
  return `${Object.entries(vars)
    .map(([k, v]) => `${k}=${v}`)
    .join("\n")}\n`;
}

/**
 * Runs `docker compose` for this project; throws with the exit code when it fails. "progress" shows its
 * output as progress, on stderr: stdout carries only what a verb prints (`--json` must stay parseable).
 */
export function compose(env: NodeJS.ProcessEnv, args: string[], stdio: "progress" | "pipe" = "pipe"): string {
  const result = spawnSync(
    "docker",
    ["compose", "--project-directory", ROOT, "--env-file", ENV_FILE, ...args],
    {
      cwd: ROOT,
      env,
      encoding: "utf8",
      stdio: ["ignore", stdio === "progress" ? 2 : "pipe", "inherit"],
    },
  );
  if (result.status !== 0)
    throw new Error(`docker compose ${args.join(" ")} exited with ${result.status ?? result.signal}`);
  return result.stdout ?? "";
}

export function up(settings: StackSettings, say: (line: string) => void): Prepared {
  const prepared = prepare(settings, say);
  compose(prepared.env, ["up", "-d", "--wait"], "progress");
  return prepared;
}

export function down(): void {
  const env = dockerEnv();
  mkdirSync(join(ROOT, ".cache"), { recursive: true });
  for (const file of [ENV_FILE, FUNCTION_ENV_FILE]) if (!existsSync(file)) writeFileSync(file, "");
  compose(env, ["down", "--remove-orphans", "--volumes"], "progress");
}
