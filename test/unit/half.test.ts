// float32 ⇄ float16 bits: round to nearest even, subnormals, overflow, as numpy's astype(float16).
import { describe, expect, test } from "vitest";
import { fromHalf, toHalf } from "../../runtime/engine/half.ts";

describe("half precision", () => {
  test.each([
    [1, 0x3c00],
    [-2, 0xc000],
    [65504, 0x7bff],
    [65520, 0x7c00], // rounds up to inf
    [2 ** -24, 0x0001], // smallest subnormal
    [2 ** -25, 0x0000], // a tie rounds to even (0)
    [3 * 2 ** -25, 0x0002], // a tie rounds to even (2)
    [1 + 2 ** -11, 0x3c00], // tie below: even mantissa stays
    [1 + 3 * 2 ** -11, 0x3c02], // tie above: rounds to even
    [0.1, 0x2e66],
  ])("%d → 0x%s", (value, bits) => {
    expect(toHalf(Float32Array.of(value))[0]).toBe(bits);
  });

  test("every finite half survives the round trip", () => {
    const all = Uint16Array.from({ length: 0x10000 }, (_, i) => i).filter((h) => (h & 0x7c00) !== 0x7c00);
    expect(toHalf(fromHalf(all))).toEqual(all);
  });
});
