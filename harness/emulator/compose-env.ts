/**
 * Prints the variables docker-compose.yml reads (KEY=VALUE lines, for `docker compose --env-file`),
 * derived from MEMORY_MB, TIMEOUT_S and EPHEMERAL_STORAGE_MB in the environment (defaults: 10240 MB,
 * 300 s, 512 MB); other variables compose reads (BASE_IMAGE, MODELS_DIR, SD_MODEL, AWS_REGION) pass
 * through when set. Says on stderr when the machine caps the CPU share.
 *   node harness/emulator/compose-env.ts > .cache/emulator.env
 */
import { availableParallelism } from "node:os";
import { composeEnv, DEFAULT_CONFIG, EmulatorConfigError } from "./config.ts";

const num = (name: string, fallback: number) => {
  const v = process.env[name];
  return v === undefined || v === "" ? fallback : Number(v);
};

try {
  const { env, limits } = composeEnv(
    {
      memoryMb: num("MEMORY_MB", DEFAULT_CONFIG.memoryMb),
      timeoutS: num("TIMEOUT_S", DEFAULT_CONFIG.timeoutS),
      ephemeralStorageMb: num("EPHEMERAL_STORAGE_MB", DEFAULT_CONFIG.ephemeralStorageMb),
    },
    availableParallelism(),
  );
  for (const name of ["BASE_IMAGE", "MODELS_DIR", "SD_MODEL", "AWS_REGION"]) {
    const v = process.env[name];
    if (v) env[name] = v;
  }
  if (limits.capNote) console.error(limits.capNote);
  for (const [k, v] of Object.entries(env)) console.log(`${k}=${v}`);
} catch (err) {
  if (err instanceof EmulatorConfigError) {
    console.error(err.message);
    process.exit(2);
  }
  throw err;
}
