/**
 * Scenarios about the function and what it is given: its filesystem, its libraries, its files' owners,
 * its models, its requests. Each checks the whole message the user gets from the real RIE.
 */
import { chmodSync, chownSync, cpSync, mkdirSync, readdirSync, renameSync, statSync } from "node:fs";
import { join } from "node:path";
import { hostGraphKey } from "../../runtime/engine/optimized-graph.ts";
import { runPreflight } from "../preflight/index.ts";
import { functionError } from "./lambda-service.ts";
import { FIXTURE_MODELS, TINY_MODEL } from "./paths.ts";
import { deriveImage } from "./sandbox.ts";
import { AWS, errorOf, type Scenario, type ScenarioContext, SMALL } from "./scenario.ts";

const MODELS = FIXTURE_MODELS;
const TINY = TINY_MODEL;
const LAYOUT =
  "model_index.json, text_encoder/model.onnx, unet/model.onnx, vae_decoder/model.onnx, tokenizer/tokenizer_config.json, scheduler/scheduler_config.json, tokenizer/tokenizer.json or tokenizer/vocab.json + tokenizer/merges.txt, vae_encoder/model.onnx";

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

/** The function's model_loaded log line (the last one), as JSON. */
function modelLoaded(logs: string): Record<string, unknown> {
  const line = logs.split("\n").findLast((l) => l.includes('"event":"model_loaded"'));
  return line ? (JSON.parse(line.slice(line.indexOf("{"))) as Record<string, unknown>) : {};
}

/** docker diff lines outside the bind mount's mount point (which docker itself creates). */
function writtenOutside(diff: string): string[] {
  return diff
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line && !"/mnt/fs/models/".startsWith(`${line.slice(2)}/`));
}

export const FUNCTION_SCENARIOS: readonly Scenario[] = [
  {
    name: "read-only-fs",
    title: "Read-only filesystem",
    provoke:
      'code in the sandbox (uid 993) opens a file in /var/task for update, as the seed\'s open(path, "r+b") (the file made mode 0666 in a derived image, so only the read-only root refuses); a generation on a writable root is audited with docker diff, after a planted write shows the audit sees writes',
    lambda: [
      {
        url: AWS.images,
        says: "The container image must be able to run on a read-only file system. Your function code can access a writable /tmp directory with between 512 MB and 10,240 MB, in 1-MB increments, of storage.",
      },
    ],
    sees: "EROFS: read-only file system, open '/var/task/package.json'; a generation writes nothing outside /tmp",
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
      // the control: a write outside /tmp on the writable root shows in the audit (with its folders)
      writable.exec(["touch", "/var/task/planted-by-the-scenario"], "0");
      const planted = ["C /var", "C /var/task", "A /var/task/planted-by-the-scenario"];
      ctx.check("the audit sees a planted write (docker diff)", writtenOutside(writable.diff()), planted);
      const answer = await writable.lambda.invoke(SMALL);
      ctx.check(
        "a generation on a writable root succeeds",
        answer.status === 200 && !functionError(answer.body),
        true,
      );
      const written = writtenOutside(writable.diff()).filter((line) => !planted.includes(line));
      ctx.check("files init and a generation wrote outside /tmp (docker diff)", written, []);
    },
  },
  {
    name: "missing-library",
    title: "Missing shared library",
    provoke:
      "an image derived from the function image without node_modules/onnxruntime-node/bin/…/libonnxruntime.so.1",
    lambda: [
      {
        url: AWS.lifecycle,
        says: "If the function crashes or times out during the Init phase, Lambda emits error information in the INIT_REPORT log.",
      },
    ],
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
      // an init error, not a hang: the RIE would otherwise answer "Task timed out after 30.00 seconds"
      ctx.check("not the RIE's timeout", answer.text.startsWith("Task timed out"), false);
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
    name: "image-unreadable",
    title: "Files in the image unreadable by uid 993",
    provoke: "tiny-sd baked into /var/task/models with files mode 0600 owner root (MNT_DIR=/var/task)",
    lambda: [
      {
        url: AWS.images,
        says: "The default Lambda user must be able to read all the files required to run your function code. Lambda follows security best practices by defining a default Linux user with least-privileged permissions.",
      },
    ],
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
    lambda: [
      {
        url: AWS.efsAccessPoints,
        says: "Access points can enforce a user identity, including the user's POSIX groups, for all file system requests that are made through the access point.",
      },
    ],
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
    name: "graphs-unwritable",
    title: "Saving optimised graphs on EFS",
    provoke:
      "SD_OPTIMIZED_GRAPHS=save with tiny-sd (owned by 993:990) mounted read-only; then on a writable mount owned by the access point's user (993:990), a cold start that saves and a second one that uses",
    lambda: [
      {
        url: AWS.efsAccessPoints,
        says: "Access points can enforce a user identity, including the user's POSIX groups, for all file system requests that are made through the access point.",
      },
    ],
    sees: "read-only: the image from the exported graphs, and the model_loaded line's notes name each graph's path, uid 993, EROFS and the fix; writable: the first cold start saves all four, the next opens them, same image",
    async run(ctx) {
      const key = await hostGraphKey();
      // owned by the function's user, so only the read-only mount refuses the write
      const models = copyModels(ctx, "sd-lambda-graphs-ro-");
      walk(models, (path) => chownSync(path, 993, 990));
      const readOnly = await ctx.start({ modelsDir: models, environment: { SD_OPTIMIZED_GRAPHS: "save" } });
      const served = await readOnly.lambda.invoke(SMALL);
      ctx.check("read-only: the image is served", served.status === 200 && !functionError(served.body), true);
      const loaded = modelLoaded(readOnly.logs());
      ctx.check("read-only: parts opened from saved graphs", loaded.optimized_graphs, []);
      ctx.check(
        "read-only: the text encoder's note",
        (loaded.notes as string[] | undefined)?.[0],
        new RegExp(
          `^could not save an optimised graph at /mnt/fs/models/tiny-sd/text_encoder/optimized/${key}/model\\.onnx as uid 993: Error: EROFS: read-only file system, access '/mnt/fs/models/tiny-sd/text_encoder' — make the model folder writable for that user, or set SD_OPTIMIZED_GRAPHS=use$`,
        ),
      );
      const root = ctx.temp("sd-lambda-graphs-rw-");
      cpSync(TINY, join(root, "models/tiny-sd"), { recursive: true });
      walk(root, (path) => chownSync(path, 993, 990));
      chownSync(root, 993, 990);
      const saving = await ctx.start({
        mountDir: root,
        modelsDir: undefined,
        environment: { SD_OPTIMIZED_GRAPHS: "save" },
      });
      const first = await saving.lambda.invoke(SMALL);
      ctx.check(
        "writable: the first cold start saves and opens all four",
        modelLoaded(saving.logs()).optimized_graphs,
        ["text_encoder", "unet", "vae_decoder", "vae_encoder"],
      );
      const using = await ctx.start({ mountDir: root, modelsDir: undefined });
      const next = await using.lambda.invoke(SMALL);
      ctx.check("writable: the next cold start opens them", modelLoaded(using.logs()).optimized_graphs, [
        "text_encoder",
        "unet",
        "vae_decoder",
        "vae_encoder",
      ]);
      const image = (body: unknown) => (body as { image_base64?: string }).image_base64;
      ctx.check(
        "the same image both times",
        image(next.body) !== undefined && image(next.body) === image(first.body),
        true,
      );
    },
  },
  {
    name: "models-missing",
    title: "Models missing, wrong layout, no mount",
    provoke:
      "no mount at /mnt/fs; then a mounted folder that is empty, holds tiny-sd without unet/model.onnx, and holds two models",
    lambda: [
      {
        url: AWS.filesystem,
        says: "Local mount path – The location where the file system is mounted on the Lambda function, starting with /mnt/.",
      },
    ],
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
    name: "bad-requests",
    title: "Many bad requests, then a good one",
    provoke:
      "50 bad requests (missing prompt, bad sizes, unknown fields, invalid JSON bodies) between good ones",
    lambda: [
      {
        url: AWS.invoke,
        says: "The status code in the API response doesn't reflect function errors.",
      },
      {
        url: AWS.lifecycle,
        says: "After the function and all extensions have completed, Lambda maintains the execution environment for some time in anticipation of another function invocation.",
      },
    ],
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
];
