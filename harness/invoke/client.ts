/**
 * The invoke client behind `sd-lambda invoke`: sends the direct-invoke request object through
 * `@aws-sdk/client-lambda` (InvokeCommand, LogType "Tail") to the emulator (endpoint, function name
 * `function`, dummy credentials) or to a deployed function (default credential chain), and turns every
 * way an invoke fails — function error, 413, 429, client timeout, dropped or refused connection — into
 * one InvokeError whose message says what happened and what to do.
 */
import { networkInterfaces } from "node:os";
import { InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { MAX_PAYLOAD_BYTES } from "../../runtime/config.ts";
import { requestTooLarge, type StandInAnswer } from "../emulator/lambda-stand-in.ts";
import { containerOnPort, findReport, type Report, reportFromDockerLogs } from "./report.ts";

export const LOCAL_ENDPOINT = "http://localhost:9000";

export type Target =
  | { readonly kind: "local"; readonly endpoint: string }
  | { readonly kind: "aws"; readonly functionName: string; readonly region: string | undefined };

/** What the handler returns for a direct invoke (runtime/events.ts `resultJson`). */
export interface DirectResult {
  readonly image_base64: string;
  readonly content_type: string;
  readonly seed: number;
  readonly width: number;
  readonly height: number;
  readonly num_inference_steps?: number;
  readonly guidance_scale?: number;
  readonly scheduler?: string;
  readonly mode?: string;
  readonly model?: string;
  readonly timings_ms?: Record<string, number>;
  readonly warnings?: string[];
  readonly request_id?: string;
  readonly engine?: { readonly onnxruntime: string; readonly threads: number };
}

export interface Invoked {
  readonly result: DirectResult;
  readonly image: Buffer;
  readonly requestBytes: number;
  readonly elapsedMs: number;
  readonly report: Report | undefined;
  /** Lambda's log tail (LogResult, the last 4 KB of the invoke's logs), decoded. */
  readonly logTail: string | undefined;
  /** Where the REPORT line came from, or why there is none. */
  readonly reportSource: "LogResult" | "docker logs" | undefined;
  readonly reportNote: string | undefined;
}

export type InvokeErrorCode =
  | "FUNCTION_ERROR"
  | "PAYLOAD_TOO_LARGE"
  | "THROTTLED"
  | "CLIENT_TIMEOUT"
  | "CONNECTION_DROPPED"
  | "CONNECTION_REFUSED"
  | "BAD_RESPONSE"
  | "AWS_ERROR";

export class InvokeError extends Error {
  readonly code: InvokeErrorCode;
  readonly details: Readonly<Record<string, unknown>>;
  constructor(
    code: InvokeErrorCode,
    message: string,
    options: { cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "InvokeError";
    this.code = code;
    this.details = options.details ?? {};
  }
}

export interface InvokeOptions {
  /** Client-side limit on the whole invoke, seconds. */
  readonly timeoutS: number;
  /** Called about once a second with the seconds waited so far. */
  readonly onTick?: (elapsedS: number) => void;
  /** Look for the REPORT line in `docker logs` when the endpoint is local and no LogResult came back. */
  readonly dockerLogs?: boolean;
}

export function describeTarget(target: Target): string {
  return target.kind === "local"
    ? target.endpoint
    : `function ${target.functionName}${target.region ? ` in ${target.region}` : ""}`;
}

export function lambdaClient(target: Target): LambdaClient {
  const common = {
    // An image generation is expensive and not idempotent: never retry behind the user's back.
    maxAttempts: 1,
    requestHandler: { connectionTimeout: 10_000 },
  };
  if (target.kind === "aws") {
    return new LambdaClient({ ...common, ...(target.region ? { region: target.region } : {}) });
  }
  return new LambdaClient({
    ...common,
    endpoint: target.endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "sd-lambda-local", secretAccessKey: "sd-lambda-local" },
  });
}

/** Invokes once with the request object and returns the decoded image, or throws an InvokeError. */
export async function invoke(request: object, target: Target, options: InvokeOptions): Promise<Invoked> {
  const payload = Buffer.from(JSON.stringify(request));
  const refused = target.kind === "local" ? requestTooLarge(payload.length, MAX_PAYLOAD_BYTES) : undefined;
  if (refused) {
    // the RIE would cut the request short and crash the runtime: the stand-in answers as Lambda does
    throw explain(standInError(refused), target, payload.length, false, options.timeoutS);
  }
  const client = lambdaClient(target);
  const abort = new AbortController();
  const started = performance.now();
  const startedAt = new Date();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    abort.abort();
  }, options.timeoutS * 1000);
  const ticker = setInterval(() => options.onTick?.(Math.round((performance.now() - started) / 1000)), 1000);
  try {
    const out = await client.send(
      new InvokeCommand({
        FunctionName: target.kind === "aws" ? target.functionName : "function",
        InvocationType: "RequestResponse",
        LogType: "Tail",
        Payload: payload,
      }),
      { abortSignal: abort.signal },
    );
    const elapsedMs = performance.now() - started;
    const text = new TextDecoder().decode(out.Payload ?? new Uint8Array());
    const tail = out.LogResult ? Buffer.from(out.LogResult, "base64").toString("utf8") : undefined;
    const result = parsePayload(text, out.FunctionError);
    let report = tail ? findReport(tail, result.request_id) : undefined;
    let reportSource: Invoked["reportSource"] = report ? "LogResult" : undefined;
    let reportNote: string | undefined;
    if (!report && target.kind === "local") {
      const port = localPort(target.endpoint);
      const container =
        options.dockerLogs === false || port === undefined ? undefined : await containerOnPort(port);
      if (container) report = await reportFromDockerLogs(container, result.request_id, startedAt);
      if (report) reportSource = "docker logs";
      else
        reportNote = `no REPORT line: the RIE returns no log tail (LogResult)${
          container
            ? ` and container ${container.slice(0, 12)}'s logs have none for request ${result.request_id ?? "?"}`
            : port === undefined
              ? ` and ${target.endpoint} is not on this machine`
              : ` and no container in \`docker ps\` publishes port ${port}`
        }`;
    } else if (!report) {
      reportNote = "no REPORT line in the log tail Lambda returned";
    }
    return {
      result,
      image: Buffer.from(result.image_base64, "base64"),
      requestBytes: payload.length,
      elapsedMs,
      report,
      logTail: tail,
      reportSource,
      reportNote,
    };
  } catch (error) {
    if (error instanceof InvokeError) throw error;
    throw explain(error, target, payload.length, timedOut, options.timeoutS);
  } finally {
    clearTimeout(timer);
    clearInterval(ticker);
    client.destroy();
  }
}

/** The function's answer: a direct-invoke result, or the error the runtime reported. */
export function parsePayload(text: string, functionError: string | undefined): DirectResult {
  let value: unknown;
  if (text.startsWith("Task timed out after")) {
    // what the RIE answers when AWS_LAMBDA_FUNCTION_TIMEOUT runs out (Lambda: errorType Sandbox.Timedout)
    value = { errorType: "Sandbox.Timedout", errorMessage: text.trim() };
  } else {
    try {
      value = JSON.parse(text);
    } catch {
      throw new InvokeError(
        functionError ? "FUNCTION_ERROR" : "BAD_RESPONSE",
        `${functionError ? `function error (${functionError})` : "the function's answer is not JSON"}: ${clip(text, 300)}`,
      );
    }
  }
  const record = typeof value === "object" && value !== null ? (value as Record<string, unknown>) : {};
  // Lambda sets X-Amz-Function-Error; the RIE does not, so the payload's shape decides too.
  if (functionError || (typeof record.errorType === "string" && typeof record.errorMessage === "string")) {
    const type = typeof record.errorType === "string" ? record.errorType : (functionError ?? "Error");
    const message =
      typeof record.errorMessage === "string" ? record.errorMessage : clip(JSON.stringify(value), 300);
    throw new InvokeError("FUNCTION_ERROR", `function error ${type}: ${message}${hintFor(type, message)}`, {
      details: { errorType: type, errorMessage: message, functionError },
    });
  }
  if (typeof record.image_base64 !== "string" || typeof record.seed !== "number") {
    throw new InvokeError(
      "BAD_RESPONSE",
      `the function answered without image_base64 and seed (is it the sd-lambda handler?): ${clip(text, 300)}`,
    );
  }
  return record as unknown as DirectResult;
}

function hintFor(errorType: string, message: string): string {
  if (errorType === "Sandbox.Timedout")
    return " — raise the function timeout (TIMEOUT_S for the emulator) or ask for fewer --steps";
  if (errorType === "Runtime.OutOfMemory")
    return " — raise the function's memory (MEMORY_MB for the emulator) or ask for a smaller --width/--height";
  if (errorType === "Runtime.ExitError" && /signal: killed/.test(message))
    return " — the runtime process was killed, most often at the memory limit (Lambda names that Runtime.OutOfMemory): raise the function's memory (MEMORY_MB for the emulator) or ask for a smaller --width/--height; `make logs` shows what it printed last";
  return "";
}

interface SdkError {
  /** Set when the harness's Lambda stand-in answered, not Lambda or the RIE. */
  standIn?: boolean;
  name?: string;
  code?: string;
  message?: string;
  Reason?: string;
  retryAfterSeconds?: string;
  /** The RIE's 502 body when the runtime process exited (the SDK copies its fields here). */
  errorType?: unknown;
  errorMessage?: unknown;
  $metadata?: { httpStatusCode?: number };
  cause?: unknown;
}

/** The stand-in's answer shaped like the SDK's error for the same HTTP answer. */
function standInError(a: StandInAnswer): SdkError {
  return {
    standIn: true,
    name: a.errorType,
    message: a.body.message,
    ...(a.body.Reason ? { Reason: a.body.Reason } : {}),
    $metadata: { httpStatusCode: a.status },
  };
}

/** Maps what the SDK or the socket threw to the message a person acts on. */
export function explain(
  error: unknown,
  target: Target,
  requestBytes: number,
  timedOut: boolean,
  timeoutS: number,
): InvokeError {
  const e = (typeof error === "object" && error !== null ? error : {}) as SdkError;
  const where = describeTarget(target);
  const status = e.$metadata?.httpStatusCode;
  if (timedOut) {
    return new InvokeError(
      "CLIENT_TIMEOUT",
      `no answer from ${where} within ${timeoutS} s (--timeout-s ${timeoutS}) — the function may still be running: raise --timeout-s, or ask for fewer --steps or a smaller image`,
      { cause: error, details: { timeout_s: timeoutS } },
    );
  }
  if (typeof e.errorType === "string" && typeof e.errorMessage === "string") {
    // Lambda answers a runtime exit with 200 + X-Amz-Function-Error; the RIE answers HTTP 502.
    return new InvokeError(
      "FUNCTION_ERROR",
      `function error ${e.errorType}: ${e.errorMessage}${hintFor(e.errorType, e.errorMessage)}`,
      { cause: error, details: { errorType: e.errorType, errorMessage: e.errorMessage, status } },
    );
  }
  if (e.name === "RequestTooLargeException" || status === 413) {
    return new InvokeError(
      "PAYLOAD_TOO_LARGE",
      `the request is ${requestBytes} bytes; Lambda accepts at most ${MAX_PAYLOAD_BYTES} bytes (6 MB) for a synchronous invoke (${e.name ?? "HTTP 413"}, HTTP 413${e.standIn ? "; answered by the harness's Lambda stand-in, the emulator does not check" : ""}) — send a smaller --init-image or --mask`,
      { cause: error, details: { bytes: requestBytes, limit: MAX_PAYLOAD_BYTES } },
    );
  }
  if (e.name === "TooManyRequestsException" || status === 429) {
    const reason = e.Reason ? `, ${e.Reason}` : "";
    const retry = e.retryAfterSeconds ? ` after ${e.retryAfterSeconds} s` : " later";
    return new InvokeError(
      "THROTTLED",
      `${where} is throttled (TooManyRequestsException, HTTP 429${reason}): ${e.message ?? "Rate Exceeded."} — retry${retry}, or raise the function's reserved concurrency`,
      { cause: error, details: { reason: e.Reason } },
    );
  }
  const code = socketCode(error);
  if (code === "ECONNREFUSED") {
    const host = target.kind === "local" ? hostPort(target.endpoint) : where;
    const local = target.kind === "local" && localPort(target.endpoint) !== undefined;
    return new InvokeError(
      "CONNECTION_REFUSED",
      `nothing listens on ${host} (connection refused)${local ? " — start the emulator with `make up`, or pass --endpoint URL" : ""}`,
      { cause: error },
    );
  }
  if (
    code === "ECONNRESET" ||
    code === "EPIPE" ||
    code === "ECONNABORTED" ||
    /socket hang up|network error|other side closed|terminated/i.test(e.message ?? "")
  ) {
    return new InvokeError(
      "CONNECTION_DROPPED",
      `the connection to ${where} was dropped before the function answered (${code ?? e.message}) — the function's container may have crashed or been killed for memory; see \`make logs\``,
      { cause: error },
    );
  }
  if (status !== undefined || e.name?.endsWith("Exception")) {
    return new InvokeError(
      "AWS_ERROR",
      `${where} refused the invoke: ${e.name ?? "Error"}${status ? ` (HTTP ${status})` : ""}: ${e.message ?? ""}`,
      { cause: error },
    );
  }
  return new InvokeError("AWS_ERROR", `invoking ${where} failed: ${e.message ?? String(error)}`, {
    cause: error,
  });
}

/** ECONNREFUSED and friends, wherever the SDK or undici put it. */
function socketCode(error: unknown): string | undefined {
  for (let e = error, depth = 0; e && typeof e === "object" && depth < 5; depth++) {
    const c = (e as { code?: unknown }).code;
    if (typeof c === "string" && c.startsWith("E")) return c;
    const errors = (e as { errors?: unknown }).errors; // AggregateError from happy eyeballs
    if (Array.isArray(errors) && errors.length > 0) e = errors[0];
    else e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

function hostPort(endpoint: string): string {
  try {
    return new URL(endpoint).host;
  } catch {
    return endpoint;
  }
}

/**
 * The port of an endpoint on this machine, else undefined. "This machine" includes its interface
 * addresses: inside a container testcontainers reaches published ports through the bridge gateway
 * (e.g. 172.17.0.1), not localhost.
 */
export function localPort(endpoint: string): number | undefined {
  try {
    const url = new URL(endpoint);
    const host = url.hostname.replace(/^\[|\]$/g, "");
    const own = Object.values(networkInterfaces()).flatMap((list) => list?.map((a) => a.address) ?? []);
    if (!["localhost", "0.0.0.0", ...own].includes(host)) return undefined;
    return Number(url.port || (url.protocol === "https:" ? 443 : 80));
  } catch {
    return undefined;
  }
}

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
