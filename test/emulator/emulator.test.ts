// The function image under the real Runtime Interface Emulator (Docker, testcontainers):
//  (a) docker-compose.yml as written answers the three event shapes — the seed article's request and
//      client decoding, a function URL request through the front door, a direct invoke through
//      `sd-lambda invoke`'s client;
//  (b) a cold invoke then a warm one that reuses the loaded model;
//  (c) writes outside /tmp fail (EROFS), /tmp works (whether a generation writes outside /tmp at all is
//      the read-only-fs scenario's docker diff, on a writable root where a write could show);
//  (d) the function process runs as uid 993 / gid 990.
// (a) brings up its own compose project (random name) with the host ports overridden to random ones,
// so it neither needs nor disturbs a stack started with `make up` on 9000/9001. (b)-(d) use
// LambdaContainer on a random port, like the other emulator tests.
import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import sharp from "sharp";
import {
  DockerComposeEnvironment,
  type StartedDockerComposeEnvironment,
  type StartedTestContainer,
  Wait,
} from "testcontainers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LambdaContainer } from "../../harness/emulator/lambda-container.ts";
import { ENV_FILE, ROOT } from "../../harness/emulator/stack.ts";
import { invoke, type Target } from "../../harness/invoke/client.ts";

const run = promisify(execFile);
const MODELS = join(ROOT, "fixtures/models");
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const SMALL = { prompt: "beautiful tree", seed: 7, num_inference_steps: 2 };

async function dockerLogs(id: string): Promise<string> {
  const { stdout, stderr } = await run("docker", ["logs", id], { maxBuffer: 64 * 1024 * 1024 });
  return `${stdout}${stderr}`;
}

function local(container: StartedTestContainer): Target {
  return { kind: "local", endpoint: `http://${container.getHost()}:${container.getMappedPort(8080)}` };
}

/** Decodes every pixel: throws unless `bytes` is a whole, valid PNG. */
async function decodePng(bytes: Buffer): Promise<{ width: number; height: number }> {
  expect(bytes.subarray(0, 8)).toEqual(PNG_SIGNATURE);
  const { info } = await sharp(bytes).raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height };
}

describe("docker-compose.yml under the RIE (DockerComposeEnvironment)", () => {
  let stack: StartedDockerComposeEnvironment;
  let functionPort: number;
  let frontDoorPort: number;

  beforeAll(async () => {
    // Same services, same sandbox; only the fixed host ports 9000/9001 become random ones.
    const override = join(mkdtempSync(join(tmpdir(), "sd-lambda-compose-")), "random-ports.yml");
    writeFileSync(
      override,
      'services:\n  function:\n    ports: !override ["8080"]\n  function-url:\n    ports: !override ["8080"]\n',
    );
    stack = await new DockerComposeEnvironment(ROOT, ["docker-compose.yml", override])
      .withEnvironmentFile(ENV_FILE)
      .withWaitStrategy("function-1", Wait.forListeningPorts())
      .withWaitStrategy("function-url-1", Wait.forListeningPorts())
      .withStartupTimeout(60_000)
      .up();
    functionPort = stack.getContainer("function-1").getMappedPort(8080);
    frontDoorPort = stack.getContainer("function-url-1").getMappedPort(8080);
  });
  afterAll(async () => {
    await stack?.down({ removeVolumes: true });
  });

  it("answers the seed article's request; its client's latin1 decoding gives a valid PNG", async () => {
    const res = await fetch(`http://localhost:${functionPort}/2015-03-31/functions/function/invocations`, {
      method: "POST",
      body: JSON.stringify({ body: JSON.stringify(SMALL) }),
    });
    expect(res.status).toBe(200);
    const answer = (await res.json()) as { statusCode: number; body: string };
    expect(answer.statusCode).toBe(200);
    // the seed client: json.loads(response["body"])["image"].encode("latin1")
    const body = JSON.parse(answer.body) as { message: string; image: string; seed: number };
    expect(body.message).toBe("ok");
    expect(body.seed).toBe(7);
    expect(await decodePng(Buffer.from(body.image, "latin1"))).toEqual({ width: 64, height: 64 });
  });

  it("answers a function URL request through the front door with image bytes", async () => {
    const res = await fetch(`http://localhost:${frontDoorPort}/`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ ...SMALL, seed: 11 }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("image/png");
    expect(res.headers.get("x-sd-seed")).toBe("11");
    expect(res.headers.get("server-timing")).toMatch(/unet;dur=\d+/);
    expect(await decodePng(Buffer.from(await res.arrayBuffer()))).toEqual({ width: 64, height: 64 });
  });

  it("answers a direct invoke through sd-lambda invoke's client, REPORT from docker logs", async () => {
    const invoked = await invoke(
      { ...SMALL, seed: 12 },
      { kind: "local", endpoint: `http://localhost:${functionPort}` },
      { timeoutS: 60 },
    );
    expect(invoked.result).toMatchObject({ seed: 12, width: 64, height: 64, content_type: "image/png" });
    expect(await decodePng(invoked.image)).toEqual({ width: 64, height: 64 });
    expect(invoked.reportSource).toBe("docker logs");
    expect(invoked.report?.requestId).toBe(invoked.result.request_id);
    expect(invoked.report?.memorySizeMb).toBeGreaterThan(0);
  });
});

describe("one function container (LambdaContainer)", () => {
  let container: StartedTestContainer;
  beforeAll(async () => {
    container = await new LambdaContainer({ modelsDir: MODELS }).start();
  });
  afterAll(async () => {
    await container?.stop();
  });

  it("(b) cold then warm: Init Duration only on the first REPORT, the model loaded once", async () => {
    const cold = await invoke(SMALL, local(container), { timeoutS: 120 });
    const warm = await invoke({ ...SMALL, seed: 8 }, local(container), { timeoutS: 120 });
    expect(cold.report, cold.reportNote).toBeDefined();
    expect(cold.report?.initDurationMs).toBeGreaterThanOrEqual(0);
    expect(warm.report).toBeDefined();
    expect(warm.report?.initDurationMs).toBeUndefined();
    const logs = await dockerLogs(container.getId());
    expect(logs.match(/"event":"model_loaded"/g)).toHaveLength(1);
    expect(logs.match(/^REPORT RequestId: /gm)).toHaveLength(2);
    expect(logs.match(/Init Duration: /g)).toHaveLength(1);
  });

  it("(c) after a generation, writes outside /tmp fail with EROFS and /tmp works", async () => {
    await invoke({ ...SMALL, seed: 9 }, local(container), { timeoutS: 120 });
    const probe = await container.exec([
      "/var/lang/bin/node",
      "-e",
      `const fs = require("node:fs");
       const tryWrite = (p) => { try { fs.writeFileSync(p, "x"); return "ok"; } catch (e) { return e.code; } };
       console.log(JSON.stringify({ task: tryWrite("/var/task/probe"), root: tryWrite("/probe"), tmp: tryWrite("/tmp/probe") }));`,
    ]);
    expect(JSON.parse(probe.stdout)).toEqual({ task: "EROFS", root: "EROFS", tmp: "ok" });
  });

  it("(d) the function's node process runs as uid 993 / gid 990", async () => {
    await invoke({ ...SMALL, seed: 10 }, local(container), { timeoutS: 120 });
    const { stdout, exitCode } = await container.exec([
      "sh",
      "-c",
      'for p in /proc/[0-9]*; do if tr "\\0" " " < $p/cmdline 2>/dev/null | grep -q "^/var/lang/bin/node .*/var/runtime/index[.]mjs"; then grep -E "^(Uid|Gid):" $p/status; fi; done',
    ]);
    expect(exitCode).toBe(0);
    const fields = Object.fromEntries(
      stdout
        .trim()
        .split("\n")
        .map((l) => l.split(":\t") as [string, string]),
    );
    expect(fields).toEqual({ Uid: "993\t993\t993\t993", Gid: "990\t990\t990\t990" });
  });
});
