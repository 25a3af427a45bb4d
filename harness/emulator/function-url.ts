/**
 * Function URL mapping, pure (no I/O): an HTTP request becomes an API Gateway payload-2.0 event, and the
 * function's answer (as the RIE returns it) becomes the HTTP response, the way Lambda function URLs do.
 * The HTTP server around it is function-url-server.ts. Runs under Node 24 type stripping: erasable
 * syntax only, no imports outside node:.
 */

/** What the server knows about an incoming request. */
export interface HttpRequest {
  method: string;
  /** Request target as sent, e.g. `/path?x=1&y=2`. */
  url: string;
  /** Raw header pairs in arrival order (node's `req.rawHeaders` pairs). */
  headers: ReadonlyArray<readonly [string, string]>;
  body: Uint8Array;
  sourceIp: string;
  /** e.g. `HTTP/1.1` */
  protocol: string;
}

export interface EventOptions {
  requestId: string;
  now: Date;
  region: string;
  accountId: string;
  urlId: string;
}

export interface FunctionUrlEvent {
  version: "2.0";
  routeKey: "$default";
  rawPath: string;
  rawQueryString: string;
  cookies?: string[];
  headers: Record<string, string>;
  queryStringParameters?: Record<string, string>;
  requestContext: {
    accountId: string;
    apiId: string;
    domainName: string;
    domainPrefix: string;
    http: { method: string; path: string; protocol: string; sourceIp: string; userAgent: string };
    requestId: string;
    routeKey: "$default";
    stage: "$default";
    time: string;
    timeEpoch: number;
  };
  body?: string;
  isBase64Encoded: boolean;
}

export interface HttpResponse {
  status: number;
  /** Header pairs; a name may repeat (set-cookie). */
  headers: Array<[string, string]>;
  body: Uint8Array;
}

/** Content types whose bodies Lambda passes as text; every other body arrives base64-encoded. */
export function isTextContentType(contentType: string | undefined): boolean {
  if (!contentType) return false;
  const type = contentType.split(";")[0]?.trim().toLowerCase() ?? "";
  return (
    type.startsWith("text/") ||
    type === "application/json" ||
    type.endsWith("+json") ||
    type === "application/javascript" ||
    type === "application/xml" ||
    type.endsWith("+xml") ||
    type === "application/yaml"
  );
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** `12/Mar/2020:19:03:58 +0000`, the requestContext.time format. */
export function clfTime(d: Date): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `${p(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

/** Builds the payload-2.0 event Lambda gives a function behind a function URL. */
export function toEvent(req: HttpRequest, opts: EventOptions): FunctionUrlEvent {
  const q = req.url.indexOf("?");
  const rawPath = q < 0 ? req.url : req.url.slice(0, q);
  const rawQueryString = q < 0 ? "" : req.url.slice(q + 1);

  // Header names lower-cased; repeated headers joined with commas; cookies moved to `cookies`.
  const headers: Record<string, string> = {};
  const cookies: string[] = [];
  for (const [name, value] of req.headers) {
    const key = name.toLowerCase();
    if (key === "cookie") {
      for (const c of value.split(";")) if (c.trim()) cookies.push(c.trim());
      continue;
    }
    headers[key] = key in headers ? `${headers[key]},${value}` : value;
  }

  const query: Record<string, string> = {};
  for (const [k, v] of new URLSearchParams(rawQueryString)) {
    query[k] = k in query ? `${query[k]},${v}` : v;
  }

  const domainName = headers.host ?? `${opts.urlId}.lambda-url.${opts.region}.on.aws`;
  const event: FunctionUrlEvent = {
    version: "2.0",
    routeKey: "$default",
    rawPath,
    rawQueryString,
    headers,
    requestContext: {
      accountId: opts.accountId,
      apiId: opts.urlId,
      domainName,
      domainPrefix: domainName.split(".")[0] ?? opts.urlId,
      http: {
        method: req.method.toUpperCase(),
        path: rawPath,
        protocol: req.protocol,
        sourceIp: req.sourceIp,
        userAgent: headers["user-agent"] ?? "",
      },
      requestId: opts.requestId,
      routeKey: "$default",
      stage: "$default",
      time: clfTime(opts.now),
      timeEpoch: opts.now.getTime(),
    },
    isBase64Encoded: false,
  };
  if (cookies.length > 0) event.cookies = cookies;
  if (rawQueryString) event.queryStringParameters = query;
  if (req.body.byteLength > 0) {
    if (isTextContentType(headers["content-type"])) {
      event.body = new TextDecoder().decode(req.body);
    } else {
      event.body = Buffer.from(req.body).toString("base64");
      event.isBase64Encoded = true;
    }
  }
  return event;
}

function jsonResponse(status: number, value: unknown): HttpResponse {
  return {
    status,
    headers: [["content-type", "application/json"]],
    body: new TextEncoder().encode(JSON.stringify(value)),
  };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** An error object as the Node.js runtime reports a thrown error or a failed init. */
function isFunctionError(v: unknown): v is { errorType: string; errorMessage: string } {
  return (
    isRecord(v) &&
    typeof v.errorType === "string" &&
    typeof v.errorMessage === "string" &&
    Object.keys(v).every((k) => k === "errorType" || k === "errorMessage" || k === "trace")
  );
}

/**
 * Maps the RIE's answer (HTTP status and raw payload) to what a function URL client gets.
 * RIE failures, timeouts and function errors become 502 with the error as JSON (Lambda itself answers
 * 502 "Internal Server Error"; the detail is kept here because it is local). A result with a numeric
 * `statusCode` is a structured response; anything else is inferred as a 200 JSON body.
 */
export function fromInvokeResult(rieStatus: number, payload: Uint8Array): HttpResponse {
  const text = new TextDecoder().decode(payload);
  if (rieStatus < 200 || rieStatus > 299) {
    return jsonResponse(502, {
      message: "Internal Server Error",
      errorType: "Emulator.InvokeFailed",
      errorMessage: `the RIE answered HTTP ${rieStatus}${text ? `: ${text}` : " with an empty body"}`,
    });
  }
  if (text.startsWith("Task timed out after")) {
    return jsonResponse(502, {
      message: "Internal Server Error",
      errorType: "Sandbox.Timedout",
      errorMessage: text,
    });
  }

  let result: unknown;
  try {
    result = text === "" ? null : JSON.parse(text);
  } catch {
    return jsonResponse(502, {
      message: "Internal Server Error",
      errorType: "Emulator.InvalidResponse",
      errorMessage: `the function's response is not JSON: ${text.slice(0, 200)}`,
    });
  }
  if (isFunctionError(result)) return jsonResponse(502, { message: "Internal Server Error", ...result });

  if (isRecord(result) && typeof result.statusCode === "number") {
    const headers: Array<[string, string]> = [];
    if (isRecord(result.headers)) {
      for (const [k, v] of Object.entries(result.headers)) headers.push([k.toLowerCase(), String(v)]);
    }
    if (isRecord(result.multiValueHeaders)) {
      for (const [k, vs] of Object.entries(result.multiValueHeaders)) {
        for (const v of Array.isArray(vs) ? vs : [vs]) headers.push([k.toLowerCase(), String(v)]);
      }
    }
    if (Array.isArray(result.cookies))
      for (const c of result.cookies) headers.push(["set-cookie", String(c)]);
    const rawBody = result.body;
    let body: Uint8Array;
    if (rawBody === undefined || rawBody === null) body = new Uint8Array();
    else if (typeof rawBody !== "string") body = new TextEncoder().encode(JSON.stringify(rawBody));
    else if (result.isBase64Encoded === true) body = new Uint8Array(Buffer.from(rawBody, "base64"));
    else body = new TextEncoder().encode(rawBody);
    if (!headers.some(([k]) => k === "content-type") && body.byteLength > 0) {
      headers.push(["content-type", "application/json"]);
    }
    return { status: result.statusCode, headers, body };
  }

  // No statusCode: Lambda infers 200, application/json, and the payload itself as the body.
  return { status: 200, headers: [["content-type", "application/json"]], body: payload };
}
