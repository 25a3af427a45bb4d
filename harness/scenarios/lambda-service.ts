/**
 * What the Lambda service does in front of an execution environment that the RIE does not (checked on
 * this RIE, v0.0.0-20261030222936-bef5c4ba774d): refuse requests over 6 MB (the RIE passed a 6 MiB +
 * 200 byte body on and the runtime crashed), never send a second invoke to a busy environment (the RIE
 * panics with "ReserveFailed: AlreadyReserved", aws-lambda-runtime-interface-emulator#97, and the
 * container exits) and name an OOM kill Runtime.OutOfMemory (the RIE says Runtime.ExitError).
 */

/** Lambda's synchronous invoke request limit. */
export const MAX_REQUEST_BYTES = 6 * 1024 * 1024;

export interface InvokeAnswer {
  /** HTTP status as the caller sees it. */
  readonly status: number;
  /** Parsed JSON body, or the raw text. */
  readonly body: unknown;
  readonly text: string;
  readonly ms: number;
  /** Set when the answer was produced here rather than by the RIE. */
  readonly by: "rie" | "service";
}

export interface FunctionError {
  readonly errorType: string;
  readonly errorMessage: string;
}

export function functionError(body: unknown): FunctionError | undefined {
  if (typeof body !== "object" || body === null) return undefined;
  const { errorType, errorMessage } = body as Record<string, unknown>;
  return typeof errorType === "string" && typeof errorMessage === "string"
    ? { errorType, errorMessage }
    : undefined;
}

/** POSTs to the RIE; a refused or reset connection is an answer with status 0, not a throw. */
export async function rawInvoke(url: string, payload: string, timeoutMs = 120_000): Promise<InvokeAnswer> {
  const started = performance.now();
  try {
    const response = await fetch(url, {
      method: "POST",
      body: payload,
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await response.text();
    return { status: response.status, body: parse(text), text, ms: performance.now() - started, by: "rie" };
  } catch (error) {
    const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : "";
    const text = `${error instanceof Error ? error.message : String(error)}${cause}`;
    return { status: 0, body: undefined, text, ms: performance.now() - started, by: "rie" };
  }
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export function serviceAnswer(status: number, body: Record<string, unknown>): InvokeAnswer {
  return { status, body, text: JSON.stringify(body), ms: 0, by: "service" };
}

export function tooLarge(bytes: number): InvokeAnswer | undefined {
  if (bytes <= MAX_REQUEST_BYTES) return undefined;
  return serviceAnswer(413, {
    errorType: "RequestEntityTooLargeException",
    errorMessage: `${bytes} byte payload is too large for the RequestResponse invocation type (limit ${MAX_REQUEST_BYTES} bytes)`,
  });
}

export const BUSY: InvokeAnswer = serviceAnswer(429, {
  errorType: "TooManyRequestsException",
  errorMessage: "Rate Exceeded.",
  Reason: "ReservedFunctionConcurrentInvocationLimitExceeded",
});

/** The RIE's answer when the runtime process was killed, renamed the way Lambda names an OOM kill. */
export function outOfMemory(answer: InvokeAnswer, maxUsedMb: number): InvokeAnswer {
  const error = functionError(answer.body);
  return serviceAnswer(200, {
    errorType: "Runtime.OutOfMemory",
    errorMessage: error?.errorMessage ?? answer.text,
    maxMemoryUsedMb: maxUsedMb,
  });
}

/** One environment as the service sees it: one invoke at a time, a 6 MB request limit, OOM named. */
export class LambdaEnvironment {
  readonly url: string;
  readonly #probe: (() => Promise<{ oomKills: number; maxUsedMb: number }>) | undefined;
  #busy = false;

  constructor(url: string, probe?: () => Promise<{ oomKills: number; maxUsedMb: number }>) {
    this.url = url;
    this.#probe = probe;
  }

  get busy(): boolean {
    return this.#busy;
  }

  async invoke(payload: unknown, timeoutMs?: number): Promise<InvokeAnswer> {
    const text = typeof payload === "string" ? payload : JSON.stringify(payload);
    const refused = tooLarge(Buffer.byteLength(text));
    if (refused) return refused;
    if (this.#busy) return BUSY;
    this.#busy = true;
    try {
      const before = await this.#probe?.();
      const answer = await rawInvoke(this.url, text, timeoutMs);
      const error = functionError(answer.body);
      if (before && error?.errorType === "Runtime.ExitError" && /signal: killed/.test(error.errorMessage)) {
        const after = await this.#probe?.();
        if (after && after.oomKills > before.oomKills) return outOfMemory(answer, after.maxUsedMb);
      }
      return answer;
    } finally {
      this.#busy = false;
    }
  }
}
