/**
 * The Lambda handler (Node.js 24 runtime). Init loads the native engine — a missing or too-new shared
 * library fails init with a message naming it — and starts loading the model without waiting for it
 * (Lambda caps init at 10 s); each invoke awaits that load, validates, checks the deadline before and
 * between steps, renders, guards the 6 MB response limit and logs one JSON line.
 */

import { type RuntimeConfig, runtimeConfig } from "./config.ts";
import { loadModel, type Model, resolveModelDir } from "./engine/model.ts";
import { ortVersion } from "./engine/ort.ts";
import { DeadlineError, ResponseTooLargeError, SdLambdaError } from "./errors.ts";
import { answer, errorAnswer, parseEvent, shapeOf } from "./events.ts";
import { render, roundTimings } from "./render.ts";
import { parseRequest } from "./request.ts";

export interface LambdaContext {
  readonly awsRequestId: string;
  getRemainingTimeInMillis(): number;
}

export type Handler = (event: unknown, context: LambdaContext) => Promise<unknown>;
/** Where the one JSON line per invoke (and per model load) goes. */
export type LogLine = (fields: Record<string, unknown>) => void;

/** One function instance's state: its configuration, its model (loaded once) and what it learnt while warm. */
interface Instance {
  readonly config: RuntimeConfig;
  readonly log: LogLine;
  readonly model: () => Promise<Model>;
  /** ms per UNet step by size and guidance (the last step measured), learnt while warm, to refuse work that cannot finish in time. */
  readonly stepMsBySize: Map<string, number>;
}

/**
 * A handler for `config`, starting its model load now (init) without awaiting it. Lambda uses the
 * module's `handler`; the golden gate builds one in-process with its own config and log.
 */
export function createHandler(config: RuntimeConfig, log: LogLine = logLine): Handler {
  let modelPromise: Promise<Model> | undefined;
  /** Starts (or restarts, after a failure) loading the model; warm invokes reuse the loaded sessions. */
  const model = (): Promise<Model> => {
    if (!modelPromise) {
      const started = performance.now();
      modelPromise = resolveModelDir(config.mntDir, config.modelName)
        .then((dir) => loadModel(dir, { threads: config.threads }))
        .then((m) => {
          log({
            event: "model_loaded",
            model: m.name,
            threads: m.threads,
            load_ms: Math.round(performance.now() - started),
          });
          return m;
        });
      modelPromise.catch(() => {
        modelPromise = undefined;
      });
    }
    return modelPromise;
  };
  model().catch(() => {
    // reported by the first invoke, which retries the load
  });
  const instance: Instance = { config, log, model, stepMsBySize: new Map() };
  return (event, context) => invoke(instance, event, context);
}

/** Time kept back for decode, encode and the response after the last step. */
const RESERVE_MS = 1500;

await ortVersion();
export const handler: Handler = createHandler(runtimeConfig());

async function invoke(instance: Instance, event: unknown, context: LambdaContext): Promise<unknown> {
  const { config, log, model, stepMsBySize } = instance;
  const started = performance.now();
  const shape = shapeOf(event);
  const record: Record<string, unknown> = { event: "invoke", request_id: context.awsRequestId, shape };
  try {
    const parsed = parseEvent(event, config.maxPayloadBytes);
    const request = parseRequest(parsed.body, config.limits);
    Object.assign(record, { prompt_chars: request.prompt.length, prompt: clip(request.prompt, 120) });
    const loaded = await model();
    const sizeKey = `${request.width ?? loaded.nativeWidth}x${request.height ?? loaded.nativeHeight}x${request.guidance_scale > 1 ? 2 : 1}`;
    const rendered = await render(loaded, request, {
      beforeStep: (remaining, meanMs) =>
        checkDeadline(context, remaining, meanMs ?? stepMsBySize.get(sizeKey), request.num_inference_steps),
      onStep: (s) => {
        if (s.index === s.total - 1) stepMsBySize.set(sizeKey, s.stepMs);
      },
    });
    Object.assign(record, {
      seed: rendered.seed,
      width: rendered.width,
      height: rendered.height,
      steps: rendered.steps,
      scheduler: rendered.scheduler,
      mode: rendered.mode,
      model: rendered.model,
      bytes: rendered.bytes.length,
      timings_ms: roundTimings(rendered.timings),
      warnings: rendered.warnings,
    });
    const response = answer(shape, rendered, parsed.wantsJson, context.awsRequestId);
    const size = Buffer.byteLength(JSON.stringify(response));
    if (size > config.maxPayloadBytes) {
      throw new ResponseTooLargeError(
        `the response would be ${size} bytes, over Lambda's ${config.maxPayloadBytes}-byte limit for synchronous invokes — ask for output_format "jpeg" or "webp", or a smaller width and height (now ${rendered.width}x${rendered.height})`,
        { bytes: size, limit: config.maxPayloadBytes },
      );
    }
    record.status = 200;
    return response;
  } catch (caught) {
    const error =
      caught instanceof SdLambdaError
        ? caught
        : new SdLambdaError("ENGINE", 500, `internal error: ${String(caught)}`, { cause: caught });
    Object.assign(record, { status: error.status, code: error.code, error: error.message });
    if (shape === "direct") throw error;
    return errorAnswer(shape, error, context.awsRequestId);
  } finally {
    record.duration_ms = Math.round(performance.now() - started);
    log(record);
  }
}

/** Refuses to start (or continue) work that the function's timeout would cut off. */
function checkDeadline(
  context: LambdaContext,
  remainingSteps: number,
  stepMs: number | undefined,
  totalSteps: number,
): void {
  if (stepMs === undefined) return;
  const left = context.getRemainingTimeInMillis();
  const needed = remainingSteps * stepMs + RESERVE_MS;
  if (needed <= left) return;
  const done = totalSteps - remainingSteps;
  const fit = done + Math.floor((left - RESERVE_MS) / stepMs);
  throw new DeadlineError(
    `${remainingSteps} steps left at ~${Math.round(stepMs)} ms each need ~${Math.round(needed)} ms but the function has ${left} ms before its timeout` +
      `${done > 0 ? ` (stopped after ${done} of ${totalSteps} steps)` : ""} — ${fit >= 1 ? `ask for at most ${fit} num_inference_steps or ` : ""}raise the function timeout`,
    { remaining_ms: left, needed_ms: Math.round(needed), step_ms: Math.round(stepMs) },
  );
}

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

function logLine(fields: Record<string, unknown>): void {
  console.log(JSON.stringify({ level: fields.status && fields.status !== 200 ? "warn" : "info", ...fields }));
}
