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

/** A request the function refuses: names the field, the value and the limit. */
export class BadRequestError extends SdLambdaError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super("BAD_REQUEST", 400, message, { details });
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
