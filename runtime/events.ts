/**
 * The three event shapes one engine answers (DESIGN "The runtime contract"): a function URL / API
 * Gateway v2 event, the seed article's `{"body": "<json>"}`, and a direct invoke with the request
 * object itself. Parsing turns each into a JSON body; answering maps a result or an error back.
 */
import { BadRequestError, type SdLambdaError } from "./errors.ts";
import { type Rendered, roundTimings } from "./render.ts";

export type EventShape = "function-url" | "seed" | "direct";

export interface FunctionUrlEvent {
  version?: string;
  rawPath?: string;
  headers?: Record<string, string | undefined>;
  body?: string;
  isBase64Encoded?: boolean;
  requestContext: { http: { method: string; path?: string } };
}

export interface ParsedEvent {
  readonly shape: EventShape;
  /** The request body as parsed JSON, or the direct invoke's object. */
  readonly body: unknown;
  /** Function URL only: the client accepts JSON but not images. */
  readonly wantsJson: boolean;
}

export function shapeOf(event: unknown): EventShape {
  if (typeof event === "object" && event !== null) {
    const e = event as Record<string, unknown>;
    const context = e.requestContext as Record<string, unknown> | undefined;
    if (context && typeof context === "object" && typeof context.http === "object") return "function-url";
    if (typeof e.body === "string" && !("prompt" in e)) return "seed";
  }
  return "direct";
}

export function parseEvent(event: unknown, maxBodyBytes: number): ParsedEvent {
  const shape = shapeOf(event);
  if (shape === "direct") return { shape, body: event, wantsJson: true };
  if (shape === "seed")
    return { shape, body: parseJson((event as { body: string }).body, maxBodyBytes), wantsJson: true };
  const e = event as FunctionUrlEvent;
  const method = e.requestContext.http.method.toUpperCase();
  if (method !== "POST") {
    throw new BadRequestError(
      `method ${method} is not supported; POST a JSON body such as {"prompt": "tree"}`,
      { method },
    );
  }
  const text = e.isBase64Encoded ? Buffer.from(e.body ?? "", "base64").toString("utf8") : (e.body ?? "");
  const accept = lowerHeaders(e.headers).accept ?? "";
  return { shape, body: parseJson(text, maxBodyBytes), wantsJson: acceptsOnlyJson(accept) };
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
    model: r.model,
    timings_ms: roundTimings(r.timings),
    warnings: r.warnings,
    defaults: r.defaults,
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

function lowerHeaders(
  headers: Record<string, string | undefined> | undefined,
): Record<string, string | undefined> {
  return Object.fromEntries(Object.entries(headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
}

function acceptsOnlyJson(accept: string): boolean {
  const types = accept.split(",").map((t) => t.split(";")[0]?.trim().toLowerCase() ?? "");
  return types.includes("application/json") && !types.some((t) => t.startsWith("image/") || t === "*/*");
}
