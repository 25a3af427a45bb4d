/** What one invoke costs on Lambda: duration (rounded up to 1 ms) × configured memory in GB, plus the request. */
import { type Architecture, LAMBDA_PRICES, type LambdaPrices } from "./prices.ts";

export interface Cost {
  readonly memoryMb: number;
  readonly durationMs: number;
  /** USD per image, by architecture. */
  readonly usd: Readonly<Record<Architecture, number>>;
  readonly prices: { readonly region: string; readonly asOf: string; readonly source: string };
}

export function invokeCost(durationMs: number, memoryMb: number, prices: LambdaPrices = LAMBDA_PRICES): Cost {
  const gbSeconds = (Math.ceil(durationMs) / 1000) * (memoryMb / 1024);
  const usd = (arch: Architecture) => gbSeconds * prices.perGbSecond[arch] + prices.perRequest;
  return {
    memoryMb,
    durationMs,
    usd: { x86_64: usd("x86_64"), arm64: usd("arm64") },
    prices: { region: prices.region, asOf: prices.asOf, source: prices.source },
  };
}

export function formatCost(c: Cost): string {
  const usd = (v: number) => `$${v.toPrecision(3)}`;
  return `  Lambda cost     ${usd(c.usd.x86_64)} x86_64, ${usd(c.usd.arm64)} arm64 per image at ${c.durationMs.toFixed(0)} ms and ${c.memoryMb} MB (${c.prices.region} prices of ${c.prices.asOf}; arm64 at this duration, which Graviton may not match)`;
}
