import { setupServer } from "msw/node";
import { afterAll, afterEach, beforeAll, beforeEach, vi } from "vitest";

/** Lambda's Invoke API URL in eu-west-1, as the SDK calls it. */
export const INVOKE = "https://lambda.eu-west-1.amazonaws.com/2015-03-31/functions/:name/invocations";

/**
 * An msw server standing in for Lambda for the tests of the calling file (handlers added with
 * `server.use`), and credentials so the SDK signs without looking for a profile.
 */
export function mockLambdaApi(): ReturnType<typeof setupServer> {
  const server = setupServer();
  beforeAll(() => server.listen({ onUnhandledFrame: "error" }));
  afterEach(() => {
    server.resetHandlers();
    vi.unstubAllEnvs();
  });
  afterAll(() => server.close());
  beforeEach(() => {
    vi.stubEnv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE");
    vi.stubEnv("AWS_SECRET_ACCESS_KEY", "secret");
    vi.stubEnv("AWS_SESSION_TOKEN", "");
    vi.stubEnv("AWS_PROFILE", "");
  });
  return server;
}
