// `sd-lambda bench` reports the work, the achieved rate against a GEMM peak measured in the same run,
// and the Lambda cost, on the tiny model. Relations between the numbers only; no timing is asserted.
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, it } from "vitest";
import { invokeCost } from "../../harness/bench/cost.ts";
import { countWork } from "../../harness/bench/flops.ts";
import { readGraph } from "../../harness/bench/onnx-proto.ts";
import type { BenchReport } from "../../harness/commands/bench.ts";
import { runCli } from "../helpers/cli.ts";

it("bench --json carries UNet evaluations × FLOPs, GFLOP/s, the fraction of the GEMM peak and the cost", async () => {
  const dir = mkdtempSync(join(tmpdir(), "bench-eff-"));
  const args = ["bench", "--runs", "2", "--steps", "3", "--scheduler", "pndm", "--memory-mb", "3008"];
  const { code, stdout, stderr } = await runCli([...args, "--json", "--report", join(dir, "r.json")]);
  expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
  const r = JSON.parse(stdout) as BenchReport;
  const e = r.efficiency;
  if (!e) throw new Error("no efficiency in the report");
  // PNDM (skip_prk_steps) calls the UNet once more than the steps; guidance on → batch 2
  expect(e.work.unetEvaluations).toBe(4);
  const unet = readGraph(readFileSync("fixtures/models/tiny-sd/unet/model.onnx"));
  const shapes = { sample: [2, 4, 8, 8], timestep: [], encoder_hidden_states: [2, 77, 16] };
  expect(e.work.unetPerEvaluation).toBe(countWork(unet, shapes).flops);
  expect(e.work.total).toBe(e.work.textEncoder + 4 * e.work.unetPerEvaluation + e.work.vaeDecoder);
  const unetSeconds = (r.warm.stagesMs.unet?.median as number) / 1000;
  expect(e.unetGflops).toBeCloseTo((4 * e.work.unetPerEvaluation) / unetSeconds / 1e9, 6);
  expect(e.gemm).toMatchObject({ n: 2048, threads: r.engine.threads, runs: 5 });
  expect(e.gemm.peakGflops).toBeGreaterThanOrEqual(e.gemm.medianGflops);
  expect(e.unetFractionOfPeak).toBeCloseTo(e.unetGflops / e.gemm.peakGflops, 9);
  expect(r.cost).toEqual(invokeCost(r.warm.totalMs.median, 3008));
  expect(r.cost?.usd.x86_64).toBeGreaterThan(r.cost?.usd.arm64 as number);

  const text = await runCli([...args, "--report", join(dir, "t.json")]);
  expect(text.stdout).toMatch(
    /\n {2}work {12}[\d.]+ GFLOP per image: text encoder [\d.]+ GFLOP, UNet 4 × [\d.]+ GFLOP, VAE decoder [\d.]+ GFLOP \(Conv\/MatMul\/Gemm, 2 FLOPs per MAC\)\n/,
  );
  expect(text.stdout).toMatch(
    /\n {2}achieved {8}UNet [\d.]+ GFLOP\/s = \d+ % of the fp32 GEMM peak; whole image [\d.]+ GFLOP\/s\n/,
  );
  expect(text.stdout).toMatch(
    /\n {2}Lambda cost {5}\$[\d.e-]+ x86_64, \$[\d.e-]+ arm64 per image at \d+ ms and 3008 MB \(us-east-1 prices of /,
  );
});
