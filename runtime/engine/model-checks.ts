/**
 * Load-time checks: every input of every session is one the engine knows how to feed (name, dtype, rank),
 * the outputs it reads exist, the UNet and text encoder agree, and the scheduler config builds. Anything
 * else is a MODEL_INVALID at init naming the file, the input or key, and the fix — never a 500 per request.
 */
import { ModelError } from "../errors.ts";
import {
  type Family,
  type FamilyFacts,
  modelDefaults,
  pipelineRewrites,
  type SdLambdaJson,
} from "./family.ts";
import type { OnnxSession, TensorInfo } from "./ort.ts";
import { createScheduler } from "./schedulers/index.ts";

const FLOAT = ["float32", "float16"];

interface Feedable {
  readonly types: readonly string[];
  readonly ranks: readonly number[];
  readonly what: string;
}

/** The inputs the engine feeds, per session (optimum's names; older exporters' dtypes and ranks too). */
const FEEDS: Record<"textEncoder" | "unet" | "vaeDecoder" | "vaeEncoder", Record<string, Feedable>> = {
  textEncoder: { input_ids: { types: ["int32", "int64"], ranks: [2], what: "token ids [batch, 77]" } },
  unet: {
    sample: { types: FLOAT, ranks: [4], what: "latents [batch, 4 or 9, h, w]" },
    timestep: { types: [...FLOAT, "int64"], ranks: [0, 1], what: "the timestep, a scalar or [batch]" },
    encoder_hidden_states: { types: FLOAT, ranks: [3], what: "text embeddings [batch, 77, width]" },
    timestep_cond: { types: FLOAT, ranks: [2], what: "LCM's guidance embedding [batch, time_cond_proj_dim]" },
  },
  vaeDecoder: { latent_sample: { types: FLOAT, ranks: [4], what: "latents [batch, 4, h, w]" } },
  vaeEncoder: { sample: { types: FLOAT, ranks: [4], what: "an image [batch, 3, H, W]" } },
};

const OUTPUTS: Record<keyof typeof FEEDS, readonly string[]> = {
  textEncoder: ["last_hidden_state"],
  unet: ["out_sample"],
  vaeDecoder: ["sample"],
  vaeEncoder: ["latent_parameters", "latent_sample"],
};

const FIX = "re-export the model with optimum-cli export onnx (see the README's model families)";

export interface SessionShape {
  readonly unetInChannels: number;
  readonly textHidden: number | undefined;
  readonly timestepCondDim: number | undefined;
  readonly fixedLatent: { readonly width: number; readonly height: number } | undefined;
  readonly notes: string[];
}

export function checkSessions(
  sessions: Record<keyof typeof FEEDS, OnnxSession | undefined>,
  maxLength: number,
): SessionShape {
  for (const [key, session] of Object.entries(sessions) as [keyof typeof FEEDS, OnnxSession | undefined][]) {
    if (!session) continue;
    for (const input of session.inputs) {
      const want = FEEDS[key][input.name];
      if (!want) {
        throw invalid(
          session,
          `has input ${show(input)} that the engine does not feed (it feeds ${Object.keys(FEEDS[key]).join(", ")}) — ${FIX}`,
        );
      }
      if (!want.types.includes(input.type) || !want.ranks.includes(input.shape.length)) {
        throw invalid(
          session,
          `input ${show(input)} is not ${want.what} as ${want.types.join("/")} of rank ${want.ranks.join(" or ")} — ${FIX}`,
        );
      }
    }
    for (const name of Object.keys(FEEDS[key])) {
      if (name !== "timestep_cond" && !session.inputs.some((i) => i.name === name))
        throw invalid(
          session,
          `has no input "${name}" (inputs: ${session.inputs.map(show).join(", ")}) — ${FIX}`,
        );
    }
    if (!session.outputs.some((o) => OUTPUTS[key].includes(o.name)))
      throw invalid(
        session,
        `has no output ${OUTPUTS[key].join(" or ")} (outputs: ${session.outputs.map(show).join(", ")}) — ${FIX}`,
      );
  }
  const { textEncoder, unet } = sessions;
  const notes: string[] = [];
  const sample = unet?.inputs.find((i) => i.name === "sample");
  const channels = sample?.shape[1];
  const unetInChannels = typeof channels === "number" ? channels : 4;
  if (unet && unetInChannels !== 4 && unetInChannels !== 9)
    throw invalid(
      unet,
      `takes ${unetInChannels} latent channels; only 4 (text-to-image) and 9 (inpainting) are supported`,
    );
  const seq = textEncoder?.inputs.find((i) => i.name === "input_ids")?.shape[1];
  if (textEncoder && typeof seq === "number" && seq !== maxLength)
    throw invalid(
      textEncoder,
      `takes ${seq} tokens but tokenizer_config.json's model_max_length is ${maxLength}`,
    );
  const textOut = textEncoder?.outputs.find((o) => o.name === "last_hidden_state")?.shape[2];
  const unetText = unet?.inputs.find((i) => i.name === "encoder_hidden_states")?.shape[2];
  if (unet && typeof textOut === "number" && typeof unetText === "number" && textOut !== unetText)
    throw invalid(
      unet,
      `expects text embeddings ${unetText} wide but text_encoder/model.onnx gives ${textOut} — the two come from different models`,
    );
  const cond = unet?.inputs.find((i) => i.name === "timestep_cond");
  const condDim = cond?.shape[1];
  if (cond && typeof condDim !== "number")
    throw invalid(
      unet as OnnxSession,
      `input ${show(cond)} has no fixed width (time_cond_proj_dim) — ${FIX}`,
    );
  const h = sample?.shape[2];
  const w = sample?.shape[3];
  const fixedLatent = typeof h === "number" && typeof w === "number" ? { width: w, height: h } : undefined;
  if (fixedLatent) notes.push(`the UNet was exported for ${w}x${h} latents only`);
  return {
    unetInChannels,
    textHidden: typeof textOut === "number" ? textOut : typeof unetText === "number" ? unetText : undefined,
    timestepCondDim: typeof condDim === "number" ? condDim : undefined,
    fixedLatent,
    notes,
  };
}

/**
 * Builds the default scheduler (and sd-lambda.json's) from the config, as every request would: an
 * unsupported key (rescale_betas_zero_snr, thresholding, an unknown spacing) fails here, naming it.
 */
export function checkScheduler(path: string, facts: FamilyFacts, family: Family, file: SdLambdaJson): void {
  const modes =
    family.name === "sd-inpaint"
      ? (["inpaint"] as const)
      : family.name === "lcm"
        ? (["txt2img"] as const)
        : (["txt2img", "img2img"] as const);
  for (const mode of modes) {
    const name = modelDefaults(family, facts, mode, { file }).scheduler.value;
    const { config } = pipelineRewrites(name, facts.schedulerConfig, mode, family.name);
    try {
      createScheduler(name, config, 1);
    } catch (cause) {
      throw new ModelError(
        "MODEL_INVALID",
        `${path}: ${(cause as Error).message} — remove the key or set it to the supported value; the engine implements diffusers' schedulers without it`,
        { cause, details: { path } },
      );
    }
  }
}

function invalid(session: OnnxSession, text: string): ModelError {
  return new ModelError("MODEL_INVALID", `${session.path} ${text}`, { details: { path: session.path } });
}

function show(i: TensorInfo): string {
  return `${i.name}: ${i.type}[${i.shape.join(",")}]`;
}
