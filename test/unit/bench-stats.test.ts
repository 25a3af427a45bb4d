// The bench's summary statistics: nearest-rank percentiles, so every figure is a measured value.
import { describe, expect, it } from "vitest";
import { summarize } from "../../harness/bench/stats.ts";

describe("summarize", () => {
  it("one sample is every statistic", () => {
    expect(summarize([42])).toEqual({ n: 1, min: 42, median: 42, p95: 42, max: 42, mean: 42 });
  });
  it("nearest rank: the median of an even count is the lower middle value, p95 of 20 is the 19th", () => {
    const twenty = Array.from({ length: 20 }, (_, i) => 20 - i); // 20..1, unsorted on purpose
    expect(summarize(twenty)).toEqual({ n: 20, min: 1, median: 10, p95: 19, max: 20, mean: 10.5 });
    expect(summarize([3, 1, 4, 2])).toMatchObject({ median: 2, p95: 4 });
  });
  it("does not reorder the caller's array", () => {
    const samples = [5, 1, 3];
    summarize(samples);
    expect(samples).toEqual([5, 1, 3]);
  });
  it("refuses no samples rather than inventing a number", () => {
    expect(() => summarize([])).toThrow("summarize: no samples");
  });
});
