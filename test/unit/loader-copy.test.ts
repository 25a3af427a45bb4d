// The loader's copy logic on a temporary folder with an in-memory object source: budgets, resume,
// deadlines and the checksum fallbacks (SHA-256, single-part ETag MD5, size). The real S3 client and
// the RIE are exercised in test/emulator/loader.test.ts.
import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { copyPrefix, type ObjectSource, verify } from "../../runtime/loader/copy.ts";

const body = (n: number, fill: number) => Buffer.alloc(n, fill);
const objects: Record<string, Buffer> = {
  "models/m/model_index.json": Buffer.from("{}"),
  "models/m/unet/model.onnx": body(3000, 1),
  "models/m/vae_decoder/model.onnx": body(2000, 2),
};
const md5 = (b: Buffer) => createHash("md5").update(b).digest("hex");
const sha = (b: Buffer) => createHash("sha256").update(b).digest("base64");

function source(
  override: { checksum?: (key: string) => string | undefined } = {},
): ObjectSource & { gets: string[] } {
  const gets: string[] = [];
  return {
    gets,
    async list(_bucket, prefix) {
      return Object.entries(objects)
        .filter(([k]) => k.startsWith(prefix))
        .map(([key, b]) => ({ key, size: b.length, etag: `"${md5(b)}"` }));
    },
    async get(_bucket, key) {
      gets.push(key);
      const b = objects[key] as Buffer;
      const checksum = override.checksum ? override.checksum(key) : sha(b);
      return {
        body: Readable.from([b]),
        etag: `"${md5(b)}"`,
        ...(checksum ? { checksumSha256: checksum } : {}),
      };
    },
  };
}

describe("copyPrefix", () => {
  it("copies within a byte budget per run, resumes from the manifest, then copies nothing", async () => {
    const dest = mkdtempSync(join(tmpdir(), "sd-loader-"));
    const s = source();
    const run = () =>
      copyPrefix(s, { bucket: "b", prefix: "models/m", dest, maxBytes: 2000, remainingMs: () => 60_000 });
    const first = await run();
    expect(first).toMatchObject({
      done: false,
      files_done: 2,
      files_copied: 2,
      bytes_copied: 3002,
      stopped: "max_bytes",
    });
    const second = await run();
    expect(second).toMatchObject({
      done: true,
      files_done: 3,
      files_copied: 1,
      bytes_copied: 2000,
      bytes_total: 5002,
    });
    const third = await run();
    expect(third).toMatchObject({ done: true, files_copied: 0, bytes_copied: 0 });
    expect(s.gets).toHaveLength(3);
    expect(readFileSync(join(dest, "unet/model.onnx"))).toEqual(objects["models/m/unet/model.onnx"]);
  });

  it("stops before starting a file when the deadline is near", async () => {
    const dest = mkdtempSync(join(tmpdir(), "sd-loader-"));
    const progress = await copyPrefix(source(), {
      bucket: "b",
      prefix: "models/m/",
      dest,
      remainingMs: () => 5_000,
    });
    expect(progress).toMatchObject({ done: false, files_copied: 0, stopped: "deadline" });
  });

  it("refuses a body that does not match S3's SHA-256 and leaves no file behind", async () => {
    const dest = mkdtempSync(join(tmpdir(), "sd-loader-"));
    const wrong = sha(Buffer.from("other"));
    const s = source({ checksum: (key) => (key.endsWith("model_index.json") ? wrong : undefined) });
    await expect(
      copyPrefix(s, { bucket: "b", prefix: "models/m/", dest, remainingMs: () => 60_000 }),
    ).rejects.toThrow(
      `[sd-lambda loader] s3://b/models/m/model_index.json failed its integrity check: SHA-256 ${sha(Buffer.from("{}"))}, S3 has ${wrong} — the object is corrupt or changed while copying; upload it again (nothing was written to ${dest}/model_index.json)`,
    );
    expect(readdirSync(dest)).toEqual([]);
  });
});

describe("verify", () => {
  const object = { key: "k", size: 2, etag: `"${md5(Buffer.from("{}"))}"` };
  const got = { sha256: sha(Buffer.from("{}")), md5: md5(Buffer.from("{}")), size: 2 };
  it("falls back to a single-part ETag's MD5, then to the size", () => {
    expect(verify(object, undefined, object.etag, got)).toBeUndefined();
    expect(verify(object, undefined, object.etag, { ...got, md5: "0".repeat(32) })).toBe(
      `MD5 ${"0".repeat(32)}, S3's ETag is ${md5(Buffer.from("{}"))}`,
    );
    // a multipart ETag ("…-3") is no MD5 of the body: only the size is checked
    expect(verify(object, undefined, '"abc-3"', { ...got, md5: "x" })).toBeUndefined();
    expect(verify(object, undefined, '"abc-3"', { ...got, size: 1 })).toBe("size 1 bytes, S3 lists 2");
  });
});
