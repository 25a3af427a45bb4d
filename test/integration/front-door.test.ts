// The function URL front door (harness/emulator/function-url-server.ts) against a stand-in RIE on a
// local port: it answers a request arriving while one runs with Lambda's 429 instead of queueing it,
// and a request over the payload limit with Lambda's 413 without sending it on — the stand-in answers
// of harness/emulator/lambda-stand-in.ts, as the scenarios and the invoke client give them.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, test } from "vitest";
import { type FrontDoor, startFrontDoor } from "../../harness/emulator/function-url-server.ts";
import { MAX_PAYLOAD_BYTES } from "../../runtime/config.ts";

/** An RIE stand-in that holds each invoke until `release()`, answering {"ok": n}. */
async function heldRie(): Promise<{
  url: string;
  received: () => number;
  release: () => void;
  server: Server;
}> {
  let received = 0;
  const waiting: (() => void)[] = [];
  const server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      received++;
      const n = received;
      waiting.push(() => res.end(JSON.stringify({ ok: n })));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/2015-03-31/functions/function/invocations`,
    received: () => received,
    release: () => {
      for (const answer of waiting.splice(0)) answer();
    },
    server,
  };
}

const closers: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

async function setup(): Promise<{ door: FrontDoor; rie: Awaited<ReturnType<typeof heldRie>> }> {
  const rie = await heldRie();
  closers.push(() => new Promise<void>((resolve) => rie.server.close(() => resolve())));
  const door = await startFrontDoor({ port: 0, rieUrl: rie.url, maxPayloadBytes: MAX_PAYLOAD_BYTES });
  closers.push(() => door.close());
  return { door, rie };
}

const post = (door: FrontDoor, body: string) =>
  fetch(`http://127.0.0.1:${door.port}/`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body,
  });

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 10));
}

describe("function URL front door", () => {
  test("a request while one runs gets Lambda's 429 at once; the first completes", async () => {
    const { door, rie } = await setup();
    const first = post(door, '{"prompt":"a"}');
    await until(() => rie.received() === 1);
    const second = await post(door, '{"prompt":"b"}');
    expect(second.status).toBe(429);
    expect(second.headers.get("x-amzn-errortype")).toBe("TooManyRequestsException");
    expect(await second.text()).toBe(
      '{"Type":"User","message":"Rate Exceeded.","Reason":"ReservedFunctionConcurrentInvocationLimitExceeded"}',
    );
    expect(rie.received()).toBe(1); // not queued, not sent on
    rie.release();
    const done = await first;
    expect({ status: done.status, body: await done.text() }).toEqual({ status: 200, body: '{"ok":1}' });
    // free again: the next request is served
    const third = post(door, '{"prompt":"c"}');
    await until(() => rie.received() === 2);
    rie.release();
    expect((await third).status).toBe(200);
  });

  test("a body over the payload limit gets Lambda's 413 and never reaches the RIE", async () => {
    const { door, rie } = await setup();
    const res = await post(door, JSON.stringify({ prompt: "x".repeat(MAX_PAYLOAD_BYTES) }));
    expect(res.status).toBe(413);
    expect(res.headers.get("x-amzn-errortype")).toBe("RequestTooLargeException");
    expect(await res.text()).toBe(
      '{"Type":"User","message":"Request must be smaller than 6291456 bytes for the InvokeFunction operation"}',
    );
    expect(rie.received()).toBe(0);
    expect(door.busy).toBe(false);
  });

  test("refuses to start without the limit, saying how to start it", async () => {
    const { spawnSync } = await import("node:child_process");
    const r = spawnSync(
      process.execPath,
      [new URL("../../harness/emulator/function-url-server.ts", import.meta.url).pathname],
      {
        env: { ...process.env, MAX_PAYLOAD_BYTES: "", PORT: "0" },
        encoding: "utf8",
      },
    );
    expect({ code: r.status, stderr: r.stderr }).toEqual({
      code: 2,
      stderr:
        'function URL front door: MAX_PAYLOAD_BYTES is "", not a byte count — start it through `sd-lambda up`, which writes Lambda\'s limit to .cache/emulator.env\n',
    });
  });
});
