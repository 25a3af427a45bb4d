// The golden gate's pure verdicts (harness/golden/compare.ts): on the golden's engine any byte differs,
// on another engine scattered float noise passes and a dense blob or a shift fails; contracts and sizes
// that differ are named, two differing runs are unstable; and the engine fingerprint. No I/O.
import { describe, expect, test } from "vitest";
import {
  checkStable,
  comparePixels,
  DEFAULT_COMPARE_OPTIONS,
  densestWindow,
  describeOutcome,
  judge,
  type RgbaImage,
} from "../../harness/golden/compare.ts";
import { fingerprintDiffs, isaPath } from "../../harness/golden/fingerprint.ts";

/** A smooth deterministic gradient, like a generated image. */
function image(width = 64, height = 64): RgbaImage {
  const data = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 4;
      data.set([(x * 4) % 256, (y * 4) % 256, (x * y) % 256, 255], o);
    }
  return { width, height, data };
}

function withPixels(base: RgbaImage, points: [number, number][], rgb: [number, number, number]): RgbaImage {
  const data = base.data.slice();
  for (const [x, y] of points) data.set([...rgb, 255], (y * base.width + x) * 4);
  return { ...base, data };
}

/** Every (x, y) on a regular lattice: spread out, like float noise from another CPU. */
function scattered(step: number, size = 64): [number, number][] {
  const out: [number, number][] = [];
  for (let y = 3; y < size; y += step) for (let x = (y * 7) % step; x < size; x += step) out.push([x, y]);
  return out;
}

function blob(x0: number, y0: number, side: number): [number, number][] {
  const out: [number, number][] = [];
  for (let y = y0; y < y0 + side; y++) for (let x = x0; x < x0 + side; x++) out.push([x, y]);
  return out;
}

const contract = { content_type: "image/png", scheduler: "lms", num_inference_steps: 4, seed: 42 };
const same = { fingerprintDiffs: [] };
const otherCpu = { fingerprintDiffs: [{ field: "isa", expected: "avx512f", actual: "avx2-fma" }] };
const golden = (img = image(), sha256 = "aaa") => ({ image: img, sha256, contract });

describe("judge: the bytes tier (same engine fingerprint)", () => {
  test("the same sha256 is a byte-identical match", () => {
    const { outcome } = judge(golden(), { ...golden(), ...same });
    expect(outcome).toEqual({
      kind: "match",
      tier: "bytes",
      pixels: { count: 0, total: 4096, ratio: 0, densest: { x: 0, y: 0, size: 8, count: 0 }, exceeded: [] },
    });
    expect(describeOutcome(outcome)).toBe("match (byte-identical: same engine, same sha256)");
  });

  test("one channel of one pixel moved by 1 level fails, with the pixel shown", () => {
    const base = image();
    const data = base.data.slice();
    data[(10 * 64 + 20) * 4] = (data[(10 * 64 + 20) * 4] as number) + 1;
    const { outcome, diff } = judge(golden(base), { ...golden({ ...base, data }, "bbb"), ...same });
    expect(outcome).toEqual({
      kind: "bytes-diff",
      pixels: {
        count: 1,
        total: 4096,
        ratio: 1 / 4096,
        densest: { x: 13, y: 3, size: 8, count: 1 },
        exceeded: ["budget", "dense"],
      },
      withinTolerance: true,
    });
    expect(describeOutcome(outcome)).toBe(
      "bytes differ on the golden's own engine (sha256 must match): 1 of 4096 pixels differ (0.024%), densest 8x8 window 1 at (13,3) — within the tolerance for other engines",
    );
    expect(diff?.width).toBe(64);
  });

  test("other bytes with the same pixels say the encoding changed", () => {
    const { outcome } = judge(golden(), { ...golden(image(), "bbb"), ...same });
    expect(outcome.kind).toBe("bytes-diff");
    expect(describeOutcome(outcome)).toBe(
      "bytes differ on the golden's own engine (sha256 must match): no pixel changed (the encoding did) — within the tolerance for other engines",
    );
  });
});

describe("judge: the tolerance tier (another engine)", () => {
  test("a few scattered 1-level differences pass, naming the fingerprint field that differs", () => {
    const points: [number, number][] = [
      [5, 5],
      [40, 50],
    ];
    const base = image();
    const data = base.data.slice();
    for (const [x, y] of points) data[(y * 64 + x) * 4 + 1] = (data[(y * 64 + x) * 4 + 1] as number) + 1;
    const { outcome } = judge(golden(base), { ...golden({ ...base, data }, "bbb"), ...otherCpu });
    expect(outcome).toMatchObject({ kind: "match", tier: "tolerance", pixels: { count: 0 } });
    expect(describeOutcome(outcome)).toBe(
      'match within tolerance (isa "avx512f" → "avx2-fma"; identical pixels)',
    );
  });

  test("on another engine whose bytes were recorded, those bytes are required, not the tolerance", () => {
    const slight = withPixels(image(), scattered(40).slice(0, 3), [255, 0, 255]);
    const recorded = { ...golden(), recordedSha256: "ccc" };
    // the recorded bytes: a bytes-tier match, the pixels still shown against the other engine's image
    const match = judge(recorded, { ...golden(slight, "ccc"), ...otherCpu }).outcome;
    expect(match).toMatchObject({ kind: "match", tier: "bytes", pixels: { count: 3 } });
    expect(describeOutcome(match)).toBe(
      'match (byte-identical to the sha256 recorded for this engine: isa "avx512f" → "avx2-fma")',
    );
    // any other bytes fail, even where the tolerance tier would have let them through
    const other = judge(recorded, { ...golden(slight, "ddd"), ...otherCpu }).outcome;
    expect(other).toMatchObject({
      kind: "bytes-diff",
      withinTolerance: true,
      fingerprint: otherCpu.fingerprintDiffs,
    });
    expect(describeOutcome(other)).toMatch(
      /^bytes differ from the sha256 recorded for this engine \(isa "avx512f" → "avx2-fma"\), which must match; against the golden image, another engine's: 3 of 4096 pixels differ .* — within the tolerance for other engines$/,
    );
    // a record only speaks for another engine: on the image's own, its own sha256 still decides
    expect(judge(recorded, { ...golden(image(), "aaa"), ...same }).outcome).toMatchObject({ tier: "bytes" });
    expect(judge(recorded, { ...golden(image(), "ccc"), ...same }).outcome.kind).toBe("bytes-diff");
  });

  test("three scattered clear differences pass: within 0.1% and 2 per window", () => {
    const changed = withPixels(image(), scattered(40).slice(0, 3), [255, 0, 255]);
    const { outcome } = judge(golden(), { ...golden(changed, "bbb"), ...otherCpu });
    expect(outcome).toMatchObject({ kind: "match", tier: "tolerance", pixels: { count: 3 } });
  });

  test("a 3-level grey shift of the whole image fails the budget and the window", () => {
    const base = image();
    const data = base.data.slice();
    for (let i = 0; i < data.length; i += 4)
      for (let c = 0; c < 3; c++) data[i + c] = Math.min(255, (data[i + c] as number) + 3);
    const { outcome } = judge(golden(base), { ...golden({ ...base, data }, "bbb"), ...otherCpu });
    expect(outcome.kind).toBe("pixel-diff");
    if (outcome.kind === "pixel-diff") expect(outcome.pixels.exceeded).toEqual(["budget", "dense"]);
  });

  test("a 2x2 blob fails the window check while within the 0.1% budget", () => {
    const changed = withPixels(image(), blob(20, 30, 2), [255, 0, 255]);
    const { outcome } = judge(golden(), { ...golden(changed, "bbb"), ...otherCpu });
    expect(outcome).toEqual({
      kind: "pixel-diff",
      fingerprint: otherCpu.fingerprintDiffs,
      pixels: {
        count: 4,
        total: 4096,
        ratio: 4 / 4096,
        densest: { x: 14, y: 24, size: 8, count: 4 },
        exceeded: ["dense"],
      },
    });
    expect(describeOutcome(outcome)).toBe(
      '4 of 4096 pixels differ (0.098%), densest 8x8 window 4 at (14,24) — over 2 per 8x8 window (tolerance tier: isa "avx512f" → "avx2-fma")',
    );
  });

  test("a case's own tolerance replaces the calibrated one", () => {
    const changed = withPixels(image(), blob(20, 30, 2), [255, 0, 255]);
    const loose = { ...DEFAULT_COMPARE_OPTIONS, maxWindowDiff: 4 };
    expect(judge(golden(), { ...golden(changed, "bbb"), ...otherCpu }, loose).outcome.kind).toBe("match");
  });
});

describe("judge: contract, size, missing", () => {
  test("a different answer is a contract outcome naming each field, even with identical bytes", () => {
    const { outcome } = judge(golden(), {
      ...golden(),
      contract: { ...contract, content_type: "image/jpeg", num_inference_steps: 8 },
      ...same,
    });
    expect(outcome).toMatchObject({
      kind: "contract",
      fields: [
        { field: "content_type", expected: "image/png", actual: "image/jpeg" },
        { field: "num_inference_steps", expected: 4, actual: 8 },
      ],
      pixels: { count: 0 },
    });
    expect(describeOutcome(outcome)).toBe(
      'the answer differs from the golden\'s: content_type "image/png" → "image/jpeg", num_inference_steps 4 → 8; 0 of 4096 pixels differ (0.00%), densest 8x8 window 0 at (0,0)',
    );
  });

  test("a different size is a size mismatch, not a pixel count", () => {
    const { outcome } = judge(golden(), { ...golden(image(96, 64)), ...otherCpu });
    expect(outcome).toEqual({
      kind: "size-mismatch",
      expected: { width: 64, height: 64 },
      actual: { width: 96, height: 64 },
    });
    expect(describeOutcome(outcome)).toBe("size 96x64, golden is 64x64");
  });

  test("no golden is a missing golden", () => {
    expect(judge(undefined, { ...golden(), ...same }).outcome).toEqual({ kind: "missing-golden" });
  });
});

describe("engine fingerprint", () => {
  const flags = (f: string) => `processor\t: 0\nflags\t\t: fpu vme ${f}\n`;
  test("MLAS's float32 kernel path from /proc/cpuinfo flags", () => {
    expect(isaPath("x64", flags("sse4_2 avx avx2 fma avx512f avx512bw"))).toBe("avx512f");
    expect(isaPath("x64", flags("sse4_2 avx avx2 fma avx_vnni"))).toBe("avx2-fma");
    expect(isaPath("x64", flags("sse4_2 avx"))).toBe("avx");
    expect(isaPath("x64", flags("sse4_2"))).toBe("sse");
    expect(isaPath("arm64", undefined)).toBe("neon");
    expect(isaPath("x64", undefined)).toBeNull();
  });

  test("fields that differ, and unknown ones, keep a run off the bytes tier", () => {
    const run = { ort_version: "1.30.0", threads: 2, arch: "x64", isa: "avx2-fma", pixelmatch: "7.2.0" };
    expect(fingerprintDiffs(run, run)).toEqual([]);
    expect(fingerprintDiffs({ ...run, threads: 1 }, run)).toEqual([{ field: "threads", golden: 1, run: 2 }]);
    expect(fingerprintDiffs(run, { ...run, ort_version: null })).toEqual([
      { field: "ort_version", golden: "1.30.0", run: null },
    ]);
    expect(fingerprintDiffs(undefined, run).map((d) => d.field)).toEqual([
      "ort_version",
      "threads",
      "arch",
      "isa",
      "pixelmatch",
    ]);
  });
});

describe("stability and windows", () => {
  test("two identical runs are stable; differing runs are unstable with the count", () => {
    expect(checkStable(image(), image())).toBeUndefined();
    expect(checkStable(image(), withPixels(image(), [[1, 1]], [1, 2, 3]))).toEqual({
      kind: "unstable",
      differingPixels: 1,
      total: 4096,
    });
  });

  test("densestWindow finds the 8x8 square holding the most set cells", () => {
    const mask = new Uint8Array(16 * 16);
    for (const [x, y] of [
      [0, 0],
      [10, 10],
      [11, 10],
      [12, 12],
    ] as const)
      mask[y * 16 + x] = 1;
    expect(densestWindow(mask, 16, 16, 8)).toEqual({ x: 5, y: 5, size: 8, count: 3 });
  });

  test("comparePixels refuses different sizes", () => {
    expect(comparePixels(image(8, 8), image(16, 8))).toBeUndefined();
  });
});
