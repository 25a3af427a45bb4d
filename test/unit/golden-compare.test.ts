// The golden gate's pure verdicts (harness/golden/compare.ts): scattered float noise passes, a dense blob
// fails, sizes and engines that differ are named, and two differing runs are unstable. No I/O.
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

const engine = { ort_version: "1.30.0", scheduler: "lms", steps: 4, seed: 42 };
const FIELDS = ["ort_version", "scheduler", "steps", "seed"];

describe("judge", () => {
  test("identical images match with zero differing pixels", () => {
    const { outcome } = judge({ image: image(), engine }, { image: image(), engine }, FIELDS);
    expect(outcome).toEqual({
      kind: "match",
      pixels: { count: 0, total: 4096, ratio: 0, densest: { x: 0, y: 0, size: 8, count: 0 }, exceeded: [] },
    });
    expect(describeOutcome(outcome)).toBe("match (identical pixels)");
  });

  test("scattered float noise (one pixel in 8 per row, far apart) passes", () => {
    const points = scattered(16);
    const noisy = withPixels(image(), points, [255, 0, 255]);
    const { outcome } = judge({ image: image(), engine }, { image: noisy, engine }, FIELDS);
    expect(outcome.kind).toBe("match");
    if (outcome.kind !== "match") return;
    expect(outcome.pixels.count).toBe(points.length);
    expect(outcome.pixels.ratio).toBeLessThanOrEqual(DEFAULT_COMPARE_OPTIONS.maxDiffRatio);
    expect(outcome.pixels.densest.count).toBeLessThanOrEqual(DEFAULT_COMPARE_OPTIONS.maxWindowDiff);
  });

  test("changes below pixelmatch's per-pixel threshold are not differences", () => {
    const base = image();
    const data = base.data.slice();
    for (let i = 0; i < data.length; i += 4) data[i] = Math.min(255, (data[i] as number) + 1);
    const { outcome } = judge({ image: base, engine }, { image: { ...base, data }, engine }, FIELDS);
    expect(outcome.kind).toBe("match");
  });

  test("a dense 5x5 blob fails on the window check although it is within the whole-image budget", () => {
    const changed = withPixels(image(), blob(20, 30, 5), [255, 0, 255]);
    const { outcome, diff } = judge({ image: image(), engine }, { image: changed, engine }, FIELDS);
    expect(outcome).toEqual({
      kind: "pixel-diff",
      pixels: {
        count: 25,
        total: 4096,
        ratio: 25 / 4096,
        densest: { x: 17, y: 27, size: 8, count: 25 },
        exceeded: ["dense"],
      },
    });
    expect(describeOutcome(outcome)).toBe(
      "25 of 4096 pixels differ (0.61%), densest 8x8 window 25 at (17,27) — over 8 per 8x8 window",
    );
    expect(diff?.width).toBe(64);
  });

  test("widespread change fails both the budget and the window check", () => {
    const changed = withPixels(image(), blob(0, 0, 32), [0, 0, 0]);
    const { outcome } = judge({ image: image(), engine }, { image: changed, engine }, FIELDS);
    expect(outcome.kind).toBe("pixel-diff");
    if (outcome.kind === "pixel-diff") expect(outcome.pixels.exceeded).toEqual(["budget", "dense"]);
  });

  test("a different size is a size mismatch, not a pixel count", () => {
    const { outcome } = judge({ image: image(), engine }, { image: image(96, 64), engine }, FIELDS);
    expect(outcome).toEqual({
      kind: "size-mismatch",
      expected: { width: 64, height: 64 },
      actual: { width: 96, height: 64 },
    });
    expect(describeOutcome(outcome)).toBe("size 96x64, golden is 64x64");
  });

  test("a golden made by another engine is an engine mismatch naming each differing field", () => {
    const { outcome } = judge(
      { image: image(), engine: { ...engine, ort_version: "1.29.0", steps: 8 } },
      { image: image(), engine },
      FIELDS,
    );
    expect(outcome).toMatchObject({
      kind: "engine-mismatch",
      fields: [
        { field: "ort_version", expected: "1.29.0", actual: "1.30.0" },
        { field: "steps", expected: 8, actual: 4 },
      ],
      pixels: { count: 0 },
    });
    expect(describeOutcome(outcome)).toBe(
      'golden made by another engine or request: ort_version "1.29.0" → "1.30.0", steps 8 → 4; 0 of 4096 pixels differ (0.00%), densest 8x8 window 0 at (0,0)',
    );
  });

  test("no golden is a missing golden", () => {
    expect(judge(undefined, { image: image(), engine }, FIELDS).outcome).toEqual({ kind: "missing-golden" });
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
