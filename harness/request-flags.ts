/**
 * The generation flags `generate` and `invoke` share, and the one mapping from them to the request
 * contract's snake_case object. Values are passed as given (numbers parsed, non-numbers kept) so the
 * request schema's error names the field and the value.
 */
import { readFile } from "node:fs/promises";

export const REQUEST_USAGE = `--prompt TEXT [--negative-prompt TEXT] [--seed N] [--steps N] [--guidance X]
  [--width W --height H] [--scheduler lms|pndm|euler|euler_a|ddim|dpmpp_2m|lcm]
  [--init-image FILE --strength X] [--mask FILE] [--format png|jpeg|webp]`;

export const REQUEST_OPTIONS = {
  prompt: { type: "string" },
  "negative-prompt": { type: "string" },
  seed: { type: "string" },
  steps: { type: "string" },
  guidance: { type: "string" },
  width: { type: "string" },
  height: { type: "string" },
  scheduler: { type: "string" },
  "init-image": { type: "string" },
  strength: { type: "string" },
  mask: { type: "string" },
  format: { type: "string" },
} as const;

export type RequestFlags = { [K in keyof typeof REQUEST_OPTIONS]?: string | undefined };

/** The request object the flags describe; image files are read and base64-encoded. */
export async function requestFromFlags(values: RequestFlags): Promise<Record<string, unknown>> {
  return {
    prompt: values.prompt,
    negative_prompt: values["negative-prompt"],
    seed: numberFlag(values.seed),
    num_inference_steps: numberFlag(values.steps),
    guidance_scale: numberFlag(values.guidance),
    width: numberFlag(values.width),
    height: numberFlag(values.height),
    scheduler: values.scheduler,
    init_image: values["init-image"] && (await readFile(values["init-image"])).toString("base64"),
    mask: values.mask && (await readFile(values.mask)).toString("base64"),
    strength: numberFlag(values.strength),
    output_format: values.format,
  };
}

function numberFlag(raw: string | undefined): number | string | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  return raw.trim() !== "" && Number.isFinite(n) ? n : raw;
}
