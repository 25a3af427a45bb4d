// The committed goldens were made on one CPU kernel path (their sidecars' fingerprint `isa`). On a host
// with the same path the gate's bytes tier applies; on another (AVX-512 vs AVX2, arm64) the fingerprint
// differs and the calibrated tolerance tier judges, unless the sidecar recorded that engine's bytes too
// (`engines`) — the gate's own rule (harness/golden/compare.ts, store.ts), which the golden tests must
// expect rather than assume the machine the goldens were made on.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  type Fingerprint,
  fingerprintDiffs,
  hostIsa,
  recordedSha256,
  type Sidecar,
} from "../../harness/golden/index.ts";

const sidecar = (goldenDir: string, name: string): Sidecar =>
  JSON.parse(readFileSync(join(goldenDir, `${name}.json`), "utf8"));

/**
 * The fingerprint difference this host's kernel path makes for case `name`, if any, as the gate reports it
 * (its FieldDiff), judged by the gate's comparison: the golden's fingerprint with only its `isa` replaced.
 */
export function isaDiff(goldenDir: string, name: string) {
  const golden: Fingerprint = sidecar(goldenDir, name).fingerprint;
  return fingerprintDiffs(golden, { ...golden, isa: hostIsa() })
    .filter((d) => d.field === "isa")
    .map((d) => ({ field: d.field, expected: d.golden, actual: d.run }));
}

/**
 * The tier the gate judges case `name` in at `threads` on this host: bytes on the golden's own engine
 * (its thread count is 2) or on one whose bytes the sidecar recorded, else tolerance.
 */
export function expectedTier(goldenDir: string, name: string, threads: number): "bytes" | "tolerance" {
  const golden = sidecar(goldenDir, name);
  const here = { ...golden.fingerprint, threads, isa: hostIsa() };
  return fingerprintDiffs(golden.fingerprint, here).length === 0 || recordedSha256(golden, here) !== undefined
    ? "bytes"
    : "tolerance";
}
