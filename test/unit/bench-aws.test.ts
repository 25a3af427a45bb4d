// `sd-lambda bench --target aws` against a deployed function, which cannot be reached from here: msw
// answers as Lambda's Invoke API does (LogResult tail with the REPORT line, Init Duration only when the
// environment was cold). Asserts what the bench derives from those answers.
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HttpResponse, http } from "msw";
import { describe, expect, it } from "vitest";
import type { BenchResult } from "../../harness/bench/measure.ts";
import { runCli } from "../helpers/cli.ts";
import { INVOKE, mockLambdaApi } from "../helpers/lambda-api.ts";

const server = mockLambdaApi();
const dir = mkdtempSync(join(tmpdir(), "bench-aws-"));

/** Lambda answering invoke n (0-based) with `image(n)` and a REPORT line; cold when `cold(n)`. */
function lambda(options: { cold: (n: number) => boolean; image: (n: number) => string; bodies: unknown[] }) {
  let n = 0;
  server.use(
    http.post(INVOKE, async ({ request }) => {
      const i = n++;
      options.bodies.push(await request.json());
      const id = `req-${i}`;
      const tail = [
        ...(options.cold(i)
          ? [
              `2026-11-25T05:00:00.000Z\t${id}\tINFO\t{"level":"info","event":"model_loaded","model":"sd15","threads":6,"load_ms":7412}`,
            ]
          : []),
        `END RequestId: ${id}`,
        `REPORT RequestId: ${id}\tDuration: ${20000 + i} ms\tBilled Duration: ${20001 + i} ms\tMemory Size: 10240 MB\tMax Memory Used: ${7000 + 100 * i} MB\t${options.cold(i) ? "Init Duration: 812.33 ms\t" : ""}`,
        "",
      ].join("\n");
      return HttpResponse.json(
        {
          image_base64: options.image(i),
          content_type: "image/png",
          seed: 1,
          width: 512,
          height: 512,
          num_inference_steps: 4,
          guidance_scale: 7.5,
          scheduler: "lms",
          mode: "txt2img",
          model: "sd15",
          timings_ms: { text_encoder: 40, unet: 12000, vae_decode: 3000, total: 15100 },
          warnings: [],
          request_id: id,
          engine: { onnxruntime: "1.30.0", threads: 6 },
        },
        { headers: { "x-amz-log-result": Buffer.from(tail).toString("base64") } },
      );
    }),
  );
}

const AWS = ["bench", "--target", "aws", "--function-name", "sd", "--region", "eu-west-1"];

describe("sd-lambda bench --target aws (msw stands in for Lambda)", () => {
  it("a cold first invoke: init from its REPORT, model load from its log tail, memory from REPORT", async () => {
    const bodies: unknown[] = [];
    lambda({ cold: (i) => i === 0, image: () => "UE5HIQ==", bodies });
    const report = join(dir, "cold.json");
    const { code, stdout, stderr } = await runCli([
      ...AWS,
      "--runs",
      "2",
      "--steps",
      "4",
      "--json",
      "--report",
      report,
    ]);
    expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
    const r = JSON.parse(stdout) as BenchResult;
    expect(JSON.parse(readFileSync(report, "utf8"))).toEqual(r);
    expect(bodies).toEqual(
      Array(3).fill({
        prompt: "a photograph of an astronaut riding a horse",
        seed: 1,
        num_inference_steps: 4,
      }),
    );
    expect(r).toMatchObject({
      target: "aws",
      where: "sd (eu-west-1)",
      model: "sd15",
      request: {
        width: 512,
        height: 512,
        steps: 4,
        scheduler: "lms",
        guidance: 7.5,
        seed: 1,
        mode: "txt2img",
      },
      engine: { onnxruntime: "1.30.0", threads: 6 },
      coldStart: { initMs: 812.33, modelLoadMs: 7412 },
      lambda: { memorySizeMb: 10240, maxMemoryUsedMb: 7200 },
      identical: true,
    });
    expect(r.runs.map((x) => x.reportDurationMs)).toEqual([20000, 20001, 20002]);
    expect(r.runs.map((x) => x.cold)).toEqual([true, false, false]);
    expect(r.warm.unetPerStepMs).toMatchObject({ n: 2, median: 3000 });
  });

  it("a warm first invoke is said to be warm, and memory is read for a person", async () => {
    lambda({ cold: () => false, image: () => "UE5HIQ==", bodies: [] });
    const { code, stdout, stderr } = await runCli([
      ...AWS,
      "--runs",
      "1",
      "--report",
      join(dir, "warm.json"),
    ]);
    expect(code).toBe(0);
    expect(stderr).toMatch(/^ {2}first \(warm\): \d+ ms \(unet 12000 ms, REPORT 20000 ms\)\n/);
    expect(stdout).toContain(
      "  cold start      none: the first invoke found a warm environment (Lambda decides; try again later)\n",
    );
    expect(stdout).toContain("  memory          max used 7100 MB of 10240 MB (REPORT)\n");
    const r = JSON.parse(readFileSync(join(dir, "warm.json"), "utf8")) as BenchResult;
    expect(r.coldStart).toBeNull();
    expect(r.runs.map((x) => x.cold)).toEqual([false, false]);
    expect(Object.keys(r)).not.toContain("reports");
  });

  it("different images for the same seed: the timings are void, exit 1", async () => {
    lambda({ cold: () => false, image: (i) => Buffer.from(`image ${i}`).toString("base64"), bodies: [] });
    const { code, stdout, stderr } = await runCli([
      ...AWS,
      "--runs",
      "1",
      "--report",
      join(dir, "unstable.json"),
    ]);
    expect(code).toBe(1);
    expect(stdout).toContain("  reproducible    NO: the images differ between runs\n");
    expect(stderr).toMatch(
      /sd-lambda bench: the runs did not all give the same image for the same seed — the engine is not reproducible, so these timings describe different work; see the sha256 of each run in the report\n$/,
    );
  });
});
