/**
 * The golden gate's verdicts, pure (no I/O): one discriminated union `Outcome`, and the functions that
 * reach it from decoded RGBA pixels, sha256s, contracts and engine fingerprints. Two tiers: on the golden's
 * own engine (same fingerprint) the image must be byte-identical; on another engine pixelmatch (per-pixel
 * YIQ threshold) may find a few differing pixels overall (a whole-image budget) but no dense cluster of
 * them (the most differing pixels in any `window`×`window` square), with limits calibrated from measured
 * variation (docs/decisions/golden-tolerance.md, `make calibrate-golden`).
 */
import pixelmatch from "pixelmatch";

/** Decoded pixels, 4 bytes (RGBA) per pixel, row-major. */
export interface RgbaImage {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
}

export interface CompareOptions {
  /** pixelmatch's per-pixel threshold (0..1, YIQ distance); smaller is stricter. */
  readonly threshold: number;
  /** Count pixels pixelmatch would call anti-aliasing as differences too (generated images have no AA). */
  readonly includeAA: boolean;
  /** Whole-image budget: at most this fraction of pixels may differ. */
  readonly maxDiffRatio: number;
  /** Side of the square window of the dense-region check. */
  readonly window: number;
  /** At most this many differing pixels in any window. */
  readonly maxWindowDiff: number;
}

/**
 * The tolerance tier, calibrated (docs/decisions/golden-tolerance.md): across thread counts and between
 * this machine and the goldens' earlier machine (another CPU kernel path) no channel moved by more than 1
 * level and pixelmatch found no difference from threshold 0.005 up; twice that threshold, and a budget of a
 * few scattered pixels, leaves room for paths not measured while a 3-level grey shift of a region fails.
 */
export const DEFAULT_COMPARE_OPTIONS: CompareOptions = {
  threshold: 0.01,
  includeAA: true,
  maxDiffRatio: 0.001,
  window: 8,
  maxWindowDiff: 2,
};

/** Where the differing pixels are densest. */
export interface DensestWindow {
  readonly x: number;
  readonly y: number;
  readonly size: number;
  readonly count: number;
}

export interface PixelStats {
  readonly count: number;
  readonly total: number;
  readonly ratio: number;
  readonly densest: DensestWindow;
  /** Which limits the difference breaks (empty when within both). */
  readonly exceeded: readonly ("budget" | "dense")[];
}

export interface FieldDiff {
  readonly field: string;
  readonly expected: unknown;
  readonly actual: unknown;
}

export type Outcome =
  /**
   * `bytes`: the sha256 this engine must give — the golden image's own when the fingerprint is the golden's,
   * else the one recorded for this engine in the sidecar's `engines`; `tolerance`: another engine, within it.
   */
  | {
      readonly kind: "match";
      readonly tier: "bytes" | "tolerance";
      readonly pixels: PixelStats;
      /** The fingerprint fields that differ from the golden image's engine (tolerance tier, or bytes recorded for this engine). */
      readonly fingerprint?: readonly FieldDiff[];
    }
  | { readonly kind: "missing-golden" }
  | {
      readonly kind: "size-mismatch";
      readonly expected: { readonly width: number; readonly height: number };
      readonly actual: { readonly width: number; readonly height: number };
    }
  /**
   * Not the bytes this engine must give. On the golden image's own engine `pixels` counts every pixel that
   * changed at all; on an engine with recorded bytes (`fingerprint` then says how it differs from the image's)
   * `pixels` compares with the golden image, another engine's, by the tolerance. `withinTolerance` says
   * whether the change would pass the tolerance tier.
   */
  | {
      readonly kind: "bytes-diff";
      readonly pixels: PixelStats;
      readonly withinTolerance: boolean;
      readonly fingerprint?: readonly FieldDiff[];
    }
  /** Another engine, and the difference is over the perceptual tolerance. */
  | { readonly kind: "pixel-diff"; readonly pixels: PixelStats; readonly fingerprint: readonly FieldDiff[] }
  /** The answer's contract (content type, resolved request, headers) is not the golden's. */
  | { readonly kind: "contract"; readonly fields: readonly FieldDiff[]; readonly pixels?: PixelStats }
  /** Two runs of the case on this machine gave different pixels: no golden can pin it. */
  | { readonly kind: "unstable"; readonly differingPixels: number; readonly total: number }
  /** The case could not run (the function answered an error, the endpoint is down). */
  | { readonly kind: "error"; readonly message: string };

export type OutcomeKind = Outcome["kind"];

export interface PixelComparison {
  readonly stats: PixelStats;
  /** pixelmatch's diff picture: the expected image faded, differing pixels red. */
  readonly diff: RgbaImage;
}

/** pixelmatch plus the budget and dense-region checks; undefined when the sizes differ. */
export function comparePixels(
  expected: RgbaImage,
  actual: RgbaImage,
  options: CompareOptions = DEFAULT_COMPARE_OPTIONS,
): PixelComparison | undefined {
  if (expected.width !== actual.width || expected.height !== actual.height) return undefined;
  const { width, height } = expected;
  const pm = { threshold: options.threshold, includeAA: options.includeAA };
  const mask = new Uint8Array(width * height * 4);
  const count = pixelmatch(expected.data, actual.data, mask, width, height, { ...pm, diffMask: true });
  const picture = new Uint8Array(width * height * 4);
  pixelmatch(expected.data, actual.data, picture, width, height, pm);
  const differs = new Uint8Array(width * height);
  for (let i = 0; i < differs.length; i++) differs[i] = (mask[i * 4 + 3] as number) > 0 ? 1 : 0;
  const total = width * height;
  const densest = densestWindow(differs, width, height, options.window);
  const exceeded: ("budget" | "dense")[] = [];
  if (count / total > options.maxDiffRatio) exceeded.push("budget");
  if (densest.count > options.maxWindowDiff) exceeded.push("dense");
  return {
    stats: { count, total, ratio: count / total, densest, exceeded },
    diff: { width, height, data: picture },
  };
}

/** The window (clipped to the image) holding the most set cells of a 0/1 mask, via a summed-area table. */
export function densestWindow(mask: Uint8Array, width: number, height: number, size: number): DensestWindow {
  const w = Math.min(size, width);
  const h = Math.min(size, height);
  const sat = new Uint32Array((width + 1) * (height + 1));
  for (let y = 0; y < height; y++) {
    let row = 0;
    for (let x = 0; x < width; x++) {
      row += mask[y * width + x] as number;
      sat[(y + 1) * (width + 1) + x + 1] = (sat[y * (width + 1) + x + 1] as number) + row;
    }
  }
  const at = (x: number, y: number) => sat[y * (width + 1) + x] as number;
  let best: DensestWindow = { x: 0, y: 0, size, count: 0 };
  for (let y = 0; y + h <= height; y++) {
    for (let x = 0; x + w <= width; x++) {
      const count = at(x + w, y + h) - at(x, y + h) - at(x + w, y) + at(x, y);
      if (count > best.count) best = { x, y, size, count };
    }
  }
  return best;
}

/** Differing fields between two flat records (the golden's contract and this run's), in `fields` order. */
export function compareFields(
  expected: Readonly<Record<string, unknown>>,
  actual: Readonly<Record<string, unknown>>,
  fields: readonly string[] = [...new Set([...Object.keys(expected), ...Object.keys(actual)])].sort(),
): FieldDiff[] {
  const diffs: FieldDiff[] = [];
  for (const field of fields) {
    const e = expected[field];
    const a = actual[field];
    if (JSON.stringify(e) !== JSON.stringify(a)) diffs.push({ field, expected: e, actual: a });
  }
  return diffs;
}

export interface Verdict {
  readonly outcome: Outcome;
  readonly diff?: RgbaImage;
}

/** One side of a comparison: decoded pixels, the image file's sha256, its contract and engine fingerprint. */
export interface Judged {
  readonly image: RgbaImage;
  readonly sha256: string;
  readonly contract: Readonly<Record<string, unknown>>;
  /** Fingerprint fields that differ between the golden's engine and this run's (fingerprint.ts). */
  readonly fingerprintDiffs: readonly FieldDiff[];
}

/** The golden side: its image, sha256 and contract, and the sha256 recorded for the run's engine, if any. */
export interface Expected extends Omit<Judged, "fingerprintDiffs"> {
  /** From the sidecar's `engines`, when the run's engine is not the image's own (store.ts). */
  readonly recordedSha256?: string;
}

/** Every changed pixel counts: the exact tier's view of two images. */
const EXACT: CompareOptions = { threshold: 0, includeAA: true, maxDiffRatio: 0, window: 8, maxWindowDiff: 0 };

/**
 * The outcome for one case: golden (undefined when missing) vs this run. A contract difference wins (the
 * answer itself changed), then size. With the golden's engine fingerprint the file must be byte-identical
 * (sha256) — the same engine computes the same bytes — and any difference is shown pixel by pixel; on
 * another engine whose bytes were recorded, those bytes are required, and the pixels are shown against the
 * golden image by the tolerance; on any other engine the perceptual tolerance `options` applies.
 */
export function judge(
  golden: Expected | undefined,
  actual: Judged,
  options: CompareOptions = DEFAULT_COMPARE_OPTIONS,
): Verdict {
  if (!golden) return { outcome: { kind: "missing-golden" } };
  const sameEngine = actual.fingerprintDiffs.length === 0;
  const compared = comparePixels(golden.image, actual.image, sameEngine ? EXACT : options);
  const contract = compareFields(golden.contract, actual.contract);
  if (contract.length > 0) {
    return compared
      ? { outcome: { kind: "contract", fields: contract, pixels: compared.stats }, diff: compared.diff }
      : { outcome: { kind: "contract", fields: contract } };
  }
  if (!compared) {
    return {
      outcome: {
        kind: "size-mismatch",
        expected: { width: golden.image.width, height: golden.image.height },
        actual: { width: actual.image.width, height: actual.image.height },
      },
    };
  }
  const { stats, diff } = compared;
  const fingerprint = actual.fingerprintDiffs;
  if (!sameEngine && golden.recordedSha256 !== undefined) {
    const outcome: Outcome =
      golden.recordedSha256 === actual.sha256
        ? { kind: "match", tier: "bytes", pixels: stats, fingerprint }
        : { kind: "bytes-diff", pixels: stats, withinTolerance: stats.exceeded.length === 0, fingerprint };
    return { outcome, diff };
  }
  if (sameEngine) {
    const outcome: Outcome =
      golden.sha256 === actual.sha256
        ? { kind: "match", tier: "bytes", pixels: stats }
        : {
            kind: "bytes-diff",
            pixels: stats,
            withinTolerance: comparePixels(golden.image, actual.image, options)?.stats.exceeded.length === 0,
          };
    return { outcome, diff };
  }
  const outcome: Outcome =
    stats.exceeded.length === 0
      ? { kind: "match", tier: "tolerance", pixels: stats, fingerprint }
      : { kind: "pixel-diff", pixels: stats, fingerprint };
  return { outcome, diff };
}

/** Two runs of one case on one machine: undefined when identical, else the unstable outcome. */
export function checkStable(first: RgbaImage, second: RgbaImage): Outcome | undefined {
  const total = first.width * first.height;
  if (first.width !== second.width || first.height !== second.height)
    return { kind: "unstable", differingPixels: total, total };
  let differing = 0;
  for (let i = 0; i < total; i++) {
    const o = i * 4;
    if (
      first.data[o] !== second.data[o] ||
      first.data[o + 1] !== second.data[o + 1] ||
      first.data[o + 2] !== second.data[o + 2] ||
      first.data[o + 3] !== second.data[o + 3]
    )
      differing++;
  }
  return differing === 0 ? undefined : { kind: "unstable", differingPixels: differing, total };
}

/** One line a person reads: what differs, with the numbers, against which limit. */
export function describeOutcome(outcome: Outcome, options: CompareOptions = DEFAULT_COMPARE_OPTIONS): string {
  switch (outcome.kind) {
    case "match":
      if (outcome.tier === "bytes")
        return outcome.fingerprint?.length
          ? `match (byte-identical to the sha256 recorded for this engine: ${describeFields(outcome.fingerprint)})`
          : "match (byte-identical: same engine, same sha256)";
      return `match within tolerance (${describeFields(outcome.fingerprint ?? [])}; ${
        outcome.pixels.count === 0 ? "identical pixels" : `${describePixels(outcome.pixels, options)}`
      })`;
    case "missing-golden":
      return "no golden image — create it with --update missing";
    case "size-mismatch":
      return `size ${outcome.actual.width}x${outcome.actual.height}, golden is ${outcome.expected.width}x${outcome.expected.height}`;
    case "bytes-diff":
      if (outcome.fingerprint?.length)
        return `bytes differ from the sha256 recorded for this engine (${describeFields(outcome.fingerprint)}), which must match; against the golden image, another engine's: ${
          outcome.pixels.count === 0 ? "identical pixels" : describePixels(outcome.pixels, options)
        }${outcome.withinTolerance ? " — within the tolerance for other engines" : " — over the tolerance for other engines"}`;
      return `bytes differ on the golden's own engine (sha256 must match): ${
        outcome.pixels.count === 0
          ? "no pixel changed (the encoding did)"
          : describePixels(outcome.pixels, EXACT)
      }${outcome.withinTolerance ? " — within the tolerance for other engines" : ""}`;
    case "pixel-diff":
      return `${describePixels(outcome.pixels, options)} — over ${outcome.pixels.exceeded
        .map((e) =>
          e === "budget"
            ? `the budget of ${pct(options.maxDiffRatio)}`
            : `${options.maxWindowDiff} per ${options.window}x${options.window} window`,
        )
        .join(" and ")} (tolerance tier: ${describeFields(outcome.fingerprint)})`;
    case "contract":
      return `the answer differs from the golden's: ${outcome.fields
        .map((f) => `${f.field} ${JSON.stringify(f.expected)} → ${JSON.stringify(f.actual)}`)
        .join(", ")}${outcome.pixels ? `; ${describePixels(outcome.pixels, options)}` : ""}`;
    case "unstable":
      return `two runs on this machine differ in ${outcome.differingPixels} of ${outcome.total} pixels — the pipeline is not deterministic`;
    case "error":
      return `could not run: ${outcome.message}`;
  }
}

function describeFields(fields: readonly FieldDiff[]): string {
  return fields
    .map((f) => `${f.field} ${JSON.stringify(f.expected)} → ${JSON.stringify(f.actual)}`)
    .join(", ");
}

function describePixels(p: PixelStats, options: CompareOptions): string {
  const d = p.densest;
  return `${p.count} of ${p.total} pixels differ (${pct(p.ratio)}), densest ${options.window}x${options.window} window ${d.count} at (${d.x},${d.y})`;
}

function pct(r: number): string {
  return `${(r * 100).toFixed(r < 0.001 && r > 0 ? 3 : 2)}%`;
}
