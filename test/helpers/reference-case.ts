// A diffusers reference case (fixtures/generate/generate.py `case()`, written as case.json) and the
// engine's parameters for it, for the tests that replay one.
import type { GenerateParams } from "../../runtime/engine/pipeline.ts";
import type { SchedulerName } from "../../runtime/engine/schedulers/types.ts";

export interface ReferenceCase {
  name: string;
  pipeline: "txt2img" | "img2img" | "inpaint";
  scheduler: SchedulerName;
  prompt: string;
  negative_prompt: string | null;
  seed: number;
  num_inference_steps: number;
  guidance_scale: number;
  width: number;
  height: number;
  strength: number | null;
  init_image: string | null;
  mask: string | null;
  token_ids: { cond: number[]; uncond: number[] | null };
}

/** The case's request as generate() takes it, without its images (callers decode those at the case's size). */
export function caseParams(c: ReferenceCase): GenerateParams {
  return {
    prompt: c.prompt,
    negativePrompt: c.negative_prompt ?? undefined,
    seed: c.seed,
    steps: c.num_inference_steps,
    guidance: c.guidance_scale,
    width: c.width,
    height: c.height,
    scheduler: c.scheduler,
    strength: c.strength ?? undefined,
  };
}
