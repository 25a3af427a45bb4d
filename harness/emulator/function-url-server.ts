/**
 * The function URL front door of the emulator (compose service `function-url`, localhost:9001): turns any
 * HTTP request into a payload-2.0 event, invokes the function through the RIE and maps the answer back
 * (mapping in function-url.ts). Invocations are serialized because the RIE runs one at a time.
 * Run with Node 24: `node harness/emulator/function-url-server.ts`.
 * Env: PORT (default 8080), RIE_URL (default http://function:8080/2015-03-31/functions/function/invocations),
 *      AWS_REGION.
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage } from "node:http";
import { fromInvokeResult, type HttpResponse, toEvent } from "./function-url.ts";

const port = Number(process.env.PORT ?? 8080);
const rieUrl = process.env.RIE_URL ?? "http://function:8080/2015-03-31/functions/function/invocations";
const region = process.env.AWS_REGION ?? "us-east-1";

async function readBody(req: IncomingMessage): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function pairs(raw: string[]): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let i = 0; i + 1 < raw.length; i += 2) out.push([raw[i] as string, raw[i + 1] as string]);
  return out;
}

async function invoke(payload: string, requestId: string): Promise<HttpResponse> {
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

let queue: Promise<unknown> = Promise.resolve();

const server = createServer(async (req, res) => {
  const started = Date.now();
  const requestId = randomUUID();
  const body = await readBody(req);
  const event = toEvent(
    {
      method: req.method ?? "GET",
      url: req.url ?? "/",
      headers: pairs(req.rawHeaders),
      body,
      sourceIp: (req.socket.remoteAddress ?? "127.0.0.1").replace(/^::ffff:/, ""),
      protocol: `HTTP/${req.httpVersion}`,
    },
    { requestId, now: new Date(), region, accountId: "123456789012", urlId: "localfunctionurl" },
  );
  const run = queue.then(() => invoke(JSON.stringify(event), requestId));
  queue = run.catch(() => undefined);
  const out = await run;
  const headers: Record<string, string | string[]> = {};
  for (const [k, v] of out.headers) {
    const prev = headers[k];
    headers[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  headers["x-amzn-requestid"] = requestId;
  res.writeHead(out.status, headers);
  res.end(out.body);
  console.log(
    `${req.method} ${req.url} -> ${out.status} (${out.body.byteLength} bytes, ${Date.now() - started} ms)`,
  );
});

server.listen(port, () => console.log(`function URL front door on :${port} -> ${rieUrl}`));
for (const sig of ["SIGTERM", "SIGINT"] as const) process.on(sig, () => server.close(() => process.exit(0)));
