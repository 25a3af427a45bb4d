/**
 * The failure scenarios: each provokes one failure that bites on Lambda, in the emulator, and checks the
 * whole message the user gets. `provoke` and `sees` are what the README table and `--json` show.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, cpSync, mkdirSync, readdirSync, renameSync, statSync } from "node:fs";
import { join } from "node:path";
import type { LambdaContainerOptions } from "../emulator/lambda-container.ts";
import { ROOT } from "../emulator/stack.ts";
import {
  bundleFiles,
  estimateMemory,
  glibcCheck,
  modelFacts,
  nativeFiles,
  runPreflight,
} from "../preflight/index.ts";
import { functionError, MAX_REQUEST_BYTES, rawInvoke } from "./lambda-service.ts";
import { FIXTURE_MODELS, TINY_MODEL } from "./paths.ts";
import { INIT_LIMIT_MS, initDurations, initWarning } from "./rie-logs.ts";
import { deriveImage, type Sandbox } from "./sandbox.ts";

export interface ScenarioContext {
  readonly docker: NodeJS.ProcessEnv;
  /** The default function container (10,240 MB, 300 s, tiny-sd mounted), held by one scenario at a time. */
  shared(): Promise<Sandbox>;
  /** A container of the scenario's own, removed when the scenario ends. */
  start(options: LambdaContainerOptions & { writableRoot?: boolean }): Promise<Sandbox>;
  /** A temporary folder removed when the scenario ends. */
  temp(prefix: string): string;
  check(what: string, actual: unknown, expected: string | RegExp | boolean | number | undefined): void;
  note(text: string): void;
}

export interface Scenario {
  readonly name: string;
  readonly title: string;
  readonly provoke: string;
  readonly sees: string;
  /** Uses the shared container (runs alone on it). */
  readonly shared?: boolean;
  run(ctx: ScenarioContext): Promise<void>;
}

const MODELS = FIXTURE_MODELS;
const TINY = TINY_MODEL;
const LAYOUT =
  "model_index.json, text_encoder/model.onnx, unet/model.onnx, vae_decoder/model.onnx, tokenizer/tokenizer.json, tokenizer/tokenizer_config.json, scheduler/scheduler_config.json, vae_encoder/model.onnx";
const SMALL = { prompt: "a red fox", num_inference_steps: 2, seed: 1 };

/** The error of a direct invoke, as "errorType: errorMessage". */
function errorOf(body: unknown): string {
  const error = functionError(body);
  return error
    ? `${error.errorType}: ${error.errorMessage}`
    : `no function error in ${JSON.stringify(body)?.slice(0, 200)}`;
}

function copyModels(ctx: ScenarioContext, prefix: string): string {
  const dir = ctx.temp(prefix);
  cpSync(TINY, join(dir, "tiny-sd"), { recursive: true });
  return dir;
}

function walk(dir: string, visit: (path: string, isDir: boolean) => void): void {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const isDir = statSync(path).isDirectory();
    visit(path, isDir);
    if (isDir) walk(path, visit);
  }
}

export const SCENARIOS: readonly Scenario[] = [
  {
    name: "read-only-fs",
    title: "Read-only filesystem",
    provoke:
      'code in the sandbox (uid 993) opens a file in /var/task for update, as the seed\'s open(path, "r+b") (the file made mode 0666 in a derived image, so only the read-only root refuses); a run on a writable root is audited with docker diff',
    sees: "EROFS: read-only file system, open '/var/task/package.json'; the runtime writes nothing outside /tmp",
    async run(ctx) {
      const image = deriveImage(
        "sd-lambda/scenario-read-only",
        ["USER root", "RUN chmod 0666 /var/task/package.json"],
        ctx.docker,
      );
      const [box, writable] = await Promise.all([
        ctx.start({ modelsDir: MODELS, image }),
        ctx.start({ modelsDir: MODELS, writableRoot: true }),
      ]);
      const opened = box.exec([
        "/var/lang/bin/node",
        "-e",
        "try { require('fs').openSync('/var/task/package.json', 'r+') } catch (e) { console.log(e.message); process.exit(3) }",
      ]);
      ctx.check(
        "open(/var/task/package.json, r+) as uid 993",
        opened.output,
        "EROFS: read-only file system, open '/var/task/package.json'",
      );
      const answer = await writable.lambda.invoke(SMALL);
      ctx.check("a generation on a writable root succeeds", answer.status, 200);
      const diff = spawnSync("docker", ["diff", writable.id], { env: ctx.docker, encoding: "utf8" })
        .stdout.split("\n")
        .map((line) => line.trim())
        // docker itself creates the bind mount's mount point
        .filter((line) => line && !"/mnt/fs/models/".startsWith(`${line.slice(2)}/`));
      ctx.check("files the runtime wrote outside /tmp (docker diff)", diff.join("\n"), "");
    },
  },
  {
    name: "missing-library",
    title: "Missing shared library",
    provoke:
      "an image derived from the function image without node_modules/onnxruntime-node/bin/…/libonnxruntime.so.1",
    sees: "init fails at once: the RIE answers 502 with the init error (errorType ModelError) naming libonnxruntime.so.1 and the fix",
    async run(ctx) {
      const image = deriveImage(
        "sd-lambda/scenario-missing-library",
        [
          "USER root",
          "RUN rm -f /var/task/node_modules/onnxruntime-node/bin/napi-v*/linux/x64/libonnxruntime.so.1",
        ],
        ctx.docker,
      );
      const box = await ctx.start({ modelsDir: MODELS, image, timeoutS: 30 });
      const answer = await box.lambda.invoke(SMALL);
      ctx.check("HTTP status from the RIE", answer.status, 502);
      ctx.check("answered well before the 30 s timeout (not a hang)", answer.ms < 10_000, true);
      ctx.check(
        "error",
        errorOf(answer.body),
        "ModelError: cannot load onnxruntime-node's native library: libonnxruntime.so.1: cannot open shared object file: No such file or directory — libonnxruntime.so.1 is missing from the bundle — install production dependencies for linux/x64 inside the image (npm ci --omit=dev --os=linux --cpu=x64) and keep node_modules/onnxruntime-node/bin",
      );
      const logs = box.logs();
      ctx.check("reported as an init error through the Runtime API", /Init Error\s/.test(logs), true);
      ctx.check("the RIE marks init failed", /INIT RTDONE\(status: error\)/.test(logs), true);
    },
  },
  {
    name: "glibc-too-old",
    title: "glibc too old",
    provoke:
      "preflight reads the ELF version needs of every .so/.node in the bundle and compares them with the runtime's glibc (no AL2 image can be pulled here)",
    sees: "nodejs18.x / provided.al2 (glibc 2.26) fail naming libonnxruntime.so.1 and GLIBC_2.27 from libm.so.6; nodejs24.x passes",
    async run(ctx) {
      const natives = nativeFiles(
        bundleFiles([{ from: join(ROOT, ".cache/function/node_modules"), to: "/var/task/node_modules" }]),
      );
      for (const runtime of ["nodejs18.x", "provided.al2"]) {
        const check = glibcCheck(natives, runtime);
        ctx.check(`${runtime} status`, check.status, "fail");
        const line = check.details.find((d) => d.includes("libonnxruntime.so.1") && d.includes("libm.so.6"));
        ctx.check(
          `${runtime}: libonnxruntime.so.1 line`,
          line,
          /^\/var\/task\/node_modules\/onnxruntime-node\/bin\/napi-v\d+\/linux\/x64\/libonnxruntime\.so\.1 needs GLIBC_2\.27 from libm\.so\.6$/,
        );
      }
      for (const runtime of ["nodejs24.x", "nodejs20.x", "provided.al2023"])
        ctx.check(`${runtime} status`, glibcCheck(natives, runtime).status, "pass");
    },
  },
  {
    name: "image-unreadable",
    title: "Files in the image unreadable by uid 993",
    provoke: "tiny-sd baked into /var/task/models with files mode 0600 owner root (MNT_DIR=/var/task)",
    sees: "preflight --image lists the files; the invoke names file, mode, owner, uid and the Dockerfile fix",
    async run(ctx) {
      const image = deriveImage(
        "sd-lambda/scenario-image-unreadable",
        [
          "USER root",
          "COPY models /var/task/models",
          "RUN chown -R 0:0 /var/task/models && find /var/task/models -type f -exec chmod 0600 {} +",
        ],
        ctx.docker,
        { [MODELS]: "models" },
      );
      const report = await runPreflight({
        runtime: "nodejs24.x",
        memoryMb: 10240,
        source: { kind: "image", image, env: ctx.docker },
      });
      const permissions = report.checks.find((c) => c.name === "permissions");
      ctx.check("preflight permissions status", permissions?.status, "fail");
      ctx.check(
        "preflight lists model_index.json",
        permissions?.details.includes(
          "/var/task/models/tiny-sd/model_index.json (mode 0600 owner uid 0 gid 0)",
        ),
        true,
      );
      const box = await ctx.start({ modelsDir: undefined, image, environment: { MNT_DIR: "/var/task" } });
      const answer = await box.lambda.invoke(SMALL);
      ctx.check(
        "error",
        errorOf(answer.body),
        "ModelError: cannot read /var/task/models/tiny-sd/model_index.json as uid 993 gid 990: mode 0600 owner uid 0 gid 0 — the file is in the image and Lambda runs the code as uid 993, not root: add `RUN chmod -R o+rX /var/task` to the Dockerfile",
      );
    },
  },
  {
    name: "efs-permissions",
    title: "EFS permissions",
    provoke:
      "a copy of tiny-sd with files mode 0600 owner root mounted at /mnt/fs/models; the function runs as 993",
    sees: "message with path, mode, owner, uid and the access point's POSIX user that fixes it",
    async run(ctx) {
      const dir = copyModels(ctx, "sd-lambda-efs-");
      walk(dir, (path, isDir) => {
        if (!isDir) chmodSync(path, 0o600);
      });
      const box = await ctx.start({ modelsDir: dir });
      const answer = await box.lambda.invoke(SMALL);
      const uid = process.getuid?.() ?? 0;
      const gid = process.getgid?.() ?? 0;
      ctx.check(
        "error",
        errorOf(answer.body),
        `ModelError: cannot read /mnt/fs/models/tiny-sd/model_index.json as uid 993 gid 990: mode 0600 owner uid ${uid} gid ${gid} — make it world-readable (chmod o+r files, o+x folders) or set the EFS access point's POSIX user to uid ${uid} gid ${gid}, the owner`,
      );
    },
  },
  {
    name: "models-missing",
    title: "Models missing, wrong layout, no mount",
    provoke:
      "no mount at /mnt/fs; then a mounted folder that is empty, holds tiny-sd without unet/model.onnx, and holds two models",
    sees: "each message says what was expected where",
    async run(ctx) {
      const [bare, dir] = [ctx.start({ modelsDir: undefined }), ctx.temp("sd-lambda-layout-")];
      const mounted = await ctx.start({ modelsDir: dir });
      const noMount = await (await bare).lambda.invoke(SMALL);
      ctx.check(
        "no mount",
        errorOf(noMount.body),
        "ModelError: no models folder at /mnt/fs/models — mount the EFS file system at /mnt/fs and put each model in /mnt/fs/models/<name>/",
      );
      const empty = await mounted.lambda.invoke(SMALL);
      ctx.check(
        "empty models folder",
        errorOf(empty.body),
        "ModelError: /mnt/fs/models holds no model folder — copy an optimum-cli ONNX export to /mnt/fs/models/<name>/",
      );
      cpSync(TINY, join(dir, "tiny-sd"), { recursive: true });
      renameSync(join(dir, "tiny-sd/unet/model.onnx"), join(dir, "tiny-sd/unet/unet.onnx"));
      const layout = await mounted.lambda.invoke(SMALL);
      ctx.check(
        "wrong layout",
        errorOf(layout.body),
        `ModelError: model folder /mnt/fs/models/tiny-sd has no unet/model.onnx — expected the layout of optimum-cli export onnx: ${LAYOUT}`,
      );
      mkdirSync(join(dir, "sd15"));
      const two = await mounted.lambda.invoke(SMALL);
      ctx.check(
        "two models, no SD_MODEL",
        errorOf(two.body),
        "ModelError: /mnt/fs/models holds 2 models (sd15, tiny-sd) — set SD_MODEL to one of them",
      );
    },
  },
  {
    name: "out-of-memory",
    title: "Out of memory",
    provoke:
      "memory 512 MB and a 512x512 request (tiny-sd peaks at ~670 MB there, preflight estimates ~850 MB); preflight with the same numbers",
    sees: "Runtime.OutOfMemory with the max memory used (the RIE itself says Runtime.ExitError, signal: killed); preflight warns first; the next invoke works",
    async run(ctx) {
      const estimate = estimateMemory(modelFacts(TINY), { width: 512, height: 512 });
      ctx.check("preflight estimate above 512 MB", estimate.totalMb > 512, true);
      const box = await ctx.start({ modelsDir: MODELS, memoryMb: 512 });
      const raw = box.lambda;
      const answer = await raw.invoke({ ...SMALL, width: 512, height: 512 });
      const error = functionError(answer.body);
      ctx.check(
        "errorType (mapped from the RIE's Runtime.ExitError)",
        error?.errorType,
        "Runtime.OutOfMemory",
      );
      ctx.check(
        "errorMessage",
        error?.errorMessage,
        /^RequestId: [0-9a-f-]{36} Error: Runtime exited with error: signal: killed$/,
      );
      const used = (answer.body as { maxMemoryUsedMb?: number }).maxMemoryUsedMb ?? 0;
      ctx.check("max memory used (cgroup peak) reached the 512 MB limit", used >= 500, true);
      ctx.note(
        `max memory used ${Math.round(used)} MB of 512 MB; preflight estimated ${estimate.totalMb} MB`,
      );
      const next = await raw.invoke(SMALL);
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
      "TIMEOUT_S=2: a small invoke to load the model, 100 steps at 256x256 (the handler learns the step time after step 1); then, in a fresh function, one 768x768 step (its decode outruns the cold estimate)",
    sees: "the handler's DeadlineError naming steps, times and the fix; the RIE's 'Task timed out after 2.00 seconds'",
    async run(ctx) {
      const box = await ctx.start({ modelsDir: MODELS, timeoutS: 2 });
      // the first invoke waits for the model load, which a 2 s timeout may cut short (a DEADLINE naming
      // the load); the load goes on, so the next invoke finds the model
      await box.lambda.invoke(SMALL);
      const deadline = await box.lambda.invoke({
        ...SMALL,
        num_inference_steps: 100,
        width: 256,
        height: 256,
      });
      ctx.check(
        "handler deadline",
        errorOf(deadline.body),
        /^DeadlineError: \d+ of 100 UNet steps left at ~\d+ ms each \([^)]+\) and ~\d+ ms to decode and answer \([^)]+\) need ~\d+ ms, but the function has \d+ ms before its timeout — (ask for at most \d+ num_inference_steps or )?raise the function timeout$/,
      );
      // a warm function scales what it measured at 64x64 to 768x768 and refuses in time; a fresh one
      // only has the estimate from the tiny VAE's file size, which undershoots its ~2 s decode
      const fresh = await ctx.start({ modelsDir: MODELS, timeoutS: 2 });
      const killed = await fresh.lambda.invoke({ ...SMALL, num_inference_steps: 1, width: 768, height: 768 });
      ctx.check("RIE timeout body", killed.text, "Task timed out after 2.00 seconds");
      ctx.check("RIE timeout status", killed.status, 200);
      ctx.check("the RIE resets the runtime", /Reset initiated: Timeout/.test(fresh.logs()), true);
    },
  },
  {
    name: "payload-too-large",
    title: "Payload too large",
    provoke:
      'an 800x800 PNG in the seed\'s {"body": …} shape (latin1 + base64 copies, ~6.5 MB); a 6 MiB + 200 byte request',
    sees: "RESPONSE_TOO_LARGE with the size, the limit and the advice; the request refused with RequestEntityTooLargeException",
    shared: true,
    async run(ctx) {
      const box = await ctx.shared();
      const big = await box.lambda.invoke({
        body: JSON.stringify({
          ...SMALL,
          num_inference_steps: 1,
          guidance_scale: 1,
          width: 800,
          height: 800,
        }),
      });
      const body = big.body as { statusCode?: number; body?: string };
      ctx.check("statusCode", body.statusCode, 413);
      const message = (JSON.parse(body.body ?? "{}") as { message?: string }).message;
      ctx.check(
        "message",
        message,
        /^the response would be \d+ bytes, over Lambda's 6291456-byte limit for synchronous invokes — ask for output_format "jpeg" or "webp", or a smaller width and height \(now 800x800\)$/,
      );
      const request = JSON.stringify({ prompt: "x".repeat(MAX_REQUEST_BYTES + 200) });
      const refused = await box.lambda.invoke(request);
      ctx.check(
        "request refused before the RIE",
        `${refused.status} ${refused.text}`,
        `413 {"errorType":"RequestEntityTooLargeException","errorMessage":"${Buffer.byteLength(request)} byte payload is too large for the RequestResponse invocation type (limit ${MAX_REQUEST_BYTES} bytes)"}`,
      );
      const raw = await rawInvoke(box.url, request);
      ctx.note(`the RIE itself does not refuse it: HTTP ${raw.status} ${raw.text.slice(0, 160)}`);
      const after = await box.lambda.invoke(SMALL);
      ctx.check("keeps serving afterwards", after.status === 200 && !functionError(after.body), true);
    },
  },
  {
    name: "bad-requests",
    title: "Many bad requests, then a good one",
    provoke:
      "50 bad requests (missing prompt, bad sizes, unknown fields, invalid JSON bodies) between good ones",
    sees: "each a BadRequestError naming the field; the function keeps serving; rss within 5%",
    shared: true,
    async run(ctx) {
      const box = await ctx.shared();
      const bad: unknown[] = [
        {},
        { prompt: "x", width: 63 },
        { prompt: "x", num_inference_steps: 0 },
        { prompt: "x", colour: "red" },
        { body: "{not json" },
      ];
      // warm up the code paths (JIT, heap) of both kinds of request before measuring
      for (let i = 0; i < 10; i++) {
        await box.lambda.invoke(SMALL);
        await box.lambda.invoke(bad[i % bad.length]);
      }
      const before = await box.memory();
      let refused = 0;
      for (let i = 0; i < 50; i++) {
        const answer = await box.lambda.invoke(bad[i % bad.length]);
        const error = functionError(answer.body);
        const status = (answer.body as { statusCode?: number }).statusCode;
        if (error?.errorType === "BadRequestError" || status === 400) refused++;
      }
      // measured before the good one: its tensors belong to the model, not to the bad requests
      const after = await box.memory();
      ctx.check("bad requests refused with a 400 / BadRequestError", refused, 50);
      const good = await box.lambda.invoke(SMALL);
      ctx.check("the good one succeeds", good.status === 200 && !functionError(good.body), true);
      const change = (after.rssMb - before.rssMb) / before.rssMb;
      ctx.note(
        `cgroup rss ${before.rssMb.toFixed(1)} MB before, ${after.rssMb.toFixed(1)} MB after (${(change * 100).toFixed(1)}%)`,
      );
      ctx.check("rss within 5% of before", Math.abs(change) <= 0.05, true);
    },
  },
  {
    name: "init-duration",
    title: "Init longer than 10 s",
    provoke:
      "measure init from the RIE's INIT REPORT (no knob makes init slow: the model loads without blocking init)",
    sees: "init duration in ms; over 10 s the harness warns that Lambda re-runs init inside the first invoke",
    shared: true,
    async run(ctx) {
      const box = await ctx.shared();
      await box.lambda.invoke(SMALL);
      const inits = initDurations(box.logs());
      ctx.check("an INIT REPORT was logged", inits.length > 0, true);
      const first = inits[0] ?? Number.NaN;
      ctx.note(`init took ${first.toFixed(0)} ms (limit ${INIT_LIMIT_MS} ms)`);
      ctx.check("init under 10 s, no warning", initWarning(first, 300), undefined);
      ctx.check(
        "warning for a 12.5 s init",
        initWarning(12_500, 300),
        "init took 12500 ms, over Lambda's 10 s init limit: Lambda would stop it and run init again inside the first invoke, where it counts against the 300 s function timeout — start slow work (model loading) without awaiting it at module level",
      );
    },
  },
  {
    name: "concurrent-invokes",
    title: "Two invocations at once",
    provoke:
      "two invokes at once at one environment: through the harness's service rules, then straight at the RIE",
    sees: "the second gets 429 TooManyRequestsException (Lambda's answer when no other environment may run) and the first completes; straight at the RIE, it panics (ReserveFailed: AlreadyReserved) and the harness reports it",
    async run(ctx) {
      const box = await ctx.start({ modelsDir: MODELS });
      await box.lambda.invoke(SMALL);
      const slow = { ...SMALL, num_inference_steps: 4, width: 384, height: 384 };
      const first = box.lambda.invoke(slow);
      const second = await box.lambda.invoke(SMALL);
      ctx.check(
        "second while busy",
        `${second.status} ${second.text}`,
        '429 {"errorType":"TooManyRequestsException","errorMessage":"Rate Exceeded.","Reason":"ReservedFunctionConcurrentInvocationLimitExceeded"}',
      );
      const done = await first;
      ctx.check("the first completes", done.status === 200 && !functionError(done.body), true);
      const rawFirst = rawInvoke(box.url, JSON.stringify(slow), 30_000);
      await new Promise((resolve) => setTimeout(resolve, 150));
      const rawSecond = await rawInvoke(box.url, JSON.stringify(SMALL), 30_000);
      const answers = [await rawFirst, rawSecond];
      const panicked = /ReserveFailed: AlreadyReserved/.test(box.logs());
      ctx.note(
        `straight at the RIE: ${answers.map((a) => (a.status === 0 ? `no answer (${a.text})` : `HTTP ${a.status}`)).join(", ")}; ${panicked ? "the RIE logged ReserveFailed: AlreadyReserved and panicked" : "no panic logged"}; container ${box.running() ? "still running" : "exited"}`,
      );
      ctx.check("the harness got an outcome for both raw invokes", answers.length, 2);
    },
  },
];
