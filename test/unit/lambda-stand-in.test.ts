// The harness's answers in the Lambda service's place (harness/emulator/lambda-stand-in.ts): the Invoke
// API's 413 and 429 as the AWS SDK parses them, and the one-environment gate.
import { describe, expect, test } from "vitest";
import {
  BUSY,
  OneEnvironment,
  requestTooLarge,
  standInText,
} from "../../harness/emulator/lambda-stand-in.ts";
import { MAX_PAYLOAD_BYTES } from "../../runtime/config.ts";

describe("Lambda stand-in", () => {
  test("413 only above the limit: 6,291,456 bytes pass, one more is refused", () => {
    expect(MAX_PAYLOAD_BYTES).toBe(6_291_456);
    expect(requestTooLarge(MAX_PAYLOAD_BYTES, MAX_PAYLOAD_BYTES)).toBeUndefined();
    const refused = requestTooLarge(MAX_PAYLOAD_BYTES + 1, MAX_PAYLOAD_BYTES);
    expect(refused?.status).toBe(413);
    expect(refused?.headers["x-amzn-errortype"]).toBe("RequestTooLargeException");
    expect(refused && standInText(refused)).toBe(
      '{"Type":"User","message":"Request must be smaller than 6291456 bytes for the InvokeFunction operation"}',
    );
  });

  test("429 with Lambda's throttle reason", () => {
    expect(BUSY.status).toBe(429);
    expect(BUSY.headers["x-amzn-errortype"]).toBe("TooManyRequestsException");
    expect(BUSY.body).toEqual({
      Type: "User",
      message: "Rate Exceeded.",
      Reason: "ReservedFunctionConcurrentInvocationLimitExceeded",
    });
  });

  test("one environment: a second enter fails until the first leaves", () => {
    const env = new OneEnvironment();
    expect(env.enter()).toBe(true);
    expect(env.busy).toBe(true);
    expect(env.enter()).toBe(false);
    env.leave();
    expect(env.enter()).toBe(true);
  });
});
