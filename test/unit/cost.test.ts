// Lambda cost per image and the efficiency relations, on hand-computed numbers.
import { describe, expect, it } from "vitest";
import { PRICES_CHECKED } from "../../deploy/prices.ts";
import { invokeCost } from "../../harness/bench/cost.ts";
import { judgeEfficiency } from "../../harness/bench/efficiency.ts";

describe("invokeCost", () => {
  it("bills duration rounded up to 1 ms times configured GB, plus the request", () => {
    // 20,000.2 ms → 20.001 s × 3 GB = 60.003 GB-s
    const c = invokeCost(20_000.2, 3072);
    expect(c.usd.x86_64).toBeCloseTo(60.003 * 0.0000166667 + 0.0000002, 12);
    expect(c.usd.arm64).toBeCloseTo(60.003 * 0.0000133334 + 0.0000002, 12);
    expect(c).toMatchObject({ memoryMb: 3072, durationMs: 20_000.2, prices: { region: "us-east-1" } });
  });

  it("rounds a whole-millisecond duration to itself and dates its prices", () => {
    const c = invokeCost(1000, 1024);
    expect(c.usd).toEqual({ x86_64: 0.0000166667 + 0.0000002, arm64: 0.0000133334 + 0.0000002 });
    expect(c.prices).toEqual({ region: "us-east-1", asOf: PRICES_CHECKED, source: "deploy/prices.ts" });
  });
});

describe("judgeEfficiency", () => {
  it("relates counted work, measured times and the GEMM peak", () => {
    const work = {
      textEncoder: 1e9,
      unetPerEvaluation: 8e11,
      unetEvaluations: 4,
      vaeDecoder: 2.5e12,
      total: 5.701e12,
    };
    const gemm = { n: 2048, threads: 2, runs: 5, peakGflops: 200, medianGflops: 180 };
    const e = judgeEfficiency(work, { unetMs: 32_000, totalMs: 50_000 }, gemm);
    expect(e.unetGflops).toBeCloseTo(100, 9); // 3.2e12 FLOP in 32 s
    expect(e.unetFractionOfPeak).toBeCloseTo(0.5, 9);
    expect(e.imageGflops).toBeCloseTo(114.02, 9);
  });
});
