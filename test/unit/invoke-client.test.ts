// `sd-lambda invoke` against a deployed function, whose endpoint cannot be reached here: msw answers as
// Lambda's Invoke API does (headers and bodies as documented for Invoke), and each test asserts the
// whole output the user sees. Connection refused needs no mock: a closed local port refuses for real.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { networkInterfaces, tmpdir } from "node:os";
import { join } from "node:path";
import { delay, HttpResponse, http } from "msw";
import { describe, expect, it } from "vitest";
import { localPort } from "../../harness/invoke/client.ts";
import { runCli } from "../helpers/cli.ts";
import { INVOKE, mockLambdaApi } from "../helpers/lambda-api.ts";

const PNG = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==",
  "base64",
);
const server = mockLambdaApi();
const dir = mkdtempSync(join(tmpdir(), "invoke-client-"));
const out = join(dir, "out.png");

function run(...args: string[]) {
  return runCli(["invoke", "--prompt", "tree", "--out", out, ...args]);
}

const deployed = ["--function-name", "sd", "--region", "eu-west-1"];

describe("sd-lambda invoke, deployed function (msw stands in for Lambda)", () => {
  it("writes the image and prints seed, timings and the REPORT line from LogResult", async () => {
    let sent: unknown;
    const tail = [
      "START RequestId: r-1 Version: $LATEST",
      "END RequestId: r-1",
      "REPORT RequestId: r-1\tDuration: 2100.51 ms\tBilled Duration: 2101 ms\tMemory Size: 10240 MB\tMax Memory Used: 3012 MB\tInit Duration: 812.33 ms\t",
      "",
    ].join("\n");
    server.use(
      http.post(INVOKE, async ({ request, params }) => {
        sent = {
          name: params.name,
          logType: request.headers.get("x-amz-log-type"),
          body: await request.json(),
        };
        return HttpResponse.json(
          {
            image_base64: PNG.toString("base64"),
            content_type: "image/png",
            seed: 42,
            width: 1,
            height: 1,
            num_inference_steps: 2,
            scheduler: "lms",
            model: "tiny-sd",
            timings_ms: { unet: 1900, vae_decode: 150 },
            warnings: [],
            request_id: "r-1",
          },
          {
            headers: {
              "x-amz-log-result": Buffer.from(tail).toString("base64"),
              "x-amz-executed-version": "$LATEST",
            },
          },
        );
      }),
    );
    const r = await run(...deployed, "--seed", "42", "--steps", "2");
    expect(sent).toEqual({
      name: "sd",
      logType: "Tail",
      body: { prompt: "tree", seed: 42, num_inference_steps: 2 },
    });
    expect(r).toEqual({
      code: 0,
      stderr: "invoking function sd in eu-west-1\n",
      stdout: expect.stringMatching(
        new RegExp(
          `^wrote ${out.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} \\(1x1 image/png, lms, 2 steps\\) seed 42\n` +
            "timings: unet 1900 ms, vae_decode 150 ms; round trip \\d+ ms\n" +
            "REPORT duration 2100.51 ms \\(billed 2101 ms\\), cold, init 812.33 ms, memory 10240 MB, max memory used 3012 MB \\(from LogResult\\)\n$",
        ),
      ),
    });
    expect(readFileSync(out)).toEqual(PNG);
  });

  it("function error: shows errorType and errorMessage", async () => {
    server.use(
      http.post(INVOKE, () =>
        HttpResponse.json(
          {
            errorType: "BadRequestError",
            errorMessage: "width must be a multiple of 8, got 100",
            trace: ["BadRequestError: width must be a multiple of 8, got 100"],
          },
          { headers: { "x-amz-function-error": "Unhandled" } },
        ),
      ),
    );
    expect(await run(...deployed, "--width", "100")).toEqual({
      code: 1,
      stdout: "",
      stderr:
        "invoking function sd in eu-west-1\n" +
        "sd-lambda invoke: function error BadRequestError: width must be a multiple of 8, got 100\n",
    });
  });

  it("413: says how big the request was and what the limit is", async () => {
    server.use(
      http.post(INVOKE, () =>
        HttpResponse.json(
          {
            Type: "User",
            message: "Request must be smaller than 6291456 bytes for the InvokeFunction operation",
          },
          { status: 413, headers: { "x-amzn-errortype": "RequestTooLargeException" } },
        ),
      ),
    );
    const image = join(dir, "big.png");
    writeFileSync(image, Buffer.alloc(5_000_000)); // 6,666,668 base64 characters in the request
    expect(await run(...deployed, "--init-image", image)).toEqual({
      code: 1,
      stdout: "",
      stderr:
        "invoking function sd in eu-west-1\n" +
        "sd-lambda invoke: the request is 6666701 bytes; Lambda accepts at most 6291456 bytes (6 MB) for a synchronous invoke (RequestTooLargeException, HTTP 413) — send a smaller --init-image or --mask\n",
    });
  });

  it("429: throttled, with Lambda's reason and Retry-After", async () => {
    server.use(
      http.post(INVOKE, () =>
        HttpResponse.json(
          {
            Type: "User",
            message: "Rate Exceeded.",
            Reason: "ReservedFunctionConcurrentInvocationLimitExceeded",
          },
          {
            status: 429,
            headers: { "x-amzn-errortype": "TooManyRequestsException", "retry-after": "3" },
          },
        ),
      ),
    );
    expect(await run(...deployed)).toEqual({
      code: 1,
      stdout: "",
      stderr:
        "invoking function sd in eu-west-1\n" +
        "sd-lambda invoke: function sd in eu-west-1 is throttled (TooManyRequestsException, HTTP 429, ReservedFunctionConcurrentInvocationLimitExceeded): Rate Exceeded. — retry after 3 s, or raise the function's reserved concurrency\n",
    });
  });

  it("client-side timeout: --timeout-s", async () => {
    server.use(
      http.post(INVOKE, async () => {
        await delay(5000);
        return HttpResponse.json({});
      }),
    );
    expect(await run(...deployed, "--timeout-s", "0.3")).toEqual({
      code: 1,
      stdout: "",
      stderr:
        "invoking function sd in eu-west-1\n" +
        "sd-lambda invoke: no answer from function sd in eu-west-1 within 0.3 s (--timeout-s 0.3) — the function may still be running: raise --timeout-s, or ask for fewer --steps or a smaller image\n",
    });
  });

  it("dropped connection", async () => {
    server.use(http.post(INVOKE, () => HttpResponse.error()));
    expect(await run(...deployed)).toEqual({
      code: 1,
      stdout: "",
      stderr:
        "invoking function sd in eu-west-1\n" +
        "sd-lambda invoke: the connection to function sd in eu-west-1 was dropped before the function answered (Network error) — the function's container may have crashed or been killed for memory; see `make logs`\n",
    });
  });
});

describe("sd-lambda invoke, local endpoint", () => {
  it("the RIE's 502 when the runtime process was killed: named, with what to do", async () => {
    server.use(
      http.post("http://localhost:9000/2015-03-31/functions/function/invocations", () =>
        HttpResponse.json(
          {
            errorMessage: "RequestId: 5e1f Error: Runtime exited with error: signal: killed",
            errorType: "Runtime.ExitError",
          },
          { status: 502 },
        ),
      ),
    );
    expect(await run("--endpoint", "http://localhost:9000")).toEqual({
      code: 1,
      stdout: "",
      stderr:
        "invoking http://localhost:9000\n" +
        "sd-lambda invoke: function error Runtime.ExitError: RequestId: 5e1f Error: Runtime exited with error: signal: killed — the runtime process was killed, most often at the memory limit (Lambda names that Runtime.OutOfMemory): raise the function's memory (MEMORY_MB for the emulator) or ask for a smaller --width/--height; `make logs` shows what it printed last\n",
    });
  });

  it("a request over 6 MB: the Lambda stand-in answers 413 as Lambda would, nothing is sent to the RIE", async () => {
    let reached = false;
    server.use(
      http.post("http://localhost:9000/2015-03-31/functions/function/invocations", () => {
        reached = true;
        return HttpResponse.json({});
      }),
    );
    const image = join(dir, "big-local.png");
    writeFileSync(image, Buffer.alloc(5_000_000));
    expect(await run("--endpoint", "http://localhost:9000", "--init-image", image)).toEqual({
      code: 1,
      stdout: "",
      stderr:
        "invoking http://localhost:9000\n" +
        "sd-lambda invoke: the request is 6666701 bytes; Lambda accepts at most 6291456 bytes (6 MB) for a synchronous invoke (RequestTooLargeException, HTTP 413; answered by the harness's Lambda stand-in, the emulator does not check) — send a smaller --init-image or --mask\n",
    });
    expect(reached).toBe(false);
  });

  it("connection refused: nothing listens — run make up", async () => {
    const port = await closedPort();
    server.close(); // a real socket: nothing intercepts this request
    try {
      expect(await run("--endpoint", `http://localhost:${port}`)).toEqual({
        code: 1,
        stdout: "",
        stderr:
          `invoking http://localhost:${port}\n` +
          `sd-lambda invoke: nothing listens on localhost:${port} (connection refused) — start the emulator with \`make up\`, or pass --endpoint URL\n`,
      });
    } finally {
      server.listen({ onUnhandledFrame: "error" });
    }
  });
});

describe("localPort: which endpoints are on this machine (REPORT lines then come from docker logs)", () => {
  const external = Object.values(networkInterfaces())
    .flat()
    .find((a) => a && !a.internal && a.family === "IPv4")?.address;
  it.each([
    ["http://localhost:9000", 9000],
    ["http://127.0.0.1:9001/", 9001],
    ["http://[::1]:32787", 32787],
    ["http://localhost", 80],
    ["https://lambda.eu-west-1.amazonaws.com", undefined],
    ["http://203.0.113.5:9000", undefined],
    ["not a url", undefined],
  ])("%s → %s", (endpoint, port) => {
    expect(localPort(endpoint)).toBe(port);
  });
  it("an address of one of this machine's interfaces (how testcontainers reaches ports from inside a container)", () => {
    expect(external, "this machine has no non-loopback IPv4 interface").toBeDefined();
    expect(localPort(`http://${external}:32787`)).toBe(32787);
  });
});

/** A local port nothing listens on: bound, then released. */
function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const address = s.address();
      s.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}
