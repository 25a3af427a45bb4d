// The model loader end to end: `sd-lambda models upload`'s code stages the tiny model in a real
// S3-compatible server, the loader (the function image with the loader's CMD, under the RIE, running as
// the EFS access point's uid/gid) copies it into a bind mount standing in for EFS, and the function then
// serves an image from that folder.
// The S3 server is fauxqs (npm): it runs inside the test process (no image to pull — no registry answers
// here — and no Go build), speaks the S3 REST API the AWS SDK uses, and stores the ChecksumSHA256 a
// client sends without checking it against the body, which is what lets the test plant a corrupt object.
// The loader's container reaches it at the Docker bridge's gateway address (Docker's host-gateway).
import { createHash } from "node:crypto";
import { chmodSync, chownSync, mkdtempSync, readdirSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { CreateBucketCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { type FauxqsServer, startFauxqs } from "fauxqs";
import type { StartedTestContainer } from "testcontainers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LOADER_HANDLER, loadDeployConfig } from "../../deploy/config.ts";
import { uploadModel } from "../../harness/deploy/models-upload.ts";
import { LambdaContainer } from "../../harness/emulator/lambda-container.ts";
import { ROOT } from "../../harness/emulator/stack.ts";
import { invoke, lambdaClient } from "../../harness/invoke/client.ts";

const TINY = join(ROOT, "fixtures/models/tiny-sd");
const BUCKET = "sd-lambda-staging";
const { efs } = loadDeployConfig();

function files(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out[relative(dir, p)] = createHash("sha256").update(readFileSync(p)).digest("hex");
    }
  };
  walk(dir);
  return out;
}

describe("models upload → loader under the RIE → EFS stand-in → the function", () => {
  let s3server: FauxqsServer;
  let s3: S3Client;
  let loader: StartedTestContainer;
  let mount: string;
  const lines: string[] = [];

  beforeAll(async () => {
    s3server = await startFauxqs({ port: 0, logger: false });
    s3 = new S3Client({
      endpoint: s3server.address,
      forcePathStyle: true,
      region: "us-east-1",
      credentials: { accessKeyId: "test", secretAccessKey: "test" },
    });
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    // the access point's root as EFS creates it: owned by its POSIX user, with its permissions
    mount = mkdtempSync(join(tmpdir(), "sd-efs-"));
    chownSync(mount, efs.uid, efs.gid);
    chmodSync(mount, Number.parseInt(efs.rootPermissions, 8));
    loader = await new LambdaContainer({
      modelsDir: undefined,
      mountDir: mount,
      user: `${efs.uid}:${efs.gid}`,
      memoryMb: 1769,
      timeoutS: 60,
      environment: {
        STAGING_BUCKET: BUCKET,
        SD_S3_ENDPOINT: `http://s3-on-host:${s3server.port}`,
        AWS_ACCESS_KEY_ID: "test",
        AWS_SECRET_ACCESS_KEY: "test",
      },
    })
      .withCommand([LOADER_HANDLER])
      // this machine as seen from the bridge network (its gateway address); a name without dots, so
      // fauxqs takes the requests as path-style, not as virtual-hosted buckets
      .withExtraHosts([{ host: "s3-on-host", ipAddress: "host-gateway" }])
      .start();
  });

  afterAll(async () => {
    await loader?.stop();
    await s3server?.stop();
  });

  const upload = (from: string, model: string, maxBytes?: number) =>
    uploadModel({
      from,
      model,
      bucket: BUCKET,
      s3,
      lambda: lambdaClient({
        kind: "local",
        endpoint: `http://${loader.getHost()}:${loader.getMappedPort(8080)}`,
      }),
      loaderName: "function",
      ...(maxBytes === undefined ? {} : { maxBytes }),
      say: (line) => lines.push(line),
    });

  it("copies the model in budgeted invokes, resuming each time, as the access point's user", async () => {
    const result = await upload(TINY, "tiny-sd", 3_000_000);
    const dest = join(mount, "models/tiny-sd");
    const { ".sd-lambda-manifest.json": manifest, ...copied } = files(dest);
    expect(manifest).toBeDefined();
    expect(copied).toEqual(files(TINY));
    expect(result.invokes.length).toBeGreaterThanOrEqual(3);
    expect(result.invokes.map((i) => i.done)).toEqual([...result.invokes.slice(1).map(() => false), true]);
    expect(result.invokes.reduce((n, i) => n + i.files_copied, 0)).toBe(Object.keys(copied).length);
    const unet = statSync(join(dest, "unet/model.onnx"));
    expect([unet.uid, unet.gid, unet.mode & 0o777]).toEqual([efs.uid, efs.gid, 0o644]);
    expect(lines[0]).toMatch(
      /^staged .*tiny-sd in s3:\/\/sd-lambda-staging\/models\/tiny-sd\/: \d+ files uploaded/,
    );
  });

  it("a second upload stages nothing and copies nothing", async () => {
    const result = await upload(TINY, "tiny-sd");
    expect(result.staged).toEqual({ uploaded: 0, unchanged: Object.keys(files(TINY)).length, bytes: 0 });
    expect(result.invokes).toEqual([
      expect.objectContaining({ done: true, files_copied: 0, bytes_copied: 0 }),
    ]);
  });

  it("refuses a corrupt object, naming the key and both checksums, and writes nothing", async () => {
    const body = Buffer.from('{"_class_name": "StableDiffusionPipeline"}');
    const claimed = createHash("sha256").update("something else").digest("base64");
    await s3.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: "models/bad/model_index.json",
        Body: body,
        ChecksumSHA256: claimed,
      }),
    );
    const actual = createHash("sha256").update(body).digest("base64");
    await expect(upload(`s3://${BUCKET}/models/bad`, "bad")).rejects.toThrow(
      `[sd-lambda] the loader function failed: IntegrityError: [sd-lambda loader] s3://${BUCKET}/models/bad/model_index.json failed its integrity check: SHA-256 ${actual}, S3 has ${claimed} — the object is corrupt or changed while copying; upload it again (nothing was written to /mnt/fs/models/bad/model_index.json)`,
    );
    expect(readdirSync(join(mount, "models/bad"))).toEqual([]);
  });

  it("the function serves an image from the loaded folder", async () => {
    const fn = await new LambdaContainer({
      modelsDir: join(mount, "models"),
      memoryMb: 2048,
      timeoutS: 60,
      environment: { SD_MODEL: "tiny-sd" },
    }).start();
    try {
      const endpoint = `http://${fn.getHost()}:${fn.getMappedPort(8080)}`;
      const invoked = await invoke(
        { prompt: "beautiful tree", seed: 7, num_inference_steps: 2 },
        { kind: "local", endpoint },
        { timeoutS: 60, dockerLogs: false },
      );
      expect(invoked.result).toMatchObject({ model: "tiny-sd", seed: 7, content_type: "image/png" });
      expect(invoked.image.subarray(1, 4).toString()).toBe("PNG");
    } finally {
      await fn.stop();
    }
  });
});
