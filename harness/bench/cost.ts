/**
 * What one invoke costs on Lambda: duration (rounded up to 1 ms) × configured memory in GB, plus the
 * request, at the repository's one dated price table (deploy/prices.ts).
 */
import { type PER_GB_SECOND, PRICES_CHECKED, invokeCost as priced, REGION } from "../../deploy/prices.ts";

export type Architecture = keyof typeof PER_GB_SECOND;

export interface Cost {
  readonly memoryMb: number;
  readonly durationMs: number;
  /** USD per image, by architecture. */
  readonly usd: Readonly<Record<Architecture, number>>;
  readonly prices: { readonly region: string; readonly asOf: string; readonly source: string };
}

export function invokeCost(durationMs: number, memoryMb: number): Cost {
  const seconds = Math.ceil(durationMs) / 1000;
  return {
    memoryMb,
    durationMs,
    usd: { x86_64: priced(memoryMb, seconds, "x86_64"), arm64: priced(memoryMb, seconds, "arm64") },
    prices: { region: REGION, asOf: PRICES_CHECKED, source: "deploy/prices.ts" },
  };
}

export function formatCost(c: Cost): string {
  const usd = (v: number) => `$${v.toPrecision(3)}`;
  return `  Lambda cost     ${usd(c.usd.x86_64)} x86_64, ${usd(c.usd.arm64)} arm64 per image at ${c.durationMs.toFixed(0)} ms and ${c.memoryMb} MB (${c.prices.region} prices of ${c.prices.asOf}; arm64 at this duration, which Graviton may not match)`;
}
