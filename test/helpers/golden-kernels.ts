// The committed goldens were made on one CPU kernel path (their sidecars' fingerprint `isa`). On a host
// with the same path the gate's bytes tier applies; on another (AVX-512 vs AVX2, arm64) the fingerprint
// differs and the calibrated tolerance tier judges — the gate's own rule (harness/golden/compare.ts), which
// the golden tests must expect rather than assume the machine the goldens were made on.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { hostIsa } from "../../harness/golden/fingerprint.ts";

/** The kernel path the golden of case `name` was made with. */
export function goldenIsa(goldenDir: string, name: string): string | null {
  const sidecar = JSON.parse(readFileSync(join(goldenDir, `${name}.json`), "utf8"));
  return sidecar.fingerprint?.isa ?? null;
}

/** The fingerprint difference this host's kernel path makes for case `name`, if any (the gate's FieldDiff). */
export function isaDiff(goldenDir: string, name: string) {
  const expected = goldenIsa(goldenDir, name);
  const actual = hostIsa();
  return expected !== null && expected === actual ? [] : [{ field: "isa", expected, actual }];
}

/** The tier the gate judges case `name` in at `threads` (the goldens' own thread count is 2). */
export function expectedTier(goldenDir: string, name: string, threads: number): "bytes" | "tolerance" {
  return threads === 2 && isaDiff(goldenDir, name).length === 0 ? "bytes" : "tolerance";
}
