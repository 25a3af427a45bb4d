/**
 * `sd-lambda models upload`: stages a model folder in the stack's S3 bucket (each file with its SHA-256,
 * so S3 checks the upload and the loader checks the copy; files already there unchanged are skipped),
 * then invokes the loader function until it answers `done: true`, printing its progress. From
 * `s3://bucket/prefix` nothing is staged: the loader reads that prefix itself.
 */
import { createHash } from "node:crypto";
import { createReadStream, existsSync, readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { InvokeCommand, type LambdaClient } from "@aws-sdk/client-lambda";
import { HeadObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { OPTIMIZED_DIR } from "../../runtime/engine/optimized-graph.ts";
import type { CopyProgress } from "../../runtime/loader/copy.ts";
import type { LoaderEvent } from "../../runtime/loader/handler.ts";

export interface UploadOptions {
  /** A local model folder, or s3://bucket/prefix. */
  readonly from: string;
  readonly model: string;
  /** The stack's staging bucket (a local folder is staged there under models/<model>/). */
  readonly bucket: string;
  readonly s3: S3Client;
  readonly lambda: LambdaClient;
  readonly loaderName: string;
  /** Bytes per loader invoke (default: as much as fits before its timeout). */
  readonly maxBytes?: number;
  readonly say: (line: string) => void;
}

export interface UploadResult {
  readonly staged: { readonly uploaded: number; readonly unchanged: number; readonly bytes: number };
  readonly invokes: CopyProgress[];
}

export class UploadError extends Error {
  readonly code = "MODELS_UPLOAD";
}

export async function uploadModel(options: UploadOptions): Promise<UploadResult> {
  const source = parseS3Url(options.from);
  let where: { bucket: string; prefix: string };
  let staged = { uploaded: 0, unchanged: 0, bytes: 0 };
  if (source) where = source;
  else {
    where = { bucket: options.bucket, prefix: `models/${options.model}/` };
    staged = await stageFolder(options.from, where, options);
    options.say(
      `staged ${options.from} in s3://${where.bucket}/${where.prefix}: ${staged.uploaded} files uploaded (${mb(staged.bytes)}), ${staged.unchanged} already there`,
    );
  }
  const invokes: CopyProgress[] = [];
  for (;;) {
    const event: LoaderEvent = {
      model: options.model,
      bucket: where.bucket,
      prefix: where.prefix,
      ...(options.maxBytes === undefined ? {} : { max_bytes: options.maxBytes }),
    };
    const progress = await invokeLoader(options.lambda, options.loaderName, event);
    invokes.push(progress);
    options.say(
      `loader: ${progress.files_done}/${progress.files_total} files, ${mb(progress.bytes_done)} of ${mb(progress.bytes_total)} on EFS; this invoke copied ${progress.files_copied} files (${mb(progress.bytes_copied)}) at ${progress.mb_per_s} MB/s`,
    );
    if (progress.done) return { staged, invokes };
    if (progress.files_copied === 0)
      throw new UploadError(
        `[sd-lambda] the loader copied nothing and is not done (stopped: ${progress.stopped ?? "?"}) — raise its timeout or --max-bytes`,
      );
  }
}

/** s3://bucket/prefix → {bucket, prefix/}; undefined for a local path. */
export function parseS3Url(from: string): { bucket: string; prefix: string } | undefined {
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(from);
  if (!match) return undefined;
  const prefix = match[2] ?? "";
  return {
    bucket: match[1] as string,
    prefix: prefix === "" || prefix.endsWith("/") ? prefix : `${prefix}/`,
  };
}

async function stageFolder(
  dir: string,
  to: { bucket: string; prefix: string },
  options: UploadOptions,
): Promise<UploadResult["staged"]> {
  if (!existsSync(join(dir, "model_index.json")))
    throw new UploadError(
      `[sd-lambda] ${dir} is not a model folder (no model_index.json) — pass the folder of an optimum-cli ONNX export`,
    );
  const staged = { uploaded: 0, unchanged: 0, bytes: 0 };
  for (const path of filesToStage(dir, (skipped) =>
    options.say(
      `not uploading ${skipped}: graphs optimised for this machine's CPU; the function saves its own with SD_OPTIMIZED_GRAPHS=save`,
    ),
  )) {
    const key = `${to.prefix}${relative(dir, path)}`;
    const sha256 = await fileSha256(path);
    const head = await options.s3
      .send(new HeadObjectCommand({ Bucket: to.bucket, Key: key, ChecksumMode: "ENABLED" }))
      .catch(() => undefined);
    if (head?.ChecksumSHA256 === sha256) {
      staged.unchanged++;
      continue;
    }
    const size = statSync(path).size;
    await options.s3.send(
      new PutObjectCommand({
        Bucket: to.bucket,
        Key: key,
        Body: createReadStream(path),
        ContentLength: size,
        ChecksumSHA256: sha256,
      }),
    );
    staged.uploaded++;
    staged.bytes += size;
  }
  return staged;
}

async function invokeLoader(lambda: LambdaClient, name: string, event: LoaderEvent): Promise<CopyProgress> {
  const out = await lambda.send(
    new InvokeCommand({ FunctionName: name, Payload: new TextEncoder().encode(JSON.stringify(event)) }),
  );
  const text = new TextDecoder().decode(out.Payload ?? new Uint8Array());
  const body = (text ? JSON.parse(text) : {}) as CopyProgress & { errorType?: string; errorMessage?: string };
  // Lambda marks a function error with X-Amz-Function-Error; the emulator only with the body's errorType
  if (out.FunctionError || body.errorType)
    throw new UploadError(`[sd-lambda] the loader ${name} failed: ${body.errorType}: ${body.errorMessage}`);
  return body;
}

/** The folder's files, without saved optimised graphs (reported through `skip`). */
export function* filesToStage(dir: string, skip: (path: string) => void): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
    a.name.localeCompare(b.name),
  )) {
    const path = join(dir, entry.name);
    if (entry.isDirectory() && entry.name === OPTIMIZED_DIR) skip(path);
    else if (entry.isDirectory()) yield* filesToStage(path, skip);
    else if (entry.isFile()) yield path;
  }
}

async function fileSha256(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("base64");
}

function mb(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}
