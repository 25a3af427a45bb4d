// Images for contract tests, made in-process with sharp: the three accepted formats, the formats the
// contract refuses, and broken ones (truncated, bad CRC, a header claiming more pixels than exist).
import { crc32 } from "node:zlib";
import sharp, { type Sharp } from "sharp";

/** A small noisy RGB picture (noise so that truncation lands inside compressed pixel data). */
export function rgb(width: number, height: number, seed = 1, channels: 3 | 4 = 3): Sharp {
  const data = Buffer.alloc(width * height * channels);
  let s = seed;
  for (let i = 0; i < data.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    data[i] = s >>> 24;
  }
  return sharp(data, { raw: { width, height, channels } });
}

export const png = (w: number, h: number, alpha = false) =>
  rgb(w, h, 1, alpha ? 4 : 3)
    .png()
    .toBuffer();
export const jpeg = (w: number, h: number) => rgb(w, h).jpeg().toBuffer();
export const webp = (w: number, h: number) => rgb(w, h).webp().toBuffer();
export const gif = (w: number, h: number) => rgb(w, h).gif().toBuffer();
export const tiff = (w: number, h: number) => rgb(w, h).tiff().toBuffer();
export const avif = (w: number, h: number) => rgb(w, h).avif().toBuffer();

/** The first `fraction` of the bytes. */
export const truncated = (bytes: Buffer, fraction = 0.6) =>
  bytes.subarray(0, Math.floor(bytes.length * fraction));

/** A PNG whose IHDR checksum is wrong. */
export function badCrc(pngBytes: Buffer): Buffer {
  const b = Buffer.from(pngBytes);
  b.writeUInt32BE((b.readUInt32BE(29) ^ 0xffffffff) >>> 0, 29);
  return b;
}

/** A PNG whose (correctly checksummed) header claims width × height, over the pixel data it holds. */
export function claimingSize(pngBytes: Buffer, width: number, height: number): Buffer {
  const b = Buffer.from(pngBytes);
  b.writeUInt32BE(width, 16);
  b.writeUInt32BE(height, 20);
  b.writeUInt32BE(crc32(b.subarray(12, 29)) >>> 0, 29);
  return b;
}

export const b64 = (bytes: Buffer) => bytes.toString("base64");
