/**
 * The function URL front door of the emulator (compose service `function-url`, localhost:9001): turns any
 * HTTP request into a payload-2.0 event, invokes the function through the RIE and maps the answer back
 * (mapping in function-url.ts). The RIE runs one invoke at a time and panics on a second, so a request
 * arriving while one runs gets Lambda's 429 and an event over the payload limit Lambda's 413, both from
 * lambda-stand-in.ts — never queued, never sent on.
 * Run with Node 24: `node harness/emulator/function-url-server.ts`.
 * Env: PORT (default 8080), RIE_URL (default http://function:8080/2015-03-31/functions/function/invocations),
 *      MAX_PAYLOAD_BYTES (required: runtime/config.ts's limit, written to .cache/emulator.env by
 *      `sd-lambda up`), AWS_REGION.
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { fromInvokeResult, type HttpResponse, toEvent } from "./function-url.ts";
import { BUSY, OneEnvironment, requestTooLarge, type StandInAnswer, standInText } from "./lambda-stand-in.ts";

export interface FrontDoorOptions {
  readonly port: number;
  readonly rieUrl: string;
  readonly maxPayloadBytes: number;
  readonly region?: string;
  readonly log?: (line: string) => void;
}

/** Reads the body, keeping at most `keep` bytes (the rest is drained and only counted). */
async function readBody(req: IncomingMessage, keep: number): Promise<{ body: Uint8Array; bytes: number }> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    if (bytes + buffer.length <= keep) chunks.push(buffer);
    bytes += buffer.length;
  }
  return { body: Buffer.concat(chunks), bytes };
}

function pairs(raw: string[]): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let i = 0; i + 1 < raw.length; i += 2) out.push([raw[i] as string, raw[i + 1] as string]);
  return out;
}

async function invoke(rieUrl: string, payload: string, requestId: string): Promise<HttpResponse> {
  try {
    const res = await fetch(rieUrl, {
      method: "POST",
      body: payload,
      headers: { "content-type": "application/json", "x-amzn-requestid": requestId },
    });
    return fromInvokeResult(res.status, new Uint8Array(await res.arrayBuffer()));
  } catch (err) {
    const cause = err instanceof Error && err.cause instanceof Error ? `: ${err.cause.message}` : "";
    return fromInvokeResult(599, new TextEncoder().encode(`cannot reach ${rieUrl}${cause}`));
  }
}

function standIn(a: StandInAnswer): HttpResponse {
  return {
    status: a.status,
    headers: Object.entries(a.headers),
    body: new TextEncoder().encode(standInText(a)),
  };
}

export interface FrontDoor {
  readonly server: Server;
  /** The port it listens on (a free one when started with port 0). */
  readonly port: number;
  /** True while an invoke runs: another request now gets the 429. */
  readonly busy: boolean;
  close(): Promise<void>;
}

/** Starts the front door; resolves once it listens. */
export async function startFrontDoor(options: FrontDoorOptions): Promise<FrontDoor> {
  const region = options.region ?? "us-east-1";
  const environment = new OneEnvironment();
  const server = createServer(async (req, res) => {
    const started = Date.now();
    const requestId = randomUUID();
    let out: HttpResponse;
    if (!environment.enter()) {
      // answered before reading the body: the caller learns at once, as from Lambda
      req.resume();
      out = standIn(BUSY);
    } else {
      try {
        const { body, bytes } = await readBody(req, options.maxPayloadBytes);
        const event = JSON.stringify(
          toEvent(
            {
              method: req.method ?? "GET",
              url: req.url ?? "/",
              headers: pairs(req.rawHeaders),
              body,
              sourceIp: (req.socket.remoteAddress ?? "127.0.0.1").replace(/^::ffff:/, ""),
              protocol: `HTTP/${req.httpVersion}`,
            },
            { requestId, now: new Date(), region, accountId: "123456789012", urlId: "localfunctionurl" },
          ),
        );
        // a body cut at the limit still makes an event over it
        const tooLarge = requestTooLarge(Math.max(Buffer.byteLength(event), bytes), options.maxPayloadBytes);
        out = tooLarge ? standIn(tooLarge) : await invoke(options.rieUrl, event, requestId);
      } finally {
        environment.leave();
      }
    }
    const headers: Record<string, string | string[]> = {};
    for (const [k, v] of out.headers) {
      const prev = headers[k];
      headers[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
    }
    headers["x-amzn-requestid"] = requestId;
    res.writeHead(out.status, headers);
    res.end(out.body);
    options.log?.(
      `${req.method} ${req.url} -> ${out.status} (${out.body.byteLength} bytes, ${Date.now() - started} ms)`,
    );
  });
  await new Promise<void>((resolve) => server.listen(options.port, resolve));
  const port = (server.address() as AddressInfo).port;
  options.log?.(`function URL front door on :${port} -> ${options.rieUrl}`);
  return {
    server,
    port,
    get busy() {
      return environment.busy;
    },
    close: () =>
      new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve()))),
  };
}

if (import.meta.main) {
  const maxPayloadBytes = Number(process.env.MAX_PAYLOAD_BYTES);
  if (!Number.isInteger(maxPayloadBytes) || maxPayloadBytes <= 0) {
    console.error(
      `function URL front door: MAX_PAYLOAD_BYTES is "${process.env.MAX_PAYLOAD_BYTES ?? ""}", not a byte count — start it through \`sd-lambda up\`, which writes Lambda's limit to .cache/emulator.env`,
    );
    process.exit(2);
  }
  const door = await startFrontDoor({
    port: Number(process.env.PORT ?? 8080),
    rieUrl: process.env.RIE_URL ?? "http://function:8080/2015-03-31/functions/function/invocations",
    maxPayloadBytes,
    region: process.env.AWS_REGION,
    log: (line) => console.log(line),
  });
  for (const sig of ["SIGTERM", "SIGINT"] as const)
    process.on(sig, () => door.server.close(() => process.exit(0)));
}
