/**
 * Where golden cases run: `local` (in-process, the handler's own render path), `emulator` (a direct
 * invoke POSTed to the Runtime Interface Emulator) or `aws` (a deployed function through
 * @aws-sdk/client-lambda). Each returns the PNG and what the function resolved the request to.
 */
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import type * as ModelModule from "../../runtime/engine/model.ts";
import type * as OrtModule from "../../runtime/engine/ort.ts";
import type * as RenderModule from "../../runtime/render.ts";
import type * as RequestModule from "../../runtime/request.ts";
import { INVOKE_URL, ROOT } from "../emulator/stack.ts";
import { type Target as InvokeTarget, invoke } from "../invoke/client.ts";
import type { GoldenCase } from "./cases.ts";

export type TargetName = "local" | "emulator" | "aws";
export const TARGET_NAMES: readonly TargetName[] = ["local", "emulator", "aws"];

/** What the function resolved the request to (from its answer), recorded in the sidecar. */
// a type alias, not an interface: it is compared as a plain record (judge's engine fields)
export type Resolved = {
  readonly model: string;
  readonly mode: string;
  readonly scheduler: string;
  readonly steps: number;
  readonly guidance: number;
  readonly seed: number;
  readonly width: number;
  readonly height: number;
};

export interface RunResult {
  readonly png: Buffer;
  readonly resolved: Resolved;
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
}

export interface Target {
  readonly name: TargetName;
  engine(): Promise<EngineInfo>;
  run(c: GoldenCase, body: Record<string, unknown>): Promise<RunResult>;
  close(): Promise<void>;
}

export interface LocalOptions {
  /** Folder holding one folder per model (default fixtures/models). */
  readonly modelsDir?: string;
  readonly threads?: number;
  /** A runtime/ folder to import instead of the project's (a scratch copy in tests). */
  readonly runtimeDir?: string;
}

/** In-process: loadModel + parseRequest + render, exactly what the handler calls. */
export function localTarget(options: LocalOptions = {}): Target {
  const runtimeDir = options.runtimeDir ?? join(ROOT, "runtime");
  const modelsDir = options.modelsDir ?? join(ROOT, "fixtures/models");
  const threads = options.threads ?? availableParallelism();
  let loaded: Promise<RuntimeModules> | undefined;
  const modules = () => {
    loaded ??= importRuntime(runtimeDir);
    return loaded;
  };
  const models = new Map<string, Promise<ModelModule.Model>>();
  return {
    name: "local",
    async engine() {
      return {
        target: "local",
        where: runtimeDir === join(ROOT, "runtime") ? "in-process" : `in-process (${runtimeDir})`,
        ortVersion: await (await modules()).ort.ortVersion(),
        threads,
        platform: `${process.platform}-${process.arch}`,
      };
    },
    async run(c, body) {
      const m = await modules();
      let model = models.get(c.model);
      if (!model) {
        model = m.model.loadModel(join(modelsDir, c.model), { threads });
        models.set(c.model, model);
      }
      const request = m.request.parseRequest(body, m.request.DEFAULT_LIMITS);
      const r = await m.render.render(await model, request);
      return {
        png: r.bytes,
        resolved: {
          model: r.model,
          mode: r.mode,
          scheduler: r.scheduler,
          steps: r.steps,
          guidance: r.guidance,
          seed: r.seed,
          width: r.width,
          height: r.height,
        },
      };
    },
    async close() {
      for (const model of models.values()) {
        const loaded = await model.catch(() => undefined);
        if (loaded) await (await modules()).model.releaseModel(loaded);
      }
    },
  };
}

interface RuntimeModules {
  readonly model: typeof ModelModule;
  readonly ort: typeof OrtModule;
  readonly render: typeof RenderModule;
  readonly request: typeof RequestModule;
}

async function importRuntime(dir: string): Promise<RuntimeModules> {
  return {
    model: (await import(join(dir, "engine/model.ts"))) as typeof ModelModule,
    ort: (await import(join(dir, "engine/ort.ts"))) as typeof OrtModule,
    render: (await import(join(dir, "render.ts"))) as typeof RenderModule,
    request: (await import(join(dir, "request.ts"))) as typeof RequestModule,
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
    { target: "aws", where, ortVersion: null, threads: null, platform: "linux-x64" },
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
    async run(_c, body) {
      const invoked = await invoke(body, target, { timeoutS, dockerLogs: false });
      return fromDirectAnswer(invoked.result);
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

/** A direct invoke's JSON result, or the error object the runtime returns when the handler throws. */
export function fromDirectAnswer(answer: unknown): RunResult {
  const a = (answer ?? {}) as Record<string, unknown>;
  if (typeof a.errorType === "string" || typeof a.errorMessage === "string")
    throw new Error(describeFunctionError(a));
  if (typeof a.image_base64 !== "string")
    throw new Error(`the answer has no image_base64 (fields: ${Object.keys(a).join(", ") || "none"})`);
  return {
    png: Buffer.from(a.image_base64, "base64"),
    resolved: {
      model: String(a.model),
      mode: String(a.mode),
      scheduler: String(a.scheduler),
      steps: Number(a.num_inference_steps),
      guidance: Number(a.guidance_scale),
      seed: Number(a.seed),
      width: Number(a.width),
      height: Number(a.height),
    },
    ...reportedEngine(a.engine),
  };
}

function reportedEngine(engine: unknown): Pick<RunResult, "reported"> {
  const e = (engine ?? {}) as Record<string, unknown>;
  return typeof e.onnxruntime === "string" && typeof e.threads === "number"
    ? { reported: { ortVersion: e.onnxruntime, threads: e.threads } }
    : {};
}
