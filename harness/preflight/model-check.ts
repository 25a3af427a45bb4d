/**
 * Loads a model folder in-process exactly as the function does (every load-time check included) and
 * reports its family, the defaults it gets and why, each session's inputs and the sizes it takes — or
 * the problem, in the words the function would use. Shared by `models check` and `preflight --model`.
 */
import { modelDefaults, pipelineRewrites } from "../../runtime/engine/family.ts";
import { loadModel, type Model, releaseModel } from "../../runtime/engine/model.ts";
import { SdLambdaError } from "../../runtime/errors.ts";
import type { Check } from "./checks.ts";

export interface ModelReport {
  readonly dir: string;
  readonly ok: boolean;
  readonly problem?: { readonly code: string; readonly message: string };
  readonly family?: { readonly name: string; readonly why: string };
  readonly pipeline?: string | undefined;
  readonly vae?: string | undefined;
  readonly defaults?: Record<string, Record<string, { value: number | string; reason: string }>>;
  readonly inputs?: Record<string, string[]>;
  readonly sizes?: { readonly multiple: number; readonly native: string; readonly fixed: string | null };
  /** Whether the default request runs classifier-free guidance (two UNet passes per step). */
  readonly cfg?: boolean;
  readonly memory_mb?: number;
  /** The parts this machine opens from graphs `models optimize` saved for it. */
  readonly optimized_parts?: readonly string[];
  readonly notes?: readonly string[];
}

/** Everything `models check` reports but the memory estimate; preflight --model runs it too. */
export async function checkModel(dir: string): Promise<ModelReport> {
  let model: Model;
  try {
    model = await loadModel(dir, { threads: 1 });
  } catch (error) {
    if (!(error instanceof SdLambdaError)) throw error;
    return { dir, ok: false, problem: { code: error.code, message: error.message } };
  }
  try {
    const modes =
      model.family.name === "sd-inpaint"
        ? (["inpaint"] as const)
        : model.family.name === "lcm"
          ? (["txt2img"] as const)
          : (["txt2img", "img2img", "inpaint"] as const);
    const rewrites = new Set<string>();
    const defaults = Object.fromEntries(
      modes.map((mode) => {
        const d = modelDefaults(model.family, model.facts, mode, { file: model.sdLambda });
        const rewritten = pipelineRewrites(d.scheduler.value, model.schedulerConfig, mode, model.family.name);
        for (const w of rewritten.warnings) rewrites.add(`${mode}: ${w}`);
        return [
          mode,
          {
            scheduler: d.scheduler,
            num_inference_steps: d.steps,
            guidance_scale: d.guidance,
            width: d.width,
            height: d.height,
            ...(mode === "txt2img" ? {} : { strength: d.strength }),
          },
        ];
      }),
    );
    const sessions = {
      text_encoder: model.textEncoder,
      unet: model.unet,
      vae_decoder: model.vaeDecoder,
      vae_encoder: model.vaeEncoder,
    };
    const inputs = Object.fromEntries(
      Object.entries(sessions)
        .filter(([, s]) => s)
        .map(([k, s]) => [k, (s?.inputs ?? []).map((i) => `${i.name}: ${i.type}[${i.shape.join(",")}]`)]),
    );
    const txt = defaults.txt2img ?? defaults.inpaint;
    return {
      dir,
      ok: true,
      family: model.family,
      pipeline: model.pipelineClass,
      vae: model.vaeClass,
      defaults,
      inputs,
      sizes: {
        multiple: model.sizeMultiple,
        native: `${model.nativeWidth}x${model.nativeHeight}`,
        fixed: model.fixedSize ? `${model.fixedSize.width}x${model.fixedSize.height}` : null,
      },
      cfg: Number(txt?.guidance_scale.value) > 1 && model.timestepCondDim === undefined,
      optimized_parts: model.optimizedParts,
      notes: [...model.notes, ...rewrites],
    };
  } finally {
    await releaseModel(model);
  }
}

/** The model check as one preflight line. */
export function modelCheck(report: ModelReport): Check {
  return report.ok
    ? {
        name: "model",
        status: "pass",
        summary: `${report.dir} loads as ${report.family?.name} (${report.family?.why})`,
        details: [...(report.notes ?? [])],
      }
    : {
        name: "model",
        status: "fail",
        summary: `${report.dir} cannot be served: ${report.problem?.code} ${report.problem?.message}`,
        details: [],
      };
}
