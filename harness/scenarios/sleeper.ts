/**
 * The sleeper function image: the function image with sleeper/sleeper.mjs as its handler. Scenarios
 * and tests that need an init or an invoke of a known length (init over 10 s, an invoke the timeout
 * ends, a second invoke while one runs) use it, so nothing depends on how fast this machine renders.
 */
import { join } from "node:path";
import { deriveImage } from "./sandbox.ts";

export const SLEEPER_IMAGE = "sd-lambda/sleeper";

/** Builds (or reuses, docker's cache) the sleeper image; returns its tag. */
export function sleeperImage(env: NodeJS.ProcessEnv): string {
  return deriveImage(
    SLEEPER_IMAGE,
    [
      "USER root",
      "COPY sleeper.mjs /var/task/sleeper.mjs",
      "RUN chmod 0644 /var/task/sleeper.mjs",
      'CMD ["sleeper.handler"]',
    ],
    env,
    { [join(import.meta.dirname, "sleeper/sleeper.mjs")]: "sleeper.mjs" },
  );
}
