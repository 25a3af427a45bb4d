/**
 * The Lambda handler (Node.js 24 runtime). Init reads the configuration (a malformed SD_* value fails
 * it with a ConfigError), loads the native engine — a missing or too-new shared library fails init
 * with a message naming it — and starts loading the model without waiting for it (Lambda caps init at
 * 10 s; with provisioned concurrency init awaits it). Each invoke checks the envelope and the request,
 * awaits the load against the deadline, resolves the plan, renders with the deadline guard between
 * steps, guards the 6 MB response limit and logs one clipped JSON line.
 */

import { clipForLog, clipText } from "./clip.ts";
import { type RuntimeConfig, runtimeConfig } from "./config.ts";
import { awaitLoad, Deadline, folderBytes, LoadWatch, modelCost, TimingMemory } from "./deadline.ts";
import { loadModel, type Model, resolveModelDir } from "./engine/model.ts";
import { ortVersion } from "./engine/ort.ts";
import { ResponseTooLargeError, SdLambdaError } from "./errors.ts";
import { answer, errorAnswer, parseEvent, shapeOf } from "./events.ts";
import { renderPlan, resolvePlan, roundTimings } from "./render.ts";
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
  readonly loadWatch: () => LoadWatch | undefined;
  readonly timing: TimingMemory;
}

/**
 * A handler for `config`, starting its model load now (init) without awaiting it (`initialLoad` settles
 * when it ends). Lambda uses the module's `handler`; the golden gate builds one in-process with its own
 * config and log.
 */
export function createHandler(
  config: RuntimeConfig,
  log: LogLine = logLine,
): Handler & { readonly initialLoad: Promise<void> } {
  let modelPromise: Promise<Model> | undefined;
  let loadWatch: LoadWatch | undefined;
  /** Starts (or restarts, after a failure) loading the model; warm invokes reuse the loaded sessions. */
  const model = (): Promise<Model> => {
    if (!modelPromise) {
      const started = performance.now();
      modelPromise = resolveModelDir(config.mntDir, config.modelName)
        .then((dir) => {
          const watch = new LoadWatch(dir);
          loadWatch = watch;
          void folderBytes(dir).then((bytes) => {
            watch.folderBytes = bytes;
          });
          return loadModel(dir, {
            threads: config.threads,
            graphs: config.graphs,
            defaultSteps: config.limits.defaultSteps,
          });
        })
        .then((m) => {
          log({
            event: "model_loaded",
            model: m.name,
            family: m.family.name,
            threads: m.threads,
            optimized_graphs: m.optimizedParts,
            ...(m.notes.length > 0 ? { notes: m.notes } : {}),
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
  const initialLoad = model().then(
    () => undefined,
    () => {
      // reported by the first invoke, which retries the load
    },
  );
  const instance: Instance = { config, log, model, loadWatch: () => loadWatch, timing: new TimingMemory() };
  return Object.assign((event: unknown, context: LambdaContext) => invoke(instance, event, context), {
    initialLoad,
  });
}

const config = runtimeConfig();
await ortVersion();
const instance = createHandler(config);
if (config.awaitLoadInInit) await instance.initialLoad;
export const handler: Handler = instance;

async function invoke(instance: Instance, event: unknown, context: LambdaContext): Promise<unknown> {
  const { config, log, model, timing } = instance;
  const started = performance.now();
  const shape = shapeOf(event);
  const record: Record<string, unknown> = { event: "invoke", request_id: context.awsRequestId, shape };
  const remainingMs = () => context.getRemainingTimeInMillis();
  try {
    const parsed = parseEvent(event, config.maxPayloadBytes);
    const request = parseRequest(parsed.body, config.limits);
    Object.assign(record, { prompt_chars: request.prompt.length, prompt: clipText(request.prompt, 120) });
    const loaded = await awaitLoad(model(), remainingMs, instance.loadWatch);
    const plan = await resolvePlan(loaded, request, config.limits);
    const deadline = new Deadline(remainingMs, timing, await modelCost(loaded), plan);
    const rendered = await renderPlan(loaded, plan, deadline.hooks);
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
      defaults: rendered.defaults,
    });
    const response = answer(shape, rendered, parsed.wantsJson, context.awsRequestId);
    const size = Buffer.byteLength(JSON.stringify(response));
    deadline.finished();
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
        : new SdLambdaError("ENGINE", 500, `internal error: ${clipText(String(caught), 300)}`, {
            cause: caught,
          });
    Object.assign(record, { status: error.status, code: error.code, error: error.message });
    if (shape === "direct") throw error;
    return errorAnswer(shape, error, context.awsRequestId);
  } finally {
    record.duration_ms = Math.round(performance.now() - started);
    log(record);
  }
}

/** One JSON line per event, every value clipped (no image data, no unbounded input). */
function logLine(fields: Record<string, unknown>): void {
  const level = fields.status && fields.status !== 200 ? "warn" : "info";
  console.log(JSON.stringify(clipForLog({ level, ...fields })));
}
