/**
 * Golden files: `<dir>/<case>.png` and its sidecar `<case>.json` recording the engine and request that
 * made it (ORT version, resolved request, threads, target, platform, pixelmatch version and options).
 * Also PNG <-> RGBA for the comparison.
 */
import { createHash } from "node:crypto";
import { readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import sharp from "sharp";
import type { CompareOptions, RgbaImage } from "./compare.ts";
import type { EngineInfo, Resolved } from "./targets.ts";

/** Sidecar fields that identify the image: a difference in any of them is an engine mismatch. */
export const ENGINE_FIELDS = [
  "ort_version",
  "model",
  "mode",
  "scheduler",
  "steps",
  "guidance",
  "seed",
  "width",
  "height",
] as const;

export interface Sidecar {
  readonly case: string;
  /** Compared on every run (ENGINE_FIELDS). */
  readonly engine: { readonly ort_version: string | null } & Resolved;
  /** Recorded, not compared: the same engine gives the same pixels on each of these. */
  readonly made_with: {
    readonly target: string;
    readonly threads: number | null;
    readonly platform: string;
    readonly pixelmatch: { readonly version: string; readonly options: CompareOptions };
  };
  readonly png_sha256: string;
}

export interface Golden {
  readonly png: Buffer;
  readonly image: RgbaImage;
  readonly sidecar: Sidecar;
}

export function sidecarFor(
  name: string,
  resolved: Resolved,
  engine: EngineInfo,
  png: Buffer,
  pixelmatch: { version: string; options: CompareOptions },
): Sidecar {
  return {
    case: name,
    engine: { ort_version: engine.ortVersion, ...resolved },
    made_with: { target: engine.target, threads: engine.threads, platform: engine.platform, pixelmatch },
    png_sha256: createHash("sha256").update(png).digest("hex"),
  };
}

export async function readGolden(dir: string, name: string): Promise<Golden | undefined> {
  let png: Buffer;
  let sidecar: Sidecar;
  try {
    png = await readFile(join(dir, `${name}.png`));
  } catch {
    return undefined;
  }
  try {
    sidecar = JSON.parse(await readFile(join(dir, `${name}.json`), "utf8")) as Sidecar;
  } catch {
    // an image without its sidecar: treat every engine field as unknown, so it shows as a mismatch
    sidecar = { case: name, engine: {}, made_with: {}, png_sha256: "" } as unknown as Sidecar;
  }
  return { png, image: await decodePng(png), sidecar };
}

export async function writeGolden(dir: string, name: string, png: Buffer, sidecar: Sidecar): Promise<void> {
  await writeFile(join(dir, `${name}.png`), png);
  await writeFile(join(dir, `${name}.json`), `${JSON.stringify(sidecar, null, 2)}\n`);
}

/** Golden files (png or json, not cases.json) whose case no longer exists. */
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
      (f) => f !== "cases.json" && /\.(png|json)$/.test(f) && !names.has(f.replace(/\.(png|json)$/, "")),
    )
    .sort();
}

export async function removeGoldens(dir: string, files: readonly string[]): Promise<void> {
  for (const f of files) await rm(join(dir, f), { force: true });
}

export async function decodePng(png: Buffer): Promise<RgbaImage> {
  const { data, info } = await sharp(png).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
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
