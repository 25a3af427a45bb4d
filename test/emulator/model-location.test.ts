// Model location `image`: the model baked into the function image (runtime/Dockerfile target
// model-in-image) serves the same image as the model mounted as EFS, every file is readable by uid 993,
// and the model's bytes are stored once (a `RUN chmod -R` after the COPY would store them twice).
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import type { StartedTestContainer } from "testcontainers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IMAGE_MODELS_ROOT } from "../../deploy/config.ts";
import { LambdaContainer } from "../../harness/emulator/lambda-container.ts";
import { buildModelImage } from "../../harness/emulator/model-image.ts";
import { dockerEnv, ROOT } from "../../harness/emulator/stack.ts";
import { invoke } from "../../harness/invoke/client.ts";
import { runPreflight } from "../../harness/preflight/index.ts";

const TINY = join(ROOT, "fixtures/models/tiny-sd");
const REQUEST = { prompt: "beautiful tree", seed: 7, num_inference_steps: 2 };

function imageBytes(image: string): number {
  return Number(
    execFileSync("docker", ["image", "inspect", image, "-f", "{{.Size}}"], { encoding: "utf8" }).trim(),
  );
}

describe("model location image", () => {
  let image: string;
  let baked: StartedTestContainer;
  let mounted: StartedTestContainer;
  beforeAll(async () => {
    const base = process.env.SD_LAMBDA_BASE_IMAGE as string;
    image = buildModelImage(TINY, dockerEnv(), base, () => {});
    [baked, mounted] = await Promise.all([
      new LambdaContainer({
        modelsDir: undefined,
        image,
        environment: { MNT_DIR: IMAGE_MODELS_ROOT, SD_MODEL: "tiny-sd" },
        memoryMb: 2048,
        timeoutS: 60,
      }).start(),
      new LambdaContainer({
        modelsDir: join(ROOT, "fixtures/models"),
        environment: { SD_MODEL: "tiny-sd" },
        memoryMb: 2048,
        timeoutS: 60,
      }).start(),
    ]);
  });
  afterAll(async () => {
    await baked?.stop();
    await mounted?.stop();
  });

  it("serves the same image as the model mounted as EFS", async () => {
    const endpoint = (c: StartedTestContainer) => ({
      kind: "local" as const,
      endpoint: `http://${c.getHost()}:${c.getMappedPort(8080)}`,
    });
    const fromImage = await invoke(REQUEST, endpoint(baked), { timeoutS: 60, dockerLogs: false });
    const fromEfs = await invoke(REQUEST, endpoint(mounted), { timeoutS: 60, dockerLogs: false });
    expect(fromImage.result.model).toBe("tiny-sd");
    expect(fromImage.image.equals(fromEfs.image)).toBe(true);
  });

  it("every file is readable by uid 993 and the model is stored once", async () => {
    const report = await runPreflight({
      runtime: "nodejs24.x",
      memoryMb: 2048,
      source: { kind: "image", image, env: dockerEnv() },
    });
    expect(report.checks.find((c) => c.name === "permissions")?.status).toBe("pass");
    const model = Number(execFileSync("du", ["-sb", TINY], { encoding: "utf8" }).split("\t")[0]);
    const added = imageBytes(image) - imageBytes("sd-lambda/function");
    expect(added).toBeGreaterThanOrEqual(model * 0.95);
    expect(added).toBeLessThan(model * 1.5);
  });
});
