/**
 * The three event shapes one engine answers (DESIGN "The runtime contract"): a function URL / API
 * Gateway v2 event, the seed article's `{"body": "<json>"}`, and a direct invoke with the request
 * object itself. Parsing turns each into a JSON body; answering maps a result or an error back.
 */

import { decodeBase64 } from "./base64.ts";
import { clipText, describeValue } from "./clip.ts";
import { BadRequestError, type SdLambdaError } from "./errors.ts";
import { scanJson } from "./json-scan.ts";
import { type Rendered, roundTimings } from "./render.ts";

export type EventShape = "function-url" | "seed" | "direct";

export interface ParsedEvent {
  readonly shape: EventShape;
  /** The request body as parsed JSON, or the direct invoke's object. */
  readonly body: unknown;
  /** Function URL only: the client accepts JSON but not images. */
  readonly wantsJson: boolean;
}

type Fields = Record<string, unknown>;
const isRecord = (v: unknown): v is Fields => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * Which of the three shapes an event is, from its envelope alone (nothing is trusted yet): a
 * `requestContext.http` key (even null) or `version: "2.0"` is a function URL event; a `body` key without
 * `prompt` is the seed article's shape; anything else is a direct invoke.
 */
export function shapeOf(event: unknown): EventShape {
  if (isRecord(event)) {
    const context = event.requestContext;
    if ((isRecord(context) && "http" in context) || event.version === "2.0") return "function-url";
    if ("body" in event && !("prompt" in event)) return "seed";
  }
  return "direct";
}

/** Checks every envelope field before it is used, so a malformed envelope is a 400 naming the field. */
export function parseEvent(event: unknown, maxBodyBytes: number): ParsedEvent {
  const shape = shapeOf(event);
  if (shape === "direct") return { shape, body: event, wantsJson: true };
  const e = event as Fields;
  if (shape === "seed")
    return { shape, body: parseJson(bodyText(e.body, false, "body"), maxBodyBytes), wantsJson: true };
  const http = isRecord(e.requestContext) ? e.requestContext.http : undefined;
  const method = isRecord(http) ? http.method : undefined;
  if (typeof method !== "string" || method === "") {
    throw new BadRequestError(
      `requestContext.http.method must be the request's HTTP method, got ${isRecord(http) ? describeValue(method) : `requestContext.http ${describeValue(http)}`}; a function URL event (payload format 2.0) carries it there`,
      { field: "requestContext.http.method" },
    );
  }
  if (method.toUpperCase() !== "POST") {
    throw new BadRequestError(
      `method ${clipText(method, 20)} is not supported; POST a JSON body such as {"prompt": "tree"}`,
      { field: "requestContext.http.method", value: method },
    );
  }
  if (e.isBase64Encoded !== undefined && typeof e.isBase64Encoded !== "boolean") {
    throw new BadRequestError(
      `isBase64Encoded must be true or false, got ${describeValue(e.isBase64Encoded)}`,
      {
        field: "isBase64Encoded",
      },
    );
  }
  const accept = header(e.headers, "accept") ?? "";
  const text = bodyText(e.body, e.isBase64Encoded === true, "body");
  return { shape, body: parseJson(text, maxBodyBytes), wantsJson: acceptsOnlyJson(accept) };
}

/** The body as text: absent is empty, a string as it is (base64-decoded when flagged), anything else a 400. */
function bodyText(body: unknown, base64: boolean, field: string): string {
  if (body === undefined || body === null) return "";
  if (typeof body !== "string") {
    throw new BadRequestError(
      `${field} must be a string holding the request JSON, got ${describeValue(body)}; send the JSON as text, e.g. "{\\"prompt\\": \\"tree\\"}"`,
      { field },
    );
  }
  if (!base64) return body;
  const bytes = decodeBase64(body, field);
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new BadRequestError(
      `${field} is not UTF-8 text after base64 decoding (${bytes.length} bytes); send JSON`,
      {
        field,
      },
    );
  }
}

/** One header by case-insensitive name; headers must be an object of strings. */
function header(headers: unknown, name: string): string | undefined {
  if (headers === undefined || headers === null) return undefined;
  if (!isRecord(headers)) {
    throw new BadRequestError(`headers must be an object of strings, got ${describeValue(headers)}`, {
      field: "headers",
    });
  }
  let found: string | undefined;
  for (const key in headers) {
    const value = headers[key];
    if (value !== undefined && typeof value !== "string") {
      throw new BadRequestError(
        `header ${clipText(JSON.stringify(key), 40)} must be a string, got ${describeValue(value)}`,
        { field: `headers.${clipText(key, 40)}` },
      );
    }
    if (key.toLowerCase() === name) found = value;
  }
  return found;
}

function parseJson(text: string, maxBodyBytes: number): unknown {
  const bytes = Buffer.byteLength(text);
  if (bytes > maxBodyBytes) {
    throw new BadRequestError(
      `request body is ${bytes} bytes; the limit is ${maxBodyBytes} bytes — send a smaller init_image or mask`,
      {
        field: "body",
        limit: maxBodyBytes,
      },
    );
  }
  if (text.trim() === "")
    throw new BadRequestError('request body is empty; send JSON such as {"prompt": "tree"}', {
      field: "body",
    });
  scanJson(text);
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new BadRequestError(`request body is not valid JSON: ${(cause as Error).message}`, {
      field: "body",
    });
  }
}

/** The JSON result a direct invoke returns (and function URL clients asking for JSON get). */
export function resultJson(r: Rendered, requestId: string): Record<string, unknown> {
  return {
    image_base64: r.bytes.toString("base64"),
    content_type: r.contentType,
    seed: r.seed,
    width: r.width,
    height: r.height,
    num_inference_steps: r.steps,
    guidance_scale: r.guidance,
    scheduler: r.scheduler,
    mode: r.mode,
    ...(r.strength === undefined ? {} : { strength: r.strength }),
    model: r.model,
    timings_ms: roundTimings(r.timings),
    warnings: r.warnings,
    engine: r.engine,
    request_id: requestId,
  };
}

export function answer(shape: EventShape, r: Rendered, wantsJson: boolean, requestId: string): unknown {
  const json = resultJson(r, requestId);
  switch (shape) {
    case "direct":
      return json;
    case "seed":
      // the seed article's client reads json.loads(body)["image"].encode("latin1")
      return {
        statusCode: 200,
        body: JSON.stringify({ message: "ok", image: r.bytes.toString("latin1"), ...json }),
      };
    case "function-url":
      if (wantsJson)
        return {
          statusCode: 200,
          headers: { "content-type": "application/json" },
          body: JSON.stringify(json),
        };
      return {
        statusCode: 200,
        isBase64Encoded: true,
        headers: {
          "content-type": r.contentType,
          "x-sd-seed": String(r.seed),
          "x-sd-scheduler": r.scheduler,
          "x-sd-warnings": r.warnings.length ? encodeURIComponent(r.warnings.join("; ")) : undefined,
          "server-timing": Object.entries(roundTimings(r.timings))
            .map(([k, v]) => `${k};dur=${v}`)
            .join(", "),
        },
        body: r.bytes.toString("base64"),
      };
  }
}

/** An error as the shape's client expects it; direct invokes get the error thrown instead. */
export function errorAnswer(
  shape: Exclude<EventShape, "direct">,
  error: SdLambdaError,
  requestId: string,
): unknown {
  const payload = {
    error: { code: error.code, message: error.message, ...error.details },
    request_id: requestId,
  };
  if (shape === "seed")
    return { statusCode: error.status, body: JSON.stringify({ message: error.message, ...payload }) };
  return {
    statusCode: error.status,
    headers: { "content-type": "application/json" },
    body: JSON.stringify(payload),
  };
}

function acceptsOnlyJson(accept: string): boolean {
  const types = accept.split(",").map((t) => t.split(";")[0]?.trim().toLowerCase() ?? "");
  return types.includes("application/json") && !types.some((t) => t.startsWith("image/") || t === "*/*");
}
