/**
 * Pixels in and out of the engine through sharp: decoding init images and masks into the [-1, 1] CHW
 * tensors diffusers' VaeImageProcessor makes, and encoding the decoded RGB into PNG/JPEG/WebP.
 */
import sharp from "sharp";

export type OutputFormat = "png" | "jpeg" | "webp";

/** 8-bit RGB, row-major, 3 bytes per pixel. */
export interface RgbImage {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
}

/** Decodes any image sharp reads into RGB at `width`×`height` (resized with Lanczos when it differs). */
export async function decodeImage(
  bytes: Uint8Array,
  size?: { width: number; height: number },
): Promise<RgbImage> {
  let pipeline = sharp(bytes).removeAlpha().toColourspace("srgb");
  if (size) {
    const meta = await sharp(bytes).metadata();
    if (meta.width !== size.width || meta.height !== size.height) {
      pipeline = pipeline.resize(size.width, size.height, { fit: "fill", kernel: "lanczos3" });
    }
  }
  const { data, info } = await pipeline.raw().toBuffer({ resolveWithObject: true });
  return {
    width: info.width,
    height: info.height,
    data: new Uint8Array(data.buffer, data.byteOffset, data.length),
  };
}

/** Reads the size of an encoded image without decoding its pixels. */
export async function imageSize(
  bytes: Uint8Array,
): Promise<{ width: number; height: number; format: string }> {
  const meta = await sharp(bytes).metadata();
  return { width: meta.width ?? 0, height: meta.height ?? 0, format: meta.format ?? "unknown" };
}

export async function encodeImage(image: RgbImage, format: OutputFormat): Promise<Buffer> {
  const raw = sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } });
  switch (format) {
    case "png":
      return raw.png({ compressionLevel: 6 }).toBuffer();
    case "jpeg":
      return raw.jpeg({ quality: 90 }).toBuffer();
    case "webp":
      return raw.webp({ quality: 90 }).toBuffer();
  }
}

/** RGB bytes → [1, 3, H, W] floats in [-1, 1] (VaeImageProcessor's normalize). */
export function toModelInput(image: RgbImage): Float32Array {
  const { width, height, data } = image;
  const plane = width * height;
  const out = new Float32Array(3 * plane);
  for (let p = 0; p < plane; p++) {
    for (let c = 0; c < 3; c++) out[c * plane + p] = ((data[p * 3 + c] as number) / 255) * 2 - 1;
  }
  return out;
}

/**
 * A mask as diffusers' mask processor makes it: PIL "L" luma, then binarised at 0.5 — 1 where the
 * picture is repainted, 0 where it is kept. One value per pixel.
 */
export function toMask(image: RgbImage): Float32Array {
  const plane = image.width * image.height;
  const out = new Float32Array(plane);
  for (let p = 0; p < plane; p++) {
    const r = image.data[p * 3] as number;
    const g = image.data[p * 3 + 1] as number;
    const b = image.data[p * 3 + 2] as number;
    const luma = (r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16;
    out[p] = luma / 255 < 0.5 ? 0 : 1;
  }
  return out;
}

/** [1, 3, H, W] decoder output in [-1, 1] → RGB bytes, rounded as diffusers' `numpy_to_pil`. */
export function fromModelOutput(sample: Float32Array, width: number, height: number): RgbImage {
  const plane = width * height;
  const data = new Uint8Array(3 * plane);
  for (let p = 0; p < plane; p++) {
    for (let c = 0; c < 3; c++) {
      // float32 arithmetic and half-to-even rounding, as torch then numpy do it
      const v = Math.min(
        1,
        Math.max(0, Math.fround(Math.fround((sample[c * plane + p] as number) / 2) + 0.5)),
      );
      data[p * 3 + c] = roundHalfEven(Math.fround(v * 255));
    }
  }
  return { width, height, data };
}

function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}
