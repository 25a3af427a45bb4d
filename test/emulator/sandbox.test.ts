// What the Lambda sandbox emulates, one test per row of the README table "What the sandbox emulates and
// what it does not". Each container is a LambdaContainer (random port) with non-default limits so a
// default cannot pass for the configured value.
import { execFile } from "node:child_process";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { StartedTestContainer } from "testcontainers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sandboxLimits } from "../../harness/emulator/config.ts";
import { invokeUrl, LambdaContainer } from "../../harness/emulator/lambda-container.ts";
import { dockerEnv, ROOT } from "../../harness/emulator/stack.ts";
import { InvokeError, invoke } from "../../harness/invoke/client.ts";
import { sleeperImage } from "../../harness/scenarios/sleeper.ts";

const run = promisify(execFile);
const MODELS = join(ROOT, "fixtures/models");

async function inspect(
  container: StartedTestContainer,
): Promise<{ Memory: number; MemorySwap: number; NanoCpus: number }> {
  const { stdout } = await run("docker", ["inspect", "--format", "{{json .HostConfig}}", container.getId()]);
  return JSON.parse(stdout) as { Memory: number; MemorySwap: number; NanoCpus: number };
}

/** Runs a CommonJS snippet with the image's Node as the container user; returns its JSON output. */
async function node(container: StartedTestContainer, code: string): Promise<unknown> {
  const { stdout, stderr, exitCode } = await container.exec(["/var/lang/bin/node", "-e", code]);
  if (exitCode !== 0) throw new Error(`node -e exited ${exitCode}: ${stderr}`);
  return JSON.parse(stdout);
}

const TRY_WRITE = `const fs = require("node:fs");
const tryWrite = (p) => { try { fs.writeFileSync(p, "x"); return "ok"; } catch (e) { return e.code; } };`;

describe("sandbox at 1,769 MB, 600 MB /tmp", () => {
  let c: StartedTestContainer;
  beforeAll(async () => {
    c = await new LambdaContainer({ modelsDir: MODELS, memoryMb: 1769, ephemeralStorageMb: 600 }).start();
  });
  afterAll(async () => {
    await c?.stop();
  });

  it("read-only root: writes outside /tmp fail with EROFS", async () => {
    expect(
      await node(
        c,
        `${TRY_WRITE} console.log(JSON.stringify(["/probe", "/var/task/probe", "/var/runtime/probe", "/opt/probe", "/etc/probe"].map(tryWrite)))`,
      ),
    ).toEqual(["EROFS", "EROFS", "EROFS", "EROFS", "EROFS"]);
  });

  it("/tmp: writable, size from EPHEMERAL_STORAGE_MB, executables run", async () => {
    expect(
      await node(
        c,
        `const fs = require("node:fs"); const { execFileSync } = require("node:child_process");
         const s = fs.statfsSync("/tmp");
         fs.writeFileSync("/tmp/hello.sh", "#!/bin/sh\\necho ran\\n", { mode: 0o755 });
         console.log(JSON.stringify({ mb: (s.blocks * s.bsize) / 1048576, exec: execFileSync("/tmp/hello.sh", { encoding: "utf8" }).trim() }));`,
      ),
    ).toEqual({ mb: 600, exec: "ran" });
  });

  it("uid 993 / gid 990 (the code's user, not root)", async () => {
    expect(await node(c, "console.log(JSON.stringify([process.getuid(), process.getgid()]))")).toEqual([
      993, 990,
    ]);
  });

  it("HOME is /home/sbx_user1051, which does not exist", async () => {
    expect(
      await node(
        c,
        `console.log(JSON.stringify({ home: require("node:os").homedir(), exists: require("node:fs").existsSync(process.env.HOME) }))`,
      ),
    ).toEqual({ home: "/home/sbx_user1051", exists: false });
  });

  it("memory limit = the memory size, no swap", async () => {
    const { Memory, MemorySwap } = await inspect(c);
    expect(Memory).toBe(1769 * 1024 * 1024);
    expect(MemorySwap).toBe(Memory);
    // what the process sees (cgroup v1 or v2)
    const seen = await node(
      c,
      `const fs = require("node:fs");
       const read = (p) => { try { return fs.readFileSync(p, "utf8").trim(); } catch { return undefined; } };
       console.log(JSON.stringify(Number(read("/sys/fs/cgroup/memory.max") ?? read("/sys/fs/cgroup/memory/memory.limit_in_bytes"))))`,
    );
    expect(seen).toBe(1769 * 1024 * 1024);
  });

  it("CPU share from memory: 1,769 MB = 1 vCPU", async () => {
    expect((await inspect(c)).NanoCpus).toBe(1e9);
  });

  it("EFS stand-in: models read-only at /mnt/fs, readable by uid 993", async () => {
    expect(
      await node(
        c,
        `${TRY_WRITE}
         console.log(JSON.stringify({ write: tryWrite("/mnt/fs/models/probe"), read: JSON.parse(fs.readFileSync("/mnt/fs/models/tiny-sd/model_index.json", "utf8"))._class_name }))`,
      ),
    ).toEqual({ write: "EROFS", read: "StableDiffusionPipeline" });
  });

  it("6 MB request limit is NOT emulated by the RIE: it cuts the request and the runtime dies; the invoke client's stand-in answers 413 first", async () => {
    // over the 6,291,556 bytes the RIE passes on (Lambda's 6 MB + 100)
    const big = { prompt: "x".repeat(6_300_000) };
    const res = await fetch(invokeUrl(c), { method: "POST", body: JSON.stringify(big) });
    // the runtime gets the first 6,291,556 bytes, fails JSON.parse and exits
    expect(await res.json()).toMatchObject({
      errorType: "Runtime.ExitError",
      errorMessage: expect.stringMatching(/Runtime exited with error: exit status 1$/),
    });
    const endpoint = `http://${c.getHost()}:${c.getMappedPort(8080)}`;
    const refused = await invoke(big, { kind: "local", endpoint }, { timeoutS: 30 }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(InvokeError);
    expect((refused as InvokeError).message).toBe(
      "the request is 6300013 bytes; Lambda accepts at most 6291456 bytes (6 MB) for a synchronous invoke (RequestTooLargeException, HTTP 413; answered by the harness's Lambda stand-in, the emulator does not check) — send a smaller --init-image or --mask",
    );
  });
});

describe("sandbox at 10,240 MB, 1 s timeout (the sleeper function)", () => {
  let c: StartedTestContainer;
  beforeAll(async () => {
    const image = sleeperImage(dockerEnv());
    c = await new LambdaContainer({ modelsDir: undefined, image, memoryMb: 10240, timeoutS: 1 }).start();
  });
  afterAll(async () => {
    await c?.stop();
  });

  it("CPU share capped by this machine's cores (Lambda: 5.79 vCPU at 10,240 MB)", async () => {
    const expected = sandboxLimits(10240, availableParallelism()).cpus;
    expect(expected).toBe(Math.min(availableParallelism(), 5.79));
    expect((await inspect(c)).NanoCpus).toBe(Math.round(expected * 1e9));
  });

  it("timeout from AWS_LAMBDA_FUNCTION_TIMEOUT: the RIE stops an invoke that sleeps 5 s after 1 s", async () => {
    const endpoint = `http://${c.getHost()}:${c.getMappedPort(8080)}`;
    // a control first: a short sleep completes, so the timeout below is the timeout's doing
    const short = await fetch(invokeUrl(c), { method: "POST", body: JSON.stringify({ sleep_ms: 10 }) });
    expect(await short.json()).toEqual({ slept_ms: 10, init_ms: 0 });
    const error = await invoke({ sleep_ms: 5000 }, { kind: "local", endpoint }, { timeoutS: 60 }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(InvokeError);
    expect((error as InvokeError).message).toBe(
      "function error Sandbox.Timedout: Task timed out after 1.00 seconds — raise the function timeout (TIMEOUT_S for the emulator) or ask for fewer --steps",
    );
  });
});
