/**
 * The function's own module handler, imported fresh in-process: the tiny model from fixtures/, one
 * thread, and `env` (SD_* limits, init type…) stubbed into the environment its init reads. Call
 * `vi.unstubAllEnvs()` after the file, so the next file in the worker does not inherit them, and
 * `vi.resetModules()` before importing again (which also gives the handler its own runtime/errors.ts).
 */
import { vi } from "vitest";

export type InProcessHandler<R = unknown> = (event: unknown, context: unknown) => Promise<R>;

export async function importHandler<R = unknown>(env: Record<string, string>): Promise<InProcessHandler<R>> {
  const all = {
    MNT_DIR: new URL("../../fixtures", import.meta.url).pathname,
    SD_MODEL: "tiny-sd",
    SD_THREADS: "1",
    ...env,
  };
  for (const [name, value] of Object.entries(all)) vi.stubEnv(name, value);
  return (await import("../../runtime/handler.ts")).handler as InProcessHandler<R>;
}
