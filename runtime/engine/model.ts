/**
 * Finds and opens a Stable Diffusion model folder laid out as `optimum-cli export onnx` writes it, and
 * explains precisely what is wrong when it is not: which path, what was expected, and — for files that
 * exist but cannot be read — the mode, the owner and the uid the function runs as.
 */
import { readdir, readFile, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import { ModelError } from "../errors.ts";
import {
  detectFamily,
  type Family,
  type FamilyFacts,
  modelDefaults,
  parseSdLambdaJson,
  type SdLambdaJson,
} from "./family.ts";
import { checkScheduler, checkSessions } from "./model-checks.ts";
import {
  checkExternalData,
  checkReadable,
  exists,
  fileError,
  readJson,
  readOptionalJson,
} from "./model-files.ts";
import { findOptimizedGraph, hostGraphKey, savedGraphTuning, saveOptimizedGraph } from "./optimized-graph.ts";
import { OnnxSession } from "./ort.ts";
import type { SchedulerConfig } from "./schedulers/types.ts";
import { ClipTokenizer, type TokenizerJson } from "./tokenizer.ts";

export const MODEL_LAYOUT = [
  "model_index.json",
  "text_encoder/model.onnx",
  "unet/model.onnx",
  "vae_decoder/model.onnx",
  "tokenizer/tokenizer_config.json",
  "scheduler/scheduler_config.json",
] as const;
/** One of the two: the optimum export's tokenizer.json, or the Hub layout's vocab.json + merges.txt. */
export const TOKENIZER_FILES = [
  "tokenizer/tokenizer.json",
  "tokenizer/vocab.json + tokenizer/merges.txt",
] as const;
/** Needed only for img2img and inpainting. */
export const VAE_ENCODER = "vae_encoder/model.onnx";
const UNET = "unet/model.onnx";
/** The ONNX graphs a folder may hold, each opened as one session. */
export const SESSION_FILES = [
  "text_encoder/model.onnx",
  "unet/model.onnx",
  "vae_decoder/model.onnx",
  VAE_ENCODER,
] as const;
/** Optional per-model defaults (docs/decisions/model-defaults.md). */
export const SD_LAMBDA_JSON = "sd-lambda.json";

const LAYOUT_HINT = `expected the layout of optimum-cli export onnx: ${[...MODEL_LAYOUT, TOKENIZER_FILES.join(" or "), VAE_ENCODER].join(", ")}`;

export interface Model {
  readonly name: string;
  readonly dir: string;
  readonly tokenizer: ClipTokenizer;
  readonly textEncoder: OnnxSession;
  readonly unet: OnnxSession;
  readonly vaeDecoder: OnnxSession;
  readonly vaeEncoder: OnnxSession | undefined;
  readonly schedulerConfig: SchedulerConfig;
  /** Pixels per latent cell (8 for every SD 1.x/2.x VAE). */
  readonly vaeScaleFactor: number;
  /**
   * Width and height must be multiples of this: the VAE factor times the UNet's downsampling (an
   * exported UNet's upsample sizes are fixed at export, so other sizes fail inside the graph); 64 for SD 1.x.
   */
  readonly sizeMultiple: number;
  readonly vaeScalingFactor: number;
  readonly nativeWidth: number;
  readonly nativeHeight: number;
  readonly unetInChannels: number;
  readonly threads: number;
  /** model_index.json's `_class_name` and VAE class (AutoencoderKL, or AutoencoderTiny for TAESD). */
  readonly pipelineClass: string | undefined;
  readonly vaeClass: string | undefined;
  readonly family: Family;
  readonly facts: FamilyFacts;
  /** The folder's sd-lambda.json, checked; `{}` when absent. */
  readonly sdLambda: SdLambdaJson;
  /** The UNet's `timestep_cond` width (LCM's guidance embedding), when it has that input. */
  readonly timestepCondDim: number | undefined;
  /** Set when the exported UNet only takes one latent size: the image size it needs. */
  readonly fixedSize: { readonly width: number; readonly height: number } | undefined;
  /** The parts opened from a graph saved for this host (optimized-graph.ts), e.g. ["text_encoder", "unet"]. */
  readonly optimizedParts: readonly string[];
  /** Problems found at load that do not stop it (shown by `models check`, logged by the function). */
  readonly notes: readonly string[];
}

/**
 * Saved optimised graphs: "use" one made for this host when present (the default), "save" one first
 * when missing (needs a writable model folder; the load takes longer once), or "off".
 */
export type GraphMode = "use" | "save" | "off";

/** `$MNT_DIR/models/<SD_MODEL>`, or the only folder there when SD_MODEL is unset. */
export async function resolveModelDir(mntDir: string, name: string | undefined): Promise<string> {
  const modelsDir = join(mntDir, "models");
  if (name) return join(modelsDir, name);
  let entries: string[];
  try {
    entries = (await readdir(modelsDir, { withFileTypes: true }))
      .filter((e) => e.isDirectory())
      .map((e) => e.name);
  } catch (cause) {
    throw fileError(
      modelsDir,
      cause,
      `no models folder at ${modelsDir} — mount the EFS file system at ${mntDir} and put each model in ${modelsDir}/<name>/`,
    );
  }
  if (entries.length === 1) return join(modelsDir, entries[0] as string);
  throw new ModelError(
    "MODEL_NOT_FOUND",
    entries.length === 0
      ? `${modelsDir} holds no model folder — copy an optimum-cli ONNX export to ${modelsDir}/<name>/`
      : `${modelsDir} holds ${entries.length} models (${entries.sort().join(", ")}) — set SD_MODEL to one of them`,
    { details: { path: modelsDir, models: entries } },
  );
}

/** Frees the sessions' native memory (onnxruntime holds it outside the JS heap). */
export async function releaseModel(
  model: Pick<Model, "textEncoder" | "unet" | "vaeDecoder" | "vaeEncoder">,
): Promise<void> {
  await Promise.all(
    [model.textEncoder, model.unet, model.vaeDecoder, model.vaeEncoder].map((s) => s?.release()),
  );
}

export async function loadModel(
  dir: string,
  /** `defaultSteps`: SD_DEFAULT_STEPS when set; with the family, it says how often the default request runs the UNet. */
  options: { threads: number; graphs?: GraphMode; defaultSteps?: number },
): Promise<Model> {
  try {
    const info = await stat(dir);
    if (!info.isDirectory()) throw new Error("not a directory");
  } catch (cause) {
    throw fileError(dir, cause, `model folder ${dir} not found — ${LAYOUT_HINT}`);
  }
  for (const file of MODEL_LAYOUT) await checkReadable(join(dir, file), dir, LAYOUT_HINT);
  const hasEncoder = await exists(join(dir, VAE_ENCODER));
  if (hasEncoder) await checkReadable(join(dir, VAE_ENCODER), dir, LAYOUT_HINT);

  const tokenizer = await loadTokenizer(dir);
  const modelIndex = await readJson(join(dir, "model_index.json"));
  const schedulerConfig = (await readJson(join(dir, "scheduler/scheduler_config.json"))) as SchedulerConfig;
  const unetConfig = await readOptionalJson(join(dir, "unet/config.json"));
  const textConfig = await readOptionalJson(join(dir, "text_encoder/config.json"));
  if (typeof textConfig.vocab_size === "number" && textConfig.vocab_size < tokenizer.vocabSize) {
    // ids past the embedding fail inside the text encoder's Gather on the first request otherwise
    throw new ModelError(
      "MODEL_INVALID",
      `${join(dir, "tokenizer")} has ${tokenizer.vocabSize} tokens but ${join(dir, "text_encoder/config.json")} says vocab_size ${textConfig.vocab_size} — the tokenizer belongs to another model; copy the tokenizer folder of the pipeline the text encoder was exported from`,
      { details: { path: join(dir, "tokenizer") } },
    );
  }
  const vaeConfig = await readOptionalJson(join(dir, "vae_decoder/config.json"));
  const sdLambdaPath = join(dir, SD_LAMBDA_JSON);
  const sdLambda = parseSdLambdaJson((await exists(sdLambdaPath)) ? await readJson(sdLambdaPath) : {});
  if (typeof sdLambda === "string")
    throw new ModelError(
      "MODEL_INVALID",
      `${sdLambdaPath}: ${sdLambda} (see docs/decisions/model-defaults.md)`,
      {
        details: { path: sdLambdaPath },
      },
    );

  const graphs = options.graphs ?? "use";
  const key = graphs === "off" ? "" : await hostGraphKey();
  const optimizedParts: string[] = [];
  const graphNotes: string[] = [];
  const open = async (file: string) => {
    const path = join(dir, file);
    if (graphs !== "off") {
      const saved = await openSavedGraph(path, key, options.threads, graphs === "save", graphNotes);
      if (saved) {
        optimizedParts.push(file.split("/")[0] as string);
        return saved;
      }
    }
    try {
      return await OnnxSession.open(path, { threads: options.threads });
    } catch (error) {
      await checkExternalData(path);
      throw error;
    }
  };
  // one after the other: onnxruntime-node creates sessions synchronously, and saving graphs at once
  // would hold every part's optimised copy in memory together
  const sessions = {
    textEncoder: await open("text_encoder/model.onnx"),
    unet: await open(UNET),
    vaeDecoder: await open("vae_decoder/model.onnx"),
    vaeEncoder: hasEncoder ? await open(VAE_ENCODER) : undefined,
  };
  try {
    const shape = checkSessions(sessions, tokenizer.maxLength);
    const blocks = Array.isArray(vaeConfig.block_out_channels) ? vaeConfig.block_out_channels.length : 4;
    const vaeScaleFactor = 2 ** (blocks - 1);
    const sampleSize = unetConfig.sample_size;
    const native = (typeof sampleSize === "number" ? sampleSize : 64) * vaeScaleFactor;
    const downBlocks = Array.isArray(unetConfig.down_block_types) ? unetConfig.down_block_types.length : 4;
    const fixed = shape.fixedLatent && {
      width: shape.fixedLatent.width * vaeScaleFactor,
      height: shape.fixedLatent.height * vaeScaleFactor,
    };
    const vaeClass = componentClass(modelIndex.vae) ?? componentClass(modelIndex.vae_decoder);
    const facts: FamilyFacts = {
      pipelineClass: typeof modelIndex._class_name === "string" ? modelIndex._class_name : undefined,
      schedulerClass:
        typeof schedulerConfig._class_name === "string" ? schedulerConfig._class_name : undefined,
      schedulerConfig,
      unetInChannels: shape.unetInChannels,
      timestepCond: shape.timestepCondDim !== undefined,
      textHidden: shape.textHidden ?? 0,
      nativeWidth: fixed ? fixed.width : native,
      nativeHeight: fixed ? fixed.height : native,
    };
    const family = detectFamily(facts);
    checkScheduler(join(dir, "scheduler/scheduler_config.json"), facts, family, sdLambda);
    if (optimizedParts.includes("unet")) {
      const env = options.defaultSteps === undefined ? {} : { steps: options.defaultSteps };
      const unetRuns = modelDefaults(family, facts, "txt2img", { env, file: sdLambda }).steps.value;
      sessions.unet = await reopenUnet(sessions.unet, join(dir, UNET), unetRuns, options.threads, graphNotes);
    }
    return {
      name: dir.split("/").filter(Boolean).pop() ?? dir,
      dir,
      tokenizer,
      ...sessions,
      schedulerConfig,
      vaeScaleFactor,
      sizeMultiple: vaeScaleFactor * 2 ** (downBlocks - 1),
      // AutoencoderTiny (TAESD) defaults to 1.0, AutoencoderKL to SD's 0.18215
      vaeScalingFactor:
        typeof vaeConfig.scaling_factor === "number"
          ? vaeConfig.scaling_factor
          : vaeClass === "AutoencoderTiny"
            ? 1
            : 0.18215,
      nativeWidth: facts.nativeWidth,
      nativeHeight: facts.nativeHeight,
      unetInChannels: shape.unetInChannels,
      threads: options.threads,
      pipelineClass: facts.pipelineClass,
      vaeClass,
      family,
      facts,
      sdLambda,
      timestepCondDim: shape.timestepCondDim,
      fixedSize: fixed || undefined,
      optimizedParts,
      notes: [...shape.notes, ...graphNotes],
    };
  } catch (error) {
    await releaseModel(sessions);
    throw error;
  }
}

/**
 * The part's saved graph for this host, when there is a current one (or, with `save`, once one is saved);
 * undefined sends the caller to the exported graph. Nothing here stops a load: a stale, unloadable or
 * unsavable graph becomes a note that says what to do.
 */
async function openSavedGraph(
  modelFile: string,
  key: string,
  threads: number,
  save: boolean,
  notes: string[],
): Promise<OnnxSession | undefined> {
  let found = await findOptimizedGraph(modelFile, key);
  if (found.state === "stale")
    notes.push(`${found.path} is stale: ${found.why} — run sd-lambda models optimize again`);
  if (found.state !== "current" && save) {
    try {
      await saveOptimizedGraph(modelFile, key, threads);
      found = await findOptimizedGraph(modelFile, key);
    } catch (cause) {
      notes.push(
        `could not save an optimised graph at ${found.path} as uid ${process.getuid?.()}: ${String(cause).split("\n")[0]} — make the model folder writable for that user, or set SD_OPTIMIZED_GRAPHS=use`,
      );
    }
  }
  if (found.state !== "current") return undefined;
  try {
    return await OnnxSession.open(found.path, {
      threads,
      tuning: savedGraphTuning(modelFile),
    });
  } catch (cause) {
    notes.push(
      `${found.path} did not load (${String(cause).split("\n")[0]}), so ${modelFile} was opened instead — delete ${dirname(found.path)} and run sd-lambda models optimize again`,
    );
    return undefined;
  }
}

/**
 * The UNet's saved graph (`opened`, of the export `modelFile`) opened again for a model whose default
 * request runs it `unetRuns` times, when that asks for other settings than the first open's (prepacking:
 * savedGraphTuning); `opened` is released once its replacement is open, and kept, with a note, if that fails.
 */
async function reopenUnet(
  opened: OnnxSession,
  modelFile: string,
  unetRuns: number,
  threads: number,
  notes: string[],
): Promise<OnnxSession> {
  const tuning = savedGraphTuning(modelFile, unetRuns);
  if (JSON.stringify(tuning) === JSON.stringify(opened.tuning)) return opened;
  const path = opened.path;
  try {
    const reopened = await OnnxSession.open(path, { threads, tuning });
    await opened.release();
    return reopened;
  } catch (cause) {
    notes.push(
      `${path} did not open with its weights packed (${String(cause).split("\n")[0]}), so the UNet runs with them mapped — a little slower per step`,
    );
    return opened;
  }
}

/** model_index.json's `["diffusers", "AutoencoderKL"]` → "AutoencoderKL". */
function componentClass(entry: unknown): string | undefined {
  return Array.isArray(entry) && typeof entry[1] === "string" ? entry[1] : undefined;
}

/** tokenizer.json when present, else the Hub layout's vocab.json + merges.txt (+ special_tokens_map.json). */
async function loadTokenizer(dir: string): Promise<ClipTokenizer> {
  const file = (name: string) => join(dir, "tokenizer", name);
  const specialMap = (await exists(file("special_tokens_map.json")))
    ? await readJson(file("special_tokens_map.json"))
    : {};
  const tokenizerConfig = { ...specialMap, ...(await readJson(file("tokenizer_config.json"))) };
  const hasJson = await exists(file("tokenizer.json"));
  if (!hasJson) {
    for (const name of ["vocab.json", "merges.txt"]) await checkReadable(file(name), dir, LAYOUT_HINT);
  }
  const files = hasJson
    ? { tokenizerJson: (await readJson(file("tokenizer.json"))) as unknown as TokenizerJson, tokenizerConfig }
    : {
        vocab: (await readJson(file("vocab.json"))) as Record<string, number>,
        merges: await readFile(file("merges.txt"), "utf8").catch((cause: unknown) => {
          throw fileError(file("merges.txt"), cause, undefined);
        }),
        tokenizerConfig,
      };
  try {
    return new ClipTokenizer(files);
  } catch (cause) {
    throw new ModelError(
      "MODEL_INVALID",
      `${join(dir, "tokenizer")}: ${(cause as Error).message} — copy the tokenizer folder of the pipeline the model was exported from`,
      { cause, details: { path: join(dir, "tokenizer") } },
    );
  }
}
