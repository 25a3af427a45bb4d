/**
 * Invoking a scenario's environment two ways: `rawInvoke` straight at the RIE (what the emulator really
 * does), and `LambdaEnvironment`, the RIE behind the harness's Lambda stand-in (emulator/lambda-stand-in.ts:
 * 413 over the payload limit, 429 while busy) — the same answers the front door and the invoke client give.
 */
import { MAX_PAYLOAD_BYTES } from "../../runtime/config.ts";
import {
  BUSY,
  OneEnvironment,
  requestTooLarge,
  type StandInAnswer,
  standInText,
} from "../emulator/lambda-stand-in.ts";

export interface InvokeAnswer {
  /** HTTP status as the caller sees it; 0 when the connection failed (see text). */
  readonly status: number;
  /** Parsed JSON body, or the raw text. */
  readonly body: unknown;
  readonly text: string;
  readonly ms: number;
  /** Who answered: the RIE, or the harness in Lambda's place. */
  readonly by: "rie" | "stand-in";
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

function standIn(a: StandInAnswer): InvokeAnswer {
  return { status: a.status, body: a.body, text: standInText(a), ms: 0, by: "stand-in" };
}

/** One environment as the Lambda service presents it: the stand-in's 413 and 429, else the RIE's answer. */
export class LambdaEnvironment {
  readonly url: string;
  readonly #environment = new OneEnvironment();

  constructor(url: string) {
    this.url = url;
  }

  get busy(): boolean {
    return this.#environment.busy;
  }

  async invoke(payload: unknown, timeoutMs?: number): Promise<InvokeAnswer> {
    const text = typeof payload === "string" ? payload : JSON.stringify(payload);
    const tooLarge = requestTooLarge(Buffer.byteLength(text), MAX_PAYLOAD_BYTES);
    if (tooLarge) return standIn(tooLarge);
    if (!this.#environment.enter()) return standIn(BUSY);
    try {
      return await rawInvoke(this.url, text, timeoutMs);
    } finally {
      this.#environment.leave();
    }
  }
}
