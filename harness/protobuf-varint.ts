/**
 * Protobuf's base-128 varint, for both ONNX readers: harness/preflight/onnx-external.ts streams a file in
 * blocks, harness/bench/onnx-proto.ts walks a buffer in memory — each passes how it reads a byte. Exact:
 * up to 2^53 as plain numbers, and 8 bytes or more (a value past 2^53, or a negative int64, always 10
 * bytes) through BigInt.
 */

/** The varint at `position`: its value and the position after it. `byteAt` throws past the end. */
export function readVarint(
  byteAt: (position: number) => number,
  position: number,
): { value: number; end: number } {
  let value = 0;
  let scale = 1;
  for (let at = position; at < position + 10; at++) {
    const b = byteAt(at);
    value += (b & 0x7f) * scale;
    scale *= 128;
    if ((b & 0x80) === 0)
      return { value: at + 1 - position >= 8 ? exactInt64(byteAt, position) : value, end: at + 1 };
  }
  throw new VarintError(`varint longer than 10 bytes at byte ${position}`);
}

export class VarintError extends Error {}

function exactInt64(byteAt: (position: number) => number, position: number): number {
  let v = 0n;
  let shift = 0n;
  for (let at = position; ; at++) {
    const b = byteAt(at);
    v |= BigInt(b & 0x7f) << shift;
    shift += 7n;
    if ((b & 0x80) === 0) return Number(BigInt.asIntN(64, v));
  }
}
