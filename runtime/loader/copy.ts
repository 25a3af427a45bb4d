/**
 * Copies a model from an S3 prefix onto the mounted file system (EFS on Lambda): each object streams to
 * a temporary file beside its destination and is renamed into place only once its checksum matched
 * (S3's ChecksumSHA256, else a single-part ETag's MD5, else the size), so the function never sees a
 * half-written model file. A manifest beside the files records what is done, so an interrupted or
 * budgeted run resumes where it stopped and a repeated upload copies nothing.
 */
import { createHash, randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join, relative } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";

/** One object under the prefix, as ListObjectsV2 gives it. */
export interface SourceObject {
  readonly key: string;
  readonly size: number;
  readonly etag: string;
}

/** What copying needs from S3 (the real client in handler.ts; tests may pass another). */
export interface ObjectSource {
  list(bucket: string, prefix: string): Promise<SourceObject[]>;
  /** The body and S3's stored checksum (GetObject with ChecksumMode ENABLED). */
  get(
    bucket: string,
    key: string,
  ): Promise<{ body: Readable | ReadableStream<Uint8Array>; checksumSha256?: string; etag: string }>;
}

export interface CopyRequest {
  readonly bucket: string;
  /** Ends with "/" (added when missing); object keys below it map to files below `dest`. */
  readonly prefix: string;
  /** The model folder, e.g. /mnt/fs/models/sd15. */
  readonly dest: string;
  /** Stop before starting another file once this many bytes were copied in this run. */
  readonly maxBytes?: number;
  /** Milliseconds left before the invoke's deadline; stop before starting a file when under the margin. */
  readonly remainingMs: () => number;
  readonly marginMs?: number;
}

export interface CopyProgress {
  readonly done: boolean;
  readonly files_total: number;
  readonly files_done: number;
  readonly bytes_total: number;
  readonly bytes_done: number;
  /** Copied by this run (the rest were already in place). */
  readonly files_copied: number;
  readonly bytes_copied: number;
  readonly elapsed_ms: number;
  readonly mb_per_s: number;
  /** Why the run stopped before the end, when it did. */
  readonly stopped?: "deadline" | "max_bytes";
}

export const MANIFEST = ".sd-lambda-manifest.json";

type Manifest = Record<string, { size: number; etag: string }>;

export class IntegrityError extends Error {
  override readonly name = "IntegrityError";
  readonly code = "LOADER_INTEGRITY";
}

export async function copyPrefix(source: ObjectSource, request: CopyRequest): Promise<CopyProgress> {
  const started = performance.now();
  const prefix =
    request.prefix.endsWith("/") || request.prefix === "" ? request.prefix : `${request.prefix}/`;
  const objects = (await source.list(request.bucket, prefix)).filter((o) => !o.key.endsWith("/"));
  if (objects.length === 0)
    throw new Error(
      `[sd-lambda loader] nothing under s3://${request.bucket}/${prefix} — upload the model folder there first`,
    );
  await mkdir(request.dest, { recursive: true });
  const manifestPath = join(request.dest, MANIFEST);
  const manifest: Manifest = await readFile(manifestPath, "utf8")
    .then((text) => JSON.parse(text) as Manifest)
    .catch(() => ({}));

  const isDone = async (o: SourceObject) => {
    const entry = manifest[o.key];
    if (!entry || entry.size !== o.size || entry.etag !== o.etag) return false;
    const file = await stat(join(request.dest, relative(prefix, o.key))).catch(() => undefined);
    return file?.size === o.size;
  };
  let filesDone = 0;
  let bytesDone = 0;
  let filesCopied = 0;
  let bytesCopied = 0;
  let stopped: CopyProgress["stopped"];
  const margin = request.marginMs ?? 10_000;
  for (const object of objects) {
    if (await isDone(object)) {
      filesDone++;
      bytesDone += object.size;
      continue;
    }
    if (stopped) continue;
    if (filesCopied > 0 && request.maxBytes !== undefined && bytesCopied >= request.maxBytes) {
      stopped = "max_bytes";
      continue;
    }
    if (request.remainingMs() < margin) {
      stopped = "deadline";
      continue;
    }
    await copyObject(source, request.bucket, object, join(request.dest, relative(prefix, object.key)));
    manifest[object.key] = { size: object.size, etag: object.etag };
    await writeAtomically(manifestPath, `${JSON.stringify(manifest, null, 1)}\n`);
    filesDone++;
    filesCopied++;
    bytesDone += object.size;
    bytesCopied += object.size;
  }
  const elapsedMs = performance.now() - started;
  return {
    done: filesDone === objects.length,
    files_total: objects.length,
    files_done: filesDone,
    bytes_total: objects.reduce((sum, o) => sum + o.size, 0),
    bytes_done: bytesDone,
    files_copied: filesCopied,
    bytes_copied: bytesCopied,
    elapsed_ms: Math.round(elapsedMs),
    mb_per_s: elapsedMs > 0 ? Math.round((bytesCopied / 1e6 / (elapsedMs / 1000)) * 10) / 10 : 0,
    ...(stopped ? { stopped } : {}),
  };
}

/** Streams one object to a temporary file, checks it, then renames it into place. */
async function copyObject(
  source: ObjectSource,
  bucket: string,
  object: SourceObject,
  path: string,
): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temp = `${path}.partial-${randomBytes(4).toString("hex")}`;
  const sha256 = createHash("sha256");
  const md5 = createHash("md5");
  let size = 0;
  try {
    const got = await source.get(bucket, object.key);
    const body = got.body instanceof Readable ? got.body : Readable.fromWeb(got.body as never);
    body.on("data", (chunk: Buffer) => {
      sha256.update(chunk);
      md5.update(chunk);
      size += chunk.length;
    });
    await pipeline(body, createWriteStream(temp, { mode: 0o644 }));
    const problem = verify(object, got.checksumSha256, got.etag, {
      sha256: sha256.digest("base64"),
      md5: md5.digest("hex"),
      size,
    });
    if (problem)
      throw new IntegrityError(
        `[sd-lambda loader] s3://${bucket}/${object.key} failed its integrity check: ${problem} — the object is corrupt or changed while copying; upload it again (nothing was written to ${path})`,
      );
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

/** Undefined when the bytes match S3's checksum, else what differed. */
export function verify(
  object: SourceObject,
  checksumSha256: string | undefined,
  etag: string,
  got: { sha256: string; md5: string; size: number },
): string | undefined {
  if (got.size !== object.size) return `size ${got.size} bytes, S3 lists ${object.size}`;
  // a multipart object's checksum is "<checksum of checksums>-<parts>", not the whole body's
  if (checksumSha256 && !checksumSha256.includes("-"))
    return checksumSha256 === got.sha256 ? undefined : `SHA-256 ${got.sha256}, S3 has ${checksumSha256}`;
  const plainEtag = etag.replace(/"/g, "");
  if (/^[0-9a-f]{32}$/.test(plainEtag))
    return plainEtag === got.md5 ? undefined : `MD5 ${got.md5}, S3's ETag is ${plainEtag}`;
  return undefined;
}

async function writeAtomically(path: string, text: string): Promise<void> {
  const temp = `${path}.partial-${randomBytes(4).toString("hex")}`;
  await writeFile(temp, text, { mode: 0o644 });
  await rename(temp, path);
}
