/**
 * AWS Lambda on-demand prices, us-east-1, first duration tier (the first 6 billion GB-seconds a month),
 * the only price table in the repository. Source: https://aws.amazon.com/lambda/pricing/ — that page
 * renders its rates client-side; the values were read on 2026-12-07 from transcriptions of it
 * (artillery's lib/platform/aws-lambda/prices.js, "base" tier). Update the date with the values.
 */
export interface LambdaPrices {
  readonly region: string;
  readonly asOf: string;
  readonly source: string;
  /** USD per GB-second of configured memory (duration billed per 1 ms, rounded up). */
  readonly perGbSecond: { readonly x86_64: number; readonly arm64: number };
  /** USD per request. */
  readonly perRequest: number;
}

export const LAMBDA_PRICES: LambdaPrices = {
  region: "us-east-1",
  asOf: "2026-12-07",
  source: "https://aws.amazon.com/lambda/pricing/",
  perGbSecond: { x86_64: 0.0000166667, arm64: 0.0000133334 },
  perRequest: 0.2 / 1_000_000,
};

export type Architecture = keyof LambdaPrices["perGbSecond"];
