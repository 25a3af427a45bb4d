/**
 * The two answers the harness gives in place of the Lambda service, because the Runtime Interface
 * Emulator does not (checked on RIE v0.0.0-20261030222936-bef5c4ba774d, see the scenarios
 * `payload-too-large` and `concurrent-invokes`):
 * - 413 RequestTooLargeException for a request over Lambda's synchronous payload limit — the RIE passes
 *   the first 6 MiB + 100 bytes on and the runtime dies parsing them;
 * - 429 TooManyRequestsException for a second request while the one environment is busy — the RIE
 *   panics (ReserveFailed: AlreadyReserved) where Lambda would start another environment or, at the
 *   concurrency limit, throttle.
 * One module for the function URL front door, the invoke client and the scenarios. The front door runs
 * from harness/emulator in the function image with Node's type stripping, so: node: imports only, and
 * the limit is a parameter (runtime/config.ts MAX_PAYLOAD_BYTES, passed in by each caller).
 */

export interface DocQuote {
  readonly url: string;
  readonly says: string;
}

/** What AWS documents for the two answers (quoted in `scenarios --list` and the README). */
export const STAND_IN_DOCS: { readonly tooLarge: DocQuote; readonly busy: DocQuote } = {
  tooLarge: {
    url: "https://docs.aws.amazon.com/lambda/latest/dg/API_Invoke.html",
    says: "For synchronous invocations, the maximum payload size is 6 MB. […] RequestTooLargeException: The request payload exceeded the Invoke request body JSON input quota. HTTP Status Code: 413",
  },
  busy: {
    url: "https://docs.aws.amazon.com/lambda/latest/dg/lambda-concurrency.html",
    says: "For each concurrent request, Lambda provisions a separate instance of your execution environment. […] Throughout this process, this execution environment is busy and cannot process other requests.",
  },
};

/** An HTTP answer of the Lambda Invoke API, as the SDK parses it (error type in x-amzn-errortype). */
export interface StandInAnswer {
  readonly status: 413 | 429;
  readonly errorType: "RequestTooLargeException" | "TooManyRequestsException";
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Readonly<Record<string, string>>;
}

function answer(
  status: StandInAnswer["status"],
  errorType: StandInAnswer["errorType"],
  body: Record<string, string>,
): StandInAnswer {
  return {
    status,
    errorType,
    headers: {
      "content-type": "application/json",
      "x-amzn-errortype": errorType,
      "x-sd-lambda-stand-in": "true",
    },
    body: { Type: "User", ...body },
  };
}

/** Lambda's 413 for a request over `limitBytes`, else undefined. */
export function requestTooLarge(bytes: number, limitBytes: number): StandInAnswer | undefined {
  if (bytes <= limitBytes) return undefined;
  return answer(413, "RequestTooLargeException", {
    message: `Request must be smaller than ${limitBytes} bytes for the InvokeFunction operation`,
  });
}

/** Lambda's 429 when no environment may take the request (one environment here, reserved concurrency 1). */
export const BUSY: StandInAnswer = answer(429, "TooManyRequestsException", {
  message: "Rate Exceeded.",
  Reason: "ReservedFunctionConcurrentInvocationLimitExceeded",
});

/** The answer as an HTTP body. */
export function standInText(a: StandInAnswer): string {
  return JSON.stringify(a.body);
}

/**
 * One execution environment: at most one invoke in it at a time. `enter()` is false while busy (answer
 * BUSY then); `leave()` when the invoke's answer is in.
 */
export class OneEnvironment {
  #busy = false;

  get busy(): boolean {
    return this.#busy;
  }

  enter(): boolean {
    if (this.#busy) return false;
    this.#busy = true;
    return true;
  }

  leave(): void {
    this.#busy = false;
  }
}
