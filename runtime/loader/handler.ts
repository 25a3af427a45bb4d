/**
 * The model loader: a second Lambda function from the same image (CMD dist/runtime/loader/handler.handler)
 * with the same EFS access point mounted. `sd-lambda models upload` stages a model folder in S3 and
 * invokes this until it answers `done: true`; each invoke copies what fits before its deadline (or
 * `max_bytes`) and answers the progress.
 *
 * Event: {"model": "sd15", "bucket"?: "…" (default STAGING_BUCKET), "prefix"?: "models/sd15/", "max_bytes"?: n}
 * Environment: MNT_DIR (the mount path), STAGING_BUCKET; SD_S3_ENDPOINT for an S3-compatible server
 * (path-style requests, used by the local tests).
 */

import { join } from "node:path";
import { GetObjectCommand, HeadObjectCommand, paginateListObjectsV2, S3Client } from "@aws-sdk/client-s3";
import { type CopyProgress, copyPrefix, type ObjectSource } from "./copy.ts";

export interface LoaderEvent {
  readonly model: string;
  readonly bucket?: string;
  readonly prefix?: string;
  readonly max_bytes?: number;
}

export interface LoaderContext {
  getRemainingTimeInMillis(): number;
}

const endpoint = process.env.SD_S3_ENDPOINT;
const s3 = new S3Client({
  ...(endpoint ? { endpoint, forcePathStyle: true } : {}),
  requestChecksumCalculation: "WHEN_REQUIRED",
  responseChecksumValidation: "WHEN_REQUIRED",
});

const source: ObjectSource = {
  async list(bucket, prefix) {
    const objects = [];
    for await (const page of paginateListObjectsV2({ client: s3 }, { Bucket: bucket, Prefix: prefix }))
      for (const o of page.Contents ?? [])
        if (o.Key) objects.push({ key: o.Key, size: o.Size ?? 0, etag: o.ETag ?? "" });
    return objects;
  },
  async get(bucket, key) {
    // S3's stored checksum from HeadObject; the GetObject goes without ChecksumMode, so the SDK does not
    // validate the stream itself and the loader's own check names the key and both checksums
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key, ChecksumMode: "ENABLED" }));
    const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, IfMatch: head.ETag }));
    if (!out.Body) throw new Error(`[sd-lambda loader] s3://${bucket}/${key} has no body`);
    return {
      body: out.Body as never,
      etag: out.ETag ?? "",
      ...(head.ChecksumSHA256 ? { checksumSha256: head.ChecksumSHA256 } : {}),
    };
  },
};

export async function handler(
  event: LoaderEvent,
  context: LoaderContext,
): Promise<CopyProgress & { model: string; dest: string }> {
  if (!event || typeof event.model !== "string" || !/^[A-Za-z0-9._-]+$/.test(event.model))
    throw new Error(`[sd-lambda loader] "model" must be a folder name, got ${JSON.stringify(event?.model)}`);
  const bucket = event.bucket ?? process.env.STAGING_BUCKET;
  if (!bucket)
    throw new Error('[sd-lambda loader] no "bucket" in the event and no STAGING_BUCKET in the environment');
  const dest = join(process.env.MNT_DIR || "/mnt/fs", "models", event.model);
  const progress = await copyPrefix(source, {
    bucket,
    prefix: event.prefix ?? `models/${event.model}/`,
    dest,
    remainingMs: () => context.getRemainingTimeInMillis(),
    ...(event.max_bytes === undefined ? {} : { maxBytes: event.max_bytes }),
  });
  console.log(JSON.stringify({ event: "loader", model: event.model, ...progress }));
  return { model: event.model, dest, ...progress };
}
