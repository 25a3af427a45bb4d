/**
 * Where golden cases run: `local` (the handler built in-process by createHandler, with the same event the
 * function receives), `emulator` (that event POSTed to the Runtime Interface Emulator) or `aws` (a
 * deployed function through @aws-sdk/client-lambda). Each returns the answer's image and its contract.
 */
import { existsSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, rm, symlink } from "node:fs/promises";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { InvokeCommand } from "@aws-sdk/client-lambda";
import type * as ConfigModule from "../../runtime/config.ts";
import type * as OrtModule from "../../runtime/engine/ort.ts";
import type * as HandlerModule from "../../runtime/handler.ts";
import { INVOKE_URL, ROOT } from "../emulator/stack.ts";
import { type Target as InvokeTarget, invoke, lambdaClient } from "../invoke/client.ts";
import type { GoldenCase } from "./cases.ts";
import { hostIsa } from "./fingerprint.ts";

export type TargetName = "local" | "emulator" | "aws";
export const TARGET_NAMES: readonly TargetName[] = ["local", "emulator", "aws"];

export interface RunResult {
  /** The encoded image the answer carries (PNG, JPEG or WebP). */
  readonly image: Buffer;
  /**
   * The answer without its image, timings and request id: content type, what the function resolved the
   * request to (direct), status, encoding and headers (function URL). Compared field by field.
   */
  readonly contract: Readonly<Record<string, unknown>>;
  /** The engine as the function itself reports it (its answer's `engine`), when it does. */
  readonly reported?: { readonly ortVersion: string; readonly threads: number };
}

/** The engine a target runs; null where the target cannot tell. */
export interface EngineInfo {
  readonly target: TargetName;
  readonly where: string;
  readonly ortVersion: string | null;
  readonly threads: number | null;
  readonly platform: string;
  readonly arch: string;
  /** onnxruntime's CPU kernel path (fingerprint.ts), null when the target cannot tell. */
  readonly isa: string | null;
}

export interface Target {
  readonly name: TargetName;
  engine(): Promise<EngineInfo>;
  run(c: GoldenCase, event: unknown): Promise<RunResult>;
  close(): Promise<void>;
}

export interface LocalOptions {
  /** Folders holding one folder per model, searched in order (default fixtures/models, fixtures/families). */
  readonly modelsDirs?: readonly string[];
  readonly threads?: number;
  /** A runtime/ folder to import instead of the project's (a scratch copy in tests). */
  readonly runtimeDir?: string;
}

export const DEFAULT_MODELS_DIRS = [join(ROOT, "fixtures/models"), join(ROOT, "fixtures/families")];

/**
 * In-process: one handler per model from createHandler (the function's own invoke path, config injected),
 * invoked with the event the emulator would receive. Importing handler.ts also builds the module's
 * default instance, whose model load from /mnt/fs fails quietly outside Lambda.
 */
export function localTarget(options: LocalOptions = {}): Target {
  const runtimeDir = options.runtimeDir ?? join(ROOT, "runtime");
  const threads = options.threads ?? availableParallelism();
  let loaded: Promise<RuntimeModules> | undefined;
  const modules = () => {
    loaded ??= importRuntime(runtimeDir);
    return loaded;
  };
  const handlers = new Map<string, HandlerModule.Handler>();
  let invokes = 0;
  /** A stand-in for the function's /mnt/fs: models/<name> links to the case's model folder. */
  let mnt: string | undefined;
  return {
    name: "local",
    async engine() {
      return {
        target: "local",
        where: runtimeDir === join(ROOT, "runtime") ? "in-process" : `in-process (${runtimeDir})`,
        ortVersion: await (await modules()).ort.ortVersion(),
        threads,
        platform: `${process.platform}-${process.arch}`,
        arch: process.arch,
        isa: hostIsa(),
      };
    },
    async run(c, event) {
      const m = await modules();
      let handler = handlers.get(c.model);
      if (!handler) {
        mnt ??= await mkdtemp(join(tmpdir(), "sd-lambda-golden-mnt-"));
        await mkdir(join(mnt, "models"), { recursive: true });
        await symlink(
          modelFolder(c.model, options.modelsDirs ?? DEFAULT_MODELS_DIRS),
          join(mnt, "models", c.model),
        );
        const env = { SD_MODEL: c.model, MNT_DIR: mnt, SD_THREADS: String(threads) };
        handler = m.handler.createHandler(m.config.runtimeConfig(env), () => {});
        handlers.set(c.model, handler);
      }
      const context = { awsRequestId: `golden-${++invokes}`, getRemainingTimeInMillis: () => 900_000 };
      let answer: unknown;
      try {
        answer = await handler(event, context);
      } catch (error) {
        // a direct invoke's error, as the runtime would serialise it
        const e = error as Error;
        answer = { errorType: e.name, errorMessage: e.message };
      }
      return readAnswer(c, answer);
    },
    async close() {
      // the handlers keep their sessions until the process ends, as a warm function does
      handlers.clear();
      if (mnt) await rm(mnt, { recursive: true, force: true });
    },
  };
}

function modelFolder(model: string, dirs: readonly string[]): string {
  const found = dirs.map((d) => join(d, model)).find((d) => existsSync(join(d, "model_index.json")));
  if (!found) throw new Error(`no model "${model}" (a folder with model_index.json) in ${dirs.join(" or ")}`);
  return found;
}

interface RuntimeModules {
  readonly config: typeof ConfigModule;
  readonly handler: typeof HandlerModule;
  readonly ort: typeof OrtModule;
}

async function importRuntime(dir: string): Promise<RuntimeModules> {
  return {
    config: (await import(join(dir, "config.ts"))) as typeof ConfigModule,
    handler: (await import(join(dir, "handler.ts"))) as typeof HandlerModule,
    ort: (await import(join(dir, "engine/ort.ts"))) as typeof OrtModule,
  };
}

export interface EmulatorOptions {
  /** The RIE (default http://localhost:9000); a full invoke URL works too. */
  readonly endpoint?: string;
  /** The function's threads when known (the sandbox that started it knows its memory). */
  readonly threads?: number;
  readonly timeoutS?: number;
}

export function emulatorTarget(options: EmulatorOptions = {}): Target {
  // the SDK client wants the RIE's origin; it adds /2015-03-31/functions/function/invocations itself
  const endpoint = new URL(options.endpoint ?? INVOKE_URL).origin;
  return invokeTarget(
    { kind: "local", endpoint },
    {
      target: "emulator",
      where: endpoint,
      ortVersion: stagedOrtVersion(),
      threads: options.threads ?? null,
      platform: "linux-x64",
      // the container runs on this machine's CPU
      arch: process.arch,
      isa: hostIsa(),
    },
    options.timeoutS ?? 300,
  );
}

export interface AwsOptions {
  readonly functionName: string;
  readonly region?: string;
  /** Client-side limit per invoke (default 900 s, Lambda's maximum timeout). */
  readonly timeoutS?: number;
}

export function awsTarget(options: AwsOptions): Target {
  const where = `${options.functionName}${options.region ? ` (${options.region})` : ""}`;
  return invokeTarget(
    { kind: "aws", functionName: options.functionName, region: options.region },
    { target: "aws", where, ortVersion: null, threads: null, platform: "linux-x64", arch: "x64", isa: null },
    options.timeoutS ?? 900,
  );
}

/** The emulator or a deployed function, through the invoke client `sd-lambda invoke` uses. */
function invokeTarget(target: InvokeTarget, engine: EngineInfo, timeoutS: number): Target {
  return {
    name: engine.target,
    async engine() {
      return engine;
    },
    async run(c, event) {
      if (c.event === "direct") {
        const invoked = await invoke(event as object, target, { timeoutS, dockerLogs: false });
        return readAnswer(c, invoked.result);
      }
      // a function URL answer is not a direct-invoke result, which the invoke client insists on
      const out = await lambdaClient(target).send(
        new InvokeCommand({
          FunctionName: target.kind === "aws" ? target.functionName : "function",
          Payload: Buffer.from(JSON.stringify(event)),
        }),
        { abortSignal: AbortSignal.timeout(timeoutS * 1000) },
      );
      return readAnswer(c, JSON.parse(new TextDecoder().decode(out.Payload ?? new Uint8Array())));
    },
    async close() {},
  };
}

/** The onnxruntime-node version staged into the function image (harness/emulator/stage-deps.sh). */
export function stagedOrtVersion(): string | null {
  for (const dir of [".cache/function/node_modules", "node_modules"]) {
    try {
      const pkg = JSON.parse(readFileSync(join(ROOT, dir, "onnxruntime-node/package.json"), "utf8"));
      return String(pkg.version);
    } catch {
      // try the next place
    }
  }
  return null;
}

function describeFunctionError(answer: unknown): string {
  const e = (answer ?? {}) as { errorType?: unknown; errorMessage?: unknown };
  return `${String(e.errorType ?? "Error")}: ${String(e.errorMessage ?? JSON.stringify(answer))}`;
}

/** Answer fields that change on every invoke or are the image itself, left out of the contract. */
const NOT_CONTRACT = new Set(["image_base64", "timings_ms", "request_id", "engine", "body", "server-timing"]);

const contractOf = (record: Record<string, unknown>) =>
  Object.fromEntries(
    Object.entries(record)
      .filter(([k, v]) => !NOT_CONTRACT.has(k) && v !== undefined)
      .sort(([a], [b]) => a.localeCompare(b)),
  );

/**
 * A direct invoke's JSON result (or the error object the runtime returns when the handler throws), or a
 * function URL response carrying the image: the image and the contract the golden records.
 */
export function readAnswer(c: Pick<GoldenCase, "event">, answer: unknown): RunResult {
  const a = (answer ?? {}) as Record<string, unknown>;
  if (typeof a.errorType === "string" || typeof a.errorMessage === "string")
    throw new Error(describeFunctionError(a));
  if (c.event === "function-url") {
    if (a.statusCode !== 200 || typeof a.body !== "string")
      throw new Error(`the function URL answer is ${String(a.statusCode)}: ${String(a.body).slice(0, 300)}`);
    const headers = contractOf((a.headers ?? {}) as Record<string, unknown>);
    return {
      image: Buffer.from(a.body, a.isBase64Encoded ? "base64" : "utf8"),
      contract: { statusCode: a.statusCode, isBase64Encoded: a.isBase64Encoded, headers },
    };
  }
  if (typeof a.image_base64 !== "string")
    throw new Error(`the answer has no image_base64 (fields: ${Object.keys(a).join(", ") || "none"})`);
  return {
    image: Buffer.from(a.image_base64, "base64"),
    contract: contractOf(a),
    ...reportedEngine(a.engine),
  };
}

function reportedEngine(engine: unknown): Pick<RunResult, "reported"> {
  const e = (engine ?? {}) as Record<string, unknown>;
  return typeof e.onnxruntime === "string" && typeof e.threads === "number"
    ? { reported: { ortVersion: e.onnxruntime, threads: e.threads } }
    : {};
}
