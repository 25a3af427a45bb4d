/**
 * Pixels in and out of the engine through sharp: decoding init images and masks into the [-1, 1] CHW
 * tensors diffusers' VaeImageProcessor makes, and encoding the decoded RGB into PNG/JPEG/WebP.
 */
import sharp from "sharp";
import { clipText } from "../clip.ts";
import { BadRequestError } from "../errors.ts";

export type OutputFormat = "png" | "jpeg" | "webp";

/** 8-bit RGB, row-major, 3 bytes per pixel. */
export interface RgbImage {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
}

export type InputFormat = "png" | "jpeg" | "webp";
const FORMAT_NAMES: Record<InputFormat, string> = { png: "PNG", jpeg: "JPEG", webp: "WebP" };

/** An init image or mask whose header was read and checked against the limits; not decoded yet. */
export interface InspectedImage {
  readonly field: string;
  readonly bytes: Uint8Array;
  readonly format: InputFormat;
  readonly width: number;
  readonly height: number;
  readonly hasAlpha: boolean;
  /** Frames in an animated WebP; only the first is used. */
  readonly pages: number;
}

const ascii = (b: Uint8Array, at: number, text: string) =>
  b.length >= at + text.length && [...text].every((ch, i) => b[at + i] === ch.charCodeAt(0));

/**
 * The format from the magic bytes, never from what a decoder would accept: the contract is PNG, JPEG
 * or WebP, and sharp would also read TIFF, GIF, AVIF, HEIF, SVG and PDF (each a decoder to attack).
 */
export function sniffFormat(b: Uint8Array): InputFormat | { readonly other: string } {
  if (ascii(b, 0, "\x89PNG\r\n\x1a\n")) return "png";
  if (b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return "jpeg";
  if (ascii(b, 0, "RIFF") && ascii(b, 8, "WEBP")) return "webp";
  if (ascii(b, 0, "GIF8")) return { other: "a GIF image" };
  if (ascii(b, 0, "II*\0") || ascii(b, 0, "MM\0*")) return { other: "a TIFF image" };
  if (ascii(b, 0, "BM")) return { other: "a BMP image" };
  if (ascii(b, 0, "%PDF")) return { other: "a PDF document" };
  if (ascii(b, 4, "ftyp")) {
    const brand = String.fromCharCode(...b.subarray(8, 12));
    if (brand.startsWith("avi")) return { other: "an AVIF image" };
    return {
      other: ["heic", "heix", "hevc", "mif1", "msf1"].includes(brand) ? "a HEIF image" : "an ISO media file",
    };
  }
  const head = Buffer.from(b.subarray(0, 256)).toString("latin1").trimStart();
  if (head.startsWith("<?xml") || head.startsWith("<svg")) return { other: "an SVG document" };
  return { other: "" };
}

/**
 * Sniffs the format and reads the header's size, refusing an image over the limits before a pixel is
 * decoded. Every refusal is a BadRequestError naming the field.
 */
export async function inspectImage(
  field: string,
  bytes: Uint8Array,
  limits: { readonly maxSide: number; readonly maxPixels: number },
): Promise<InspectedImage> {
  if (bytes.length === 0)
    throw new BadRequestError(`${field} is empty after base64 decoding; send a PNG, JPEG or WebP`, { field });
  const format = sniffFormat(bytes);
  if (typeof format !== "string") {
    const what = format.other
      ? format.other
      : `not a PNG, JPEG or WebP image (its first bytes are ${Buffer.from(bytes.subarray(0, 4)).toString("hex")}, ${bytes.length} bytes after base64 decoding)`;
    throw new BadRequestError(`${field} is ${what}; send a base64-encoded PNG, JPEG or WebP`, { field });
  }
  let meta: Awaited<ReturnType<ReturnType<typeof sharp>["metadata"]>>;
  try {
    meta = await sharp(bytes).metadata();
  } catch (cause) {
    throw unreadable(field, format, "header", cause);
  }
  const width = meta.width ?? 0;
  const height = meta.height ?? 0;
  if (width > limits.maxSide || height > limits.maxSide || width * height > limits.maxPixels) {
    throw new BadRequestError(
      `${field} is ${width}x${height} pixels; the limit is ${limits.maxSide} per side (SD_MAX_SIDE) and ${limits.maxPixels} pixels (SD_MAX_PIXELS) — send a smaller image`,
      { field, value: `${width}x${height}`, limit: limits.maxPixels },
    );
  }
  return { field, bytes, format, width, height, hasAlpha: meta.hasAlpha === true, pages: meta.pages ?? 1 };
}

function unreadable(field: string, format: InputFormat, part: string, cause: unknown): BadRequestError {
  const reason = clipText((cause instanceof Error ? cause.message : String(cause)).split("\n")[0] ?? "", 80);
  return new BadRequestError(
    `${field} is a ${FORMAT_NAMES[format]} whose ${part} cannot be decoded (${reason}) — it is truncated or corrupt; send a complete PNG, JPEG or WebP`,
    { field },
  );
}

/**
 * Decodes an inspected image into RGB at `width`×`height` (resized with Lanczos when it differs). The
 * decode is bounded: no more pixels than the header promised (and the limits allowed), and a
 * truncated or corrupt file is an error, not a half-grey picture.
 */
export async function decodeImage(
  image: InspectedImage | Uint8Array,
  size?: { width: number; height: number },
): Promise<RgbImage> {
  const bytes = image instanceof Uint8Array ? image : image.bytes;
  const bounded =
    image instanceof Uint8Array ? {} : { limitInputPixels: Math.max(1, image.width * image.height) };
  try {
    let pipeline = sharp(bytes, { failOn: "error", ...bounded })
      .removeAlpha()
      .toColourspace("srgb");
    if (size) {
      const meta = image instanceof Uint8Array ? await sharp(bytes).metadata() : image;
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
  } catch (cause) {
    if (image instanceof Uint8Array) throw cause;
    throw unreadable(image.field, image.format, "pixels", cause);
  }
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
