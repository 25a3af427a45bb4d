/**
 * Golden files: `<dir>/<case>.<png|jpg|webp>` (the answer's image file as it came) and its sidecar
 * `<case>.json` recording the answer's contract, the engine fingerprint that made it, where, and the
 * image's sha256 — and, under `engines`, the sha256 other engines (another CPU kernel path, say) gave for the
 * same case, so that the bytes tier holds on those too. Also PNG/JPEG/WebP -> RGBA for the comparison.
 */
import { createHash } from "node:crypto";
import { readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import sharp from "sharp";
import type { CompareOptions, RgbaImage } from "./compare.ts";
import { type Fingerprint, fingerprintDiffs } from "./fingerprint.ts";
import type { EngineInfo } from "./targets.ts";

export interface Sidecar {
  readonly case: string;
  /** The answer without its image (targets.ts readAnswer): every run must repeat it exactly. */
  readonly contract: Readonly<Record<string, unknown>>;
  /** The engine that made the image: with the same fingerprint, the same bytes are required. */
  readonly fingerprint: Fingerprint;
  /** Recorded, not compared. */
  readonly made_with: {
    readonly target: string;
    readonly platform: string;
    readonly tolerance: CompareOptions;
  };
  readonly file: string;
  readonly sha256: string;
  /** Other engines' exact bytes for this case (`--update missing` records them), checked on those engines. */
  readonly engines?: readonly EngineRecord[];
}

export interface EngineRecord {
  readonly fingerprint: Fingerprint;
  readonly sha256: string;
}

/** The sha256 `sidecar`'s `engines` recorded for the engine `fingerprint`, if any (judge uses it off the image's own engine). */
export function recordedSha256(sidecar: Sidecar, fingerprint: Fingerprint): string | undefined {
  return sidecar.engines?.find((e) => fingerprintDiffs(e.fingerprint, fingerprint).length === 0)?.sha256;
}

/** Adds this engine's exact bytes for case `name` to its sidecar; the image stays the one it was. */
export async function recordEngine(
  dir: string,
  name: string,
  sidecar: Sidecar,
  record: EngineRecord,
): Promise<void> {
  await writeSidecar(dir, name, { ...sidecar, engines: [...(sidecar.engines ?? []), record] });
}

async function writeSidecar(dir: string, name: string, sidecar: Sidecar): Promise<void> {
  await writeFile(join(dir, `${name}.json`), `${JSON.stringify(sidecar, null, 2)}\n`);
}

export interface Golden {
  readonly bytes: Buffer;
  readonly image: RgbaImage;
  readonly sidecar: Sidecar;
}

export const sha256 = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");

const IMAGE_EXTENSIONS = ["png", "jpg", "webp"] as const;

/** The golden's file extension for an image's bytes (magic numbers, not the content type, decide). */
export function extensionOf(bytes: Buffer): (typeof IMAGE_EXTENSIONS)[number] {
  if (bytes[0] === 0xff && bytes[1] === 0xd8) return "jpg";
  if (
    bytes.subarray(0, 4).toString("latin1") === "RIFF" &&
    bytes.subarray(8, 12).toString("latin1") === "WEBP"
  )
    return "webp";
  return "png";
}

export function fingerprintOf(engine: EngineInfo, pixelmatch: string): Fingerprint {
  return {
    ort_version: engine.ortVersion,
    threads: engine.threads,
    arch: engine.arch,
    isa: engine.isa,
    pixelmatch,
  };
}

export function sidecarFor(
  name: string,
  contract: Readonly<Record<string, unknown>>,
  engine: EngineInfo,
  fingerprint: Fingerprint,
  bytes: Buffer,
  tolerance: CompareOptions,
): Sidecar {
  return {
    case: name,
    contract,
    fingerprint,
    made_with: { target: engine.target, platform: engine.platform, tolerance },
    file: `${name}.${extensionOf(bytes)}`,
    sha256: sha256(bytes),
  };
}

export async function readGolden(dir: string, name: string): Promise<Golden | undefined> {
  let sidecar: Sidecar | undefined;
  try {
    sidecar = JSON.parse(await readFile(join(dir, `${name}.json`), "utf8")) as Sidecar;
  } catch {
    sidecar = undefined;
  }
  for (const file of sidecar?.file ? [sidecar.file] : IMAGE_EXTENSIONS.map((e) => `${name}.${e}`)) {
    let bytes: Buffer;
    try {
      bytes = await readFile(join(dir, file));
    } catch {
      continue;
    }
    // an image without its sidecar: no contract and no fingerprint, so it shows as a contract difference
    const fallback = { case: name, contract: {}, made_with: {}, file, sha256: "" } as unknown as Sidecar;
    return { bytes, image: await decodeImage(bytes), sidecar: sidecar ?? fallback };
  }
  return undefined;
}

export async function writeGolden(dir: string, name: string, bytes: Buffer, sidecar: Sidecar): Promise<void> {
  // a case whose output format changed leaves no stale image of the old format behind
  await removeGoldens(
    dir,
    IMAGE_EXTENSIONS.map((e) => `${name}.${e}`),
  );
  await writeFile(join(dir, sidecar.file), bytes);
  await writeSidecar(dir, name, sidecar);
}

/** Golden files (image or json, not cases.json) whose case no longer exists. */
export async function unusedGoldens(dir: string, caseNames: readonly string[]): Promise<string[]> {
  const names = new Set(caseNames);
  let files: string[];
  try {
    files = await readdir(dir);
  } catch {
    return [];
  }
  return files
    .filter(
      (f) =>
        f !== "cases.json" &&
        /\.(png|jpg|webp|json)$/.test(f) &&
        !names.has(f.replace(/\.(png|jpg|webp|json)$/, "")),
    )
    .sort();
}

export async function removeGoldens(dir: string, files: readonly string[]): Promise<void> {
  for (const f of files) await rm(join(dir, f), { force: true });
}

export async function decodeImage(bytes: Buffer): Promise<RgbaImage> {
  const { data, info } = await sharp(bytes).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  return {
    width: info.width,
    height: info.height,
    data: new Uint8Array(data.buffer, data.byteOffset, data.length),
  };
}

export async function encodePng(image: RgbaImage): Promise<Buffer> {
  return sharp(Buffer.from(image.data), { raw: { width: image.width, height: image.height, channels: 4 } })
    .png()
    .toBuffer();
}

/** The installed pixelmatch's version, recorded beside each golden. */
export async function pixelmatchVersion(): Promise<string> {
  const pkg = new URL("package.json", import.meta.resolve("pixelmatch"));
  return String(JSON.parse(await readFile(pkg, "utf8")).version);
}
