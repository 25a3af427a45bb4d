// `sd-lambda bench --target emulator`: a fresh function container per bench, so the first invoke is a
// real cold start. Asserts what is measured and that it agrees with the in-process engine; no timing
// is asserted.
import { chmodSync, cpSync, mkdtempSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { benchEmulator, benchLocal } from "../../harness/bench/measure.ts";
import { sandboxLimits } from "../../harness/emulator/config.ts";
import { dockerEnv, ROOT } from "../../harness/emulator/stack.ts";
import { runCli } from "../helpers/cli.ts";

const MODEL = join(ROOT, "fixtures/models/tiny-sd");
const REQUEST = { prompt: "a lighthouse at dusk", seed: 3, num_inference_steps: 3, scheduler: "euler" };
const quiet = () => {};

describe("bench in the emulator", () => {
  it("cold start from the RIE's INIT REPORT and the model_loaded line, REPORT per invoke, cgroup memory, the local engine's image", {
    timeout: 180_000,
  }, async () => {
    process.env.TESTCONTAINERS_RYUK_DISABLED = "true";
    const memoryMb = 2048;
    const r = await benchEmulator({
      modelDir: MODEL,
      request: REQUEST,
      runs: 2,
      say: quiet,
      memoryMb,
      timeoutS: 60,
      cpus: sandboxLimits(memoryMb, availableParallelism()).cpus,
      env: dockerEnv(),
    });
    expect(r).toMatchObject({
      target: "emulator",
      model: "tiny-sd",
      request: { width: 64, height: 64, steps: 3, scheduler: "euler", seed: 3, mode: "txt2img" },
      identical: true,
    });
    expect(r.coldStart?.initMs).toBeGreaterThan(0);
    expect(r.coldStart?.modelLoadMs).toBeGreaterThan(0);
    expect(r.runs.map((x) => x.cold)).toEqual([true, false, false]);
    for (const x of r.runs) expect(x.reportDurationMs).toBeGreaterThan(0);
    // 2048 MB is 1.16 vCPU on Lambda: the function runs one thread
    expect(r.engine.threads).toBe(1);
    expect(r.sandbox?.memoryMb).toBe(memoryMb);
    expect(r.sandbox?.memory.maxUsedMb).toBeGreaterThan(0);
    expect(r.sandbox?.memory.maxUsedMb).toBeLessThan(memoryMb);
    expect(r.sandbox?.memory.oomKills).toBe(0);

    const local = await benchLocal({ modelDir: MODEL, request: REQUEST, runs: 1, say: quiet, threads: 1 });
    expect(local.runs[0]?.sha256).toBe(r.runs[0]?.sha256);
  });

  it("a run killed for memory is named as such, with the limit and the cgroup peak", {
    timeout: 120_000,
  }, async () => {
    const memoryMb = 512;
    const failure = benchEmulator({
      modelDir: MODEL,
      request: { ...REQUEST, width: 512, height: 512, num_inference_steps: 1 },
      runs: 1,
      say: quiet,
      memoryMb,
      timeoutS: 60,
      cpus: sandboxLimits(memoryMb, availableParallelism()).cpus,
      env: dockerEnv(),
    });
    await expect(failure).rejects.toThrow(
      /^the first run was killed for memory: the function has 512 MB and used 5\d\d MB \(cgroup peak, \d+ OOM kills?\); Lambda would answer Runtime\.OutOfMemory — raise --memory-mb \(at most 10240\) or lower --width\/--height \(the emulator answered Runtime\.ExitError: RequestId: \S+ Error: Runtime exited with error: signal: killed\)$/,
    );
  });

  it("the function opens the graphs `models optimize` saved on this host: same CPU key inside the image, read-only mount, uid 993", {
    timeout: 180_000,
  }, async () => {
    const root = mkdtempSync(join(tmpdir(), "graphs-emulator-"));
    const dir = join(root, "tiny-sd");
    cpSync(MODEL, dir, { recursive: true });
    chmodSync(root, 0o755); // mkdtemp's 0700 would keep uid 993 out
    expect((await runCli(["models", "optimize", dir, "--threads", "1"])).code).toBe(0);
    const memoryMb = 2048;
    const bench = (graphs: "use" | "off") =>
      benchEmulator({
        modelDir: dir,
        request: REQUEST,
        runs: 1,
        say: quiet,
        memoryMb,
        timeoutS: 60,
        cpus: sandboxLimits(memoryMb, availableParallelism()).cpus,
        env: dockerEnv(),
        graphs,
      });
    const saved = await bench("use");
    expect(saved.coldStart?.optimizedParts).toEqual(["text_encoder", "unet", "vae_decoder", "vae_encoder"]);
    const exported = await bench("off");
    expect(exported.coldStart?.optimizedParts).toEqual([]);
    expect(saved.runs.map((r) => r.sha256)).toEqual(exported.runs.map((r) => r.sha256));
  });
});
