import { clipText, detailValue, MAX_MESSAGE_CHARS } from "./clip.ts";

/**
 * Every error the runtime raises on purpose: a stable `code` for machines, a message for people that
 * says what happened, with the numbers, and what to do. Request errors map to HTTP 400, environment
 * errors (model files, time, memory) to 5xx.
 */

export type ErrorCode =
  | "BAD_REQUEST"
  | "MODEL_NOT_FOUND"
  | "MODEL_INVALID"
  | "MODEL_UNREADABLE"
  | "NATIVE_LIBRARY"
  | "CONFIG"
  | "DEADLINE"
  | "RESPONSE_TOO_LARGE"
  | "ENGINE";

export class SdLambdaError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  /** Extra machine-readable facts (field, value, limit, path…). */
  readonly details: Readonly<Record<string, unknown>>;

  constructor(
    code: ErrorCode,
    status: number,
    message: string,
    options: { cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.status = status;
    this.details = options.details ?? {};
  }
}

/**
 * A request the function refuses: names the field, the value and the limit. The message is at most
 * 300 characters and each detail a short value whatever the input held, so the answer stays small.
 */
export class BadRequestError extends SdLambdaError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super("BAD_REQUEST", 400, clipText(message, MAX_MESSAGE_CHARS), {
      details: Object.fromEntries(Object.entries(details).map(([k, v]) => [k, detailValue(v)])),
    });
  }
}

/** An environment variable the function cannot run with: names it, its value and what is allowed. */
export class ConfigError extends SdLambdaError {
  constructor(variable: string, value: string, allowed: string) {
    super("CONFIG", 500, `${variable}=${clipText(JSON.stringify(value), 60)} is not allowed: ${allowed}`, {
      details: { variable, value: clipText(value, 60), allowed },
    });
  }
}

/** The model folder is missing, malformed or unreadable. */
export class ModelError extends SdLambdaError {
  constructor(
    code: "MODEL_NOT_FOUND" | "MODEL_INVALID" | "MODEL_UNREADABLE" | "NATIVE_LIBRARY",
    message: string,
    options: { cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    super(code, 500, message, options);
  }
}

/** The work left cannot finish before the function's timeout. */
export class DeadlineError extends SdLambdaError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super("DEADLINE", 504, message, { details });
  }
}

/** The response would exceed Lambda's synchronous payload limit. */
export class ResponseTooLargeError extends SdLambdaError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super("RESPONSE_TOO_LARGE", 413, message, { details });
  }
}
