// The varint both ONNX readers share: exact values, int64 negatives, and the two ways a varint can be broken.
import { describe, expect, it } from "vitest";
import { readVarint, VarintError } from "../../harness/protobuf-varint.ts";

const at = (bytes: number[]) => (i: number) => {
  if (i >= bytes.length) throw new RangeError(`past the end at ${i}`);
  return bytes[i] as number;
};

describe("readVarint", () => {
  it.each([
    [[0x00], 0, 1],
    [[0x96, 0x01], 150, 2],
    [[0xff, 0xff, 0xff, 0xff, 0x0f], 2 ** 32 - 1, 5],
    // 2^53 - 1 needs 8 bytes: decoded exactly
    [[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f], 2 ** 53 - 1, 8],
    // int64 -1 is ten bytes
    [[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01], -1, 10],
  ])("%j is %d, %d bytes long", (bytes, value, end) => {
    expect(readVarint(at(bytes), 0)).toEqual({ value, end });
  });

  it("reads at an offset and stops at the varint's end", () => {
    expect(readVarint(at([0x08, 0xac, 0x02, 0x10]), 1)).toEqual({ value: 300, end: 3 });
  });

  it("refuses more than ten bytes, and lets the reader say where a truncated one ends", () => {
    expect(() => readVarint(at(Array(11).fill(0x80)), 0)).toThrow(
      new VarintError("varint longer than 10 bytes at byte 0"),
    );
    expect(() => readVarint(at([0x80, 0x80]), 0)).toThrow("past the end at 2");
  });
});
