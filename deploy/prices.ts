/**
 * Lambda's on-demand prices this repository's cost figures use, in one place, with their date.
 * Source: https://aws.amazon.com/lambda/pricing/ (US East (N. Virginia), first pricing tier), as
 * transcribed in artillery's lib/platform/aws-lambda/prices.js (checked 2026-12-07; the AWS page
 * renders its rates client-side). Other regions differ; check the page before relying on a number.
 * `node deploy/prices.ts` prints the README's cost table.
 */
export const PRICES_CHECKED = "2026-12-07";
export const REGION = "us-east-1";

/** USD per GB-second of duration (memory in GB × seconds). */
export const PER_GB_SECOND = { x86_64: 0.0000166667, arm64: 0.0000133334 } as const;
/** USD per request. */
export const PER_REQUEST = 0.2 / 1e6;

/** USD for one invoke of `seconds` at `memoryMb` (ephemeral storage ≤ 512 MB is included). */
export function invokeCost(
  memoryMb: number,
  seconds: number,
  architecture: keyof typeof PER_GB_SECOND,
): number {
  return (memoryMb / 1024) * seconds * PER_GB_SECOND[architecture] + PER_REQUEST;
}

if (import.meta.main) {
  const rows = [
    [10240, 60],
    [10240, 240],
    [3008, 240],
  ] as const;
  const usd = (n: number) => `$${n.toFixed(4)}`;
  console.log(`| memory | duration | x86_64 | arm64 | (${REGION}, prices checked ${PRICES_CHECKED}) |`);
  console.log("|---|---|---|---|---|");
  for (const [mb, s] of rows)
    console.log(
      `| ${mb.toLocaleString("en-US")} MB | ${s} s | ${usd(invokeCost(mb, s, "x86_64"))} | ${usd(invokeCost(mb, s, "arm64"))} | per image |`,
    );
}
