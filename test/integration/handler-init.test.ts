// What the handler's init does with its environment, each case a fresh module instance: malformed
// SD_* values fail init with a ConfigError, a default of 0 is allowed, and provisioned concurrency
// awaits the model load inside init (the environment is frozen right after it).
import { afterEach, expect, test, vi } from "vitest";
import { importHandler } from "../helpers/handler.ts";

const context = { awsRequestId: "init-1", getRemainingTimeInMillis: () => 300_000 };

afterEach(() => {
  // each test's import is a fresh module instance: its init runs again with the next environment
  vi.resetModules();
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
});

test("SD_DEFAULT_GUIDANCE=0 (what distilled models want) starts, and renders without guidance", async () => {
  const handler = await importHandler<Record<string, unknown>>({ SD_DEFAULT_GUIDANCE: "0" });
  const res = await handler({ prompt: "tree", num_inference_steps: 1, seed: 1 }, context);
  expect(res).toMatchObject({ guidance_scale: 0, num_inference_steps: 1 });
});

test("a malformed SD_THREADS fails init with a ConfigError naming it, instead of being ignored", async () => {
  await expect(importHandler({ SD_THREADS: "two" })).rejects.toMatchObject({
    name: "ConfigError",
    code: "CONFIG",
    message:
      'SD_THREADS="two" is not allowed: a whole number from 1 to 1024 (unset: one per 1,769 MB of memory)',
  });
});

test("a malformed SD_MAX_STEPS fails init with a typed ConfigError", async () => {
  await expect(importHandler({ SD_MAX_STEPS: "-3" })).rejects.toMatchObject({
    name: "ConfigError",
    message: 'SD_MAX_STEPS="-3" is not allowed: a whole number ≥ 1',
  });
});

test("with provisioned concurrency, init awaits the model load", async () => {
  const lines: string[] = [];
  vi.spyOn(console, "log").mockImplementation((line: string) => void lines.push(line));
  await importHandler({ AWS_LAMBDA_INITIALIZATION_TYPE: "provisioned-concurrency" });
  // logged before the module finished initialising: the load ran inside init
  expect(lines.map((l) => JSON.parse(l).event)).toEqual(["model_loaded"]);
});

test("on demand, init does not wait for the load (Lambda caps init at 10 s)", async () => {
  const lines: string[] = [];
  vi.spyOn(console, "log").mockImplementation((line: string) => void lines.push(line));
  await importHandler({ AWS_LAMBDA_INITIALIZATION_TYPE: "on-demand" });
  expect(lines).toEqual([]);
});
