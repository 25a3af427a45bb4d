/**
 * Scenarios about Lambda's limits: memory, timeout, payload size, init time, one request per environment.
 * Each asserts what the real RIE does; where it does not do what Lambda does, the scenario says so and
 * checks the harness's stand-in answer (emulator/lambda-stand-in.ts) separately, in the three places
 * that give it: the scenarios' environment, the function URL front door and the invoke client.
 */
import { MAX_PAYLOAD_BYTES } from "../../runtime/config.ts";
import { startFrontDoor } from "../emulator/function-url-server.ts";
import { BUSY, requestTooLarge, STAND_IN_DOCS, standInText } from "../emulator/lambda-stand-in.ts";
import { InvokeError, invoke, parsePayload } from "../invoke/client.ts";
import { estimateMemory, modelFacts } from "../preflight/index.ts";
import { functionError, rawInvoke } from "./lambda-service.ts";
import { FIXTURE_MODELS, TINY_MODEL } from "./paths.ts";
import { INIT_LIMIT_MS, initDurations, initWarning } from "./rie-logs.ts";
import type { Sandbox } from "./sandbox.ts";
import { AWS, errorOf, type Scenario, SMALL, until } from "./scenario.ts";
import { sleeperImage } from "./sleeper.ts";

const MODELS = FIXTURE_MODELS;
const BUSY_TEXT = standInText(BUSY);
const tooLargeText = (bytes: number) => standInText(requestTooLarge(bytes, MAX_PAYLOAD_BYTES) ?? BUSY);

/** The number of invokes the RIE has started (its START lines). */
const starts = (box: Sandbox) => box.logs().match(/^START RequestId: /gm)?.length ?? 0;

export const LIMIT_SCENARIOS: readonly Scenario[] = [
  {
    name: "out-of-memory",
    title: "Out of memory",
    provoke:
      "memory 512 MB and a 512x512 request (tiny-sd peaks at ~670 MB there, preflight estimates ~850 MB); preflight with the same numbers",
    lambda: [
      {
        url: AWS.limits,
        says: "Function memory allocation: 128 MB to 10,240 MB, in 1-MB increments.",
      },
      {
        url: AWS.runtimeError,
        says: 'Runtime errors return a status code similar to: {"errorType": "Runtime.ExitError", "errorMessage": "RequestId: … Error: Runtime exited with error: …"} — review the function\'s memory; you might need to increase it.',
      },
    ],
    sees: "the kernel OOM-kills the runtime inside the memory cgroup (its oom_kill counter goes up by one, its peak is at the limit); the RIE answers Runtime.ExitError … signal: killed, which sd-lambda invoke explains as the memory limit; preflight warns first; the next invoke works",
    async run(ctx) {
      const estimate = estimateMemory(modelFacts(TINY_MODEL), { width: 512, height: 512 });
      ctx.check("preflight estimate above 512 MB", estimate.totalMb > 512, true);
      const box = await ctx.start({ modelsDir: MODELS, memoryMb: 512 });
      const before = await box.memory();
      const answer = await rawInvoke(box.url, JSON.stringify({ ...SMALL, width: 512, height: 512 }));
      const after = await box.memory();
      ctx.check(
        "the RIE's answer",
        errorOf(answer.body),
        /^Runtime\.ExitError: RequestId: [0-9a-f-]{36} Error: Runtime exited with error: signal: killed$/,
      );
      ctx.check(
        "OOM kills in the container's memory cgroup (after − before)",
        after.oomKills - before.oomKills,
        1,
      );
      ctx.check("cgroup memory peak reached the 512 MB limit", after.maxUsedMb >= 500, true);
      ctx.note(
        `cgroup peak ${Math.round(after.maxUsedMb)} MB of 512 MB; preflight estimated ${estimate.totalMb} MB`,
      );
      // what sd-lambda invoke makes of that answer
      let explained = "no InvokeError";
      try {
        parsePayload(answer.text, undefined);
      } catch (error) {
        explained = error instanceof InvokeError ? error.message : String(error);
      }
      ctx.check(
        "what sd-lambda invoke says",
        explained,
        /^function error Runtime\.ExitError: RequestId: [0-9a-f-]{36} Error: Runtime exited with error: signal: killed — the runtime process was killed, most often at the memory limit \(Lambda names that Runtime\.OutOfMemory\): raise the function's memory \(MEMORY_MB for the emulator\) or ask for a smaller --width\/--height; `make logs` shows what it printed last$/,
      );
      const next = await rawInvoke(box.url, JSON.stringify(SMALL));
      ctx.check(
        "the next invoke (64x64) succeeds after re-init",
        next.status === 200 && !functionError(next.body),
        true,
      );
    },
  },
  {
    name: "timeout",
    title: "Timeout",
    provoke:
      "the sleeper function with TIMEOUT_S=2 asked to sleep 5 s; then tiny-sd with a timeout a third of what 100 steps take (step time measured first, so the machine's speed sets the numbers)",
    lambda: [
      {
        url: AWS.timeout,
        says: "Timeout is the maximum amount of time in seconds that a Lambda function can run. The default value for this setting is 3 seconds, but you can adjust this in increments of 1 second up to a maximum value of 900 seconds (15 minutes).",
      },
    ],
    sees: "the RIE's 'Task timed out after 2.00 seconds' and a reset; with the model, the handler's DeadlineError naming steps, times and the fix before the RIE's timeout",
    shared: true,
    async run(ctx) {
      const sleeper = await ctx.start({ modelsDir: undefined, image: sleeperImage(ctx.docker), timeoutS: 2 });
      const killed = await rawInvoke(sleeper.url, JSON.stringify({ sleep_ms: 5000 }));
      ctx.check(
        "the RIE's answer",
        `${killed.status} ${killed.text}`,
        "200 Task timed out after 2.00 seconds",
      );
      ctx.check("the RIE resets the runtime", /Reset initiated: Timeout/.test(sleeper.logs()), true);

      // the step time at the largest size tiny-sd renders in a few seconds, measured here
      const shared = await ctx.shared();
      const probe = await rawInvoke(
        shared.url,
        JSON.stringify({ ...SMALL, num_inference_steps: 2, width: 512, height: 512 }),
      );
      const unetMs = (probe.body as { timings_ms?: { unet?: number } }).timings_ms?.unet ?? Number.NaN;
      const stepMs = unetMs / 2;
      const timeoutS = Math.max(3, Math.floor((100 * stepMs) / 3 / 1000));
      ctx.note(`one step at 512x512 took ${stepMs.toFixed(0)} ms here: timeout ${timeoutS} s for 100 steps`);
      ctx.check("100 steps take at least twice the timeout", 100 * stepMs >= 2 * timeoutS * 1000, true);
      const box = await ctx.start({ modelsDir: MODELS, timeoutS });
      // load the model within the timeout first; the deadline check needs the warm step time
      await rawInvoke(box.url, JSON.stringify({ ...SMALL, num_inference_steps: 1 }));
      const deadline = await rawInvoke(
        box.url,
        JSON.stringify({ ...SMALL, num_inference_steps: 100, width: 512, height: 512 }),
      );
      ctx.check(
        "handler deadline",
        errorOf(deadline.body),
        /^DeadlineError: \d+ of 100 UNet steps left at ~\d+ ms each \([^)]+\) and ~\d+ ms to decode and answer \([^)]+\) need ~\d+ ms, but the function has \d+ ms before its timeout — (ask for at most \d+ num_inference_steps or )?raise the function timeout$/,
      );
    },
  },
  {
    name: "payload-too-large",
    title: "Payload too large",
    provoke:
      'an 800x800 PNG in the seed\'s {"body": …} shape (latin1 + base64 copies, ~6.5 MB); a 6 MiB + 200 byte request straight at the RIE, then through the stand-in, the front door and sd-lambda invoke',
    lambda: [STAND_IN_DOCS.tooLarge],
    sees: "the handler's 413 RESPONSE_TOO_LARGE with the size, the limit and the advice; straight at the RIE the oversized request is cut and the runtime crashes (Runtime.ExitError); the stand-in, the front door and sd-lambda invoke answer 413 RequestTooLargeException as Lambda does",
    standIn:
      "413 RequestTooLargeException for a request over 6,291,456 bytes: the RIE passes the first 6 MiB + 100 bytes on and the runtime dies parsing them, where Lambda refuses the request before any environment sees it",
    shared: true,
    async run(ctx) {
      const box = await ctx.shared();
      const big = await rawInvoke(
        box.url,
        JSON.stringify({
          body: JSON.stringify({
            ...SMALL,
            num_inference_steps: 1,
            guidance_scale: 1,
            width: 800,
            height: 800,
          }),
        }),
      );
      const body = big.body as { statusCode?: number; body?: string };
      ctx.check("statusCode", body.statusCode, 413);
      const message = (JSON.parse(body.body ?? "{}") as { message?: string }).message;
      ctx.check(
        "message",
        message,
        /^the response would be \d+ bytes, over Lambda's 6291456-byte limit for synchronous invokes — ask for output_format "jpeg" or "webp", or a smaller width and height \(now 800x800\)$/,
      );
      const request = JSON.stringify({ prompt: "x".repeat(MAX_PAYLOAD_BYTES + 200) });
      const bytes = Buffer.byteLength(request);
      // the stand-in, three ways (nothing reaches the RIE)
      const refused = await box.lambda.invoke(request);
      ctx.check(
        "stand-in",
        `${refused.status} ${refused.by} ${refused.text}`,
        `413 stand-in ${tooLargeText(bytes)}`,
      );
      const door = await startFrontDoor({ port: 0, rieUrl: box.url, maxPayloadBytes: MAX_PAYLOAD_BYTES });
      try {
        const res = await fetch(`http://127.0.0.1:${door.port}/`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: request,
        });
        ctx.check(
          "function URL front door",
          `${res.status} ${res.headers.get("x-amzn-errortype")} ${await res.text()}`,
          /^413 RequestTooLargeException \{"Type":"User","message":"Request must be smaller than 6291456 bytes for the InvokeFunction operation"\}$/,
        );
      } finally {
        await door.close();
      }
      const client = await invoke(
        JSON.parse(request) as object,
        { kind: "local", endpoint: new URL(box.url).origin },
        { timeoutS: 30, dockerLogs: false },
      ).catch((error: unknown) => error);
      ctx.check(
        "sd-lambda invoke",
        client instanceof InvokeError ? client.message : String(client),
        `the request is ${bytes} bytes; Lambda accepts at most ${MAX_PAYLOAD_BYTES} bytes (6 MB) for a synchronous invoke (RequestTooLargeException, HTTP 413; answered by the harness's Lambda stand-in, the emulator does not check) — send a smaller --init-image or --mask`,
      );
      // the RIE itself
      const raw = await rawInvoke(box.url, request);
      ctx.check(
        "straight at the RIE",
        errorOf(raw.body),
        /^Runtime\.ExitError: RequestId: [0-9a-f-]{36} Error: Runtime exited with error: exit status \d+$/,
      );
      ctx.note(`the RIE answered HTTP ${raw.status}: ${raw.text.slice(0, 160)}`);
      const after = await rawInvoke(box.url, JSON.stringify(SMALL));
      ctx.check("keeps serving afterwards", after.status === 200 && !functionError(after.body), true);
    },
  },
  {
    name: "init-duration",
    title: "Init longer than 10 s",
    provoke:
      "the sleeper function with SLEEP_INIT_MS=10500: its module init waits 10.5 s before the handler exists",
    lambda: [
      {
        url: AWS.lifecycle,
        says: "The Init phase is limited to 10 seconds. If all three tasks do not complete within 10 seconds, Lambda retries the Init phase at the time of the first function invocation with the configured function timeout.",
      },
    ],
    sees: "the RIE's INIT REPORT over 10,500 ms and the harness's warning that Lambda would stop init and run it again inside the first invoke; the RIE itself lets init finish and runs it once",
    async run(ctx) {
      const box = await ctx.start({
        modelsDir: undefined,
        image: sleeperImage(ctx.docker),
        timeoutS: 60,
        environment: { SLEEP_INIT_MS: "10500" },
      });
      const answer = await rawInvoke(box.url, JSON.stringify({ sleep_ms: 0 }), 60_000);
      ctx.check("the invoke's answer", answer.body, { slept_ms: 0, init_ms: 10_500 });
      const inits = initDurations(box.logs());
      ctx.check("INIT REPORTs logged by the RIE", inits.length, 1);
      const first = inits[0] ?? Number.NaN;
      ctx.note(`the RIE measured init at ${first.toFixed(0)} ms (Lambda's limit ${INIT_LIMIT_MS} ms)`);
      ctx.check("init measured at 10,500 ms or more", first >= 10_500, true);
      ctx.check(
        "the harness's warning",
        initWarning(first, 60),
        `init took ${Math.round(first)} ms, over Lambda's 10 s init limit: Lambda would stop it and run init again inside the first invoke, where it counts against the 60 s function timeout — start slow work (model loading) without awaiting it at module level`,
      );
    },
  },
  {
    name: "concurrent-invokes",
    title: "Two invocations at once",
    provoke:
      "the sleeper function asked to sleep 3 s, and a second request while it sleeps: through the stand-in, through the function URL front door, then straight at the RIE",
    lambda: [STAND_IN_DOCS.busy],
    sees: "the stand-in and the front door answer the second with 429 TooManyRequestsException and the first completes; straight at the RIE, the RIE panics (ReserveFailed: AlreadyReserved), neither request gets an answer and the container exits",
    standIn:
      "429 TooManyRequestsException for a request while the one environment is busy: Lambda would start another environment (or throttle at the concurrency limit); the RIE has one and panics",
    async run(ctx) {
      const box = await ctx.start({ modelsDir: undefined, image: sleeperImage(ctx.docker), timeoutS: 30 });
      const warm = await rawInvoke(box.url, JSON.stringify({ sleep_ms: 0 }));
      ctx.check("a first invoke (init)", warm.status, 200);

      const first = box.lambda.invoke({ sleep_ms: 3000 });
      const second = await box.lambda.invoke({ sleep_ms: 0 });
      ctx.check(
        "stand-in: the second while busy",
        `${second.status} ${second.by} ${second.text}`,
        `429 stand-in ${BUSY_TEXT}`,
      );
      ctx.check("stand-in: the first completes", (await first).body, { slept_ms: 3000, init_ms: 0 });

      const door = await startFrontDoor({ port: 0, rieUrl: box.url, maxPayloadBytes: MAX_PAYLOAD_BYTES });
      try {
        const post = (ms: number) =>
          fetch(`http://127.0.0.1:${door.port}/`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ sleep_ms: ms }),
          });
        const slow = post(3000);
        await until("the front door taking the first request", () => door.busy);
        const busy = await post(0);
        ctx.check(
          "front door: the second while busy",
          `${busy.status} ${busy.headers.get("x-amzn-errortype")} ${await busy.text()}`,
          `429 TooManyRequestsException ${BUSY_TEXT}`,
        );
        const done = await slow;
        ctx.check(
          "front door: the first completes",
          `${done.status} ${await done.text()}`,
          '200 {"slept_ms":3000,"init_ms":0}',
        );
      } finally {
        await door.close();
      }

      // straight at the RIE: the second request arrives while the first runs
      const startedBefore = starts(box);
      const rawFirst = rawInvoke(box.url, JSON.stringify({ sleep_ms: 3000 }), 30_000);
      await until("the RIE starting the first invoke", () => starts(box) > startedBefore);
      const rawSecond = await rawInvoke(box.url, JSON.stringify({ sleep_ms: 0 }), 30_000);
      const rawFirstAnswer = await rawFirst;
      ctx.check(
        "the RIE panics: ReserveFailed: AlreadyReserved",
        /ReserveFailed: AlreadyReserved/.test(box.logs()),
        true,
      );
      ctx.check(
        "neither request gets an answer (the RIE process is gone)",
        [rawFirstAnswer, rawSecond].map((a) => (a.status === 0 ? "no answer" : `HTTP ${a.status}`)),
        ["no answer", "no answer"],
      );
      ctx.check("the container exits", box.running(), false);
      ctx.note(`straight at the RIE: ${rawFirstAnswer.text}; ${rawSecond.text}`);
    },
  },
];
