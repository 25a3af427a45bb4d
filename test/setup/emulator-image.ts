// vitest globalSetup: before any test file runs, make the function image the emulator tests start
// (Docker ready, runtime built, dependencies staged, base image chosen, `docker compose build`).
// Quick when nothing changed; on a fresh machine it builds the stand-in base image (a few minutes).
import { prepare, settingsFromEnv } from "../../harness/emulator/stack.ts";

export default function setup(): void {
  process.env.TESTCONTAINERS_RYUK_DISABLED = "true";
  const started = performance.now();
  const { env, baseImage, notes } = prepare(settingsFromEnv(), (line) =>
    process.stderr.write(`[sd-lambda] ${line}\n`),
  );
  process.env.DOCKER_CONFIG = env.DOCKER_CONFIG;
  process.env.SD_LAMBDA_BASE_IMAGE = baseImage;
  for (const note of notes) process.stderr.write(`${note}\n`);
  process.stderr.write(
    `[sd-lambda] function image ready on ${baseImage} in ${((performance.now() - started) / 1000).toFixed(1)} s\n`,
  );
}
