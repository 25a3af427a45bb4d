/** Summary statistics for benchmark samples (pure). Percentiles are nearest-rank: always a measured value. */

export interface Stats {
  readonly n: number;
  readonly min: number;
  readonly median: number;
  readonly p95: number;
  readonly max: number;
  readonly mean: number;
}

export function summarize(samples: readonly number[]): Stats {
  if (samples.length === 0) throw new Error("summarize: no samples");
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = (p: number) => sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)] as number;
  return {
    n: sorted.length,
    min: sorted[0] as number,
    median: rank(50),
    p95: rank(95),
    max: sorted[sorted.length - 1] as number,
    mean: sorted.reduce((s, v) => s + v, 0) / sorted.length,
  };
}
