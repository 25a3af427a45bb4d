// The committed goldens were made on one CPU kernel path (their sidecars' fingerprint `isa`). On a host
// with the same path the gate's bytes tier applies; on another (AVX-512 vs AVX2, arm64) the fingerprint
// differs and the calibrated tolerance tier judges — the gate's own rule (harness/golden/compare.ts), which
// the golden tests must expect rather than assume the machine the goldens were made on.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type Fingerprint, fingerprintDiffs, hostIsa } from "../../harness/golden/index.ts";

/**
 * The fingerprint difference this host's kernel path makes for case `name`, if any, as the gate reports it
 * (its FieldDiff), judged by the gate's comparison: the golden's fingerprint with only its `isa` replaced.
 */
export function isaDiff(goldenDir: string, name: string) {
  const golden: Fingerprint = JSON.parse(readFileSync(join(goldenDir, `${name}.json`), "utf8")).fingerprint;
  return fingerprintDiffs(golden, { ...golden, isa: hostIsa() })
    .filter((d) => d.field === "isa")
    .map((d) => ({ field: d.field, expected: d.golden, actual: d.run }));
}

/** The tier the gate judges case `name` in at `threads` (the goldens' own thread count is 2). */
export function expectedTier(goldenDir: string, name: string, threads: number): "bytes" | "tolerance" {
  return threads === 2 && isaDiff(goldenDir, name).length === 0 ? "bytes" : "tolerance";
}
