/**
 * The request contract (snake_case like the seed article's client): one zod schema, limits from the
 * environment, and errors that name the field, the value and the limit.
 */
import { z } from "zod";
import { MAX_SEED } from "./engine/random.ts";
import { SCHEDULER_NAMES } from "./engine/schedulers/types.ts";
import { BadRequestError } from "./errors.ts";

export interface Limits {
  readonly maxSteps: number;
  readonly maxPixels: number;
  readonly maxSide: number;
  readonly maxPromptChars: number;
  readonly maxGuidance: number;
  /** Operator defaults, set only by SD_DEFAULT_*; otherwise the model's family decides (engine/family.ts). */
  readonly defaultSteps?: number;
  readonly defaultGuidance?: number;
  readonly defaultStrength?: number;
}

export const DEFAULT_LIMITS: Limits = {
  maxSteps: 100,
  maxPixels: 1024 * 1024,
  maxSide: 2048,
  maxPromptChars: 2000,
  maxGuidance: 30,
};

const ENV_KEYS: Record<keyof Required<Limits>, string> = {
  maxSteps: "SD_MAX_STEPS",
  maxPixels: "SD_MAX_PIXELS",
  maxSide: "SD_MAX_SIDE",
  maxPromptChars: "SD_MAX_PROMPT_CHARS",
  maxGuidance: "SD_MAX_GUIDANCE",
  defaultSteps: "SD_DEFAULT_STEPS",
  defaultGuidance: "SD_DEFAULT_GUIDANCE",
  defaultStrength: "SD_DEFAULT_STRENGTH",
};

/** Limits with each SD_* variable that is set overriding its default; a malformed one is a config error. */
export function limitsFromEnv(env: Readonly<Record<string, string | undefined>>): Limits {
  const limits: Record<string, number> = { ...DEFAULT_LIMITS };
  for (const [key, name] of Object.entries(ENV_KEYS)) {
    const raw = env[name];
    if (raw === undefined || raw === "") continue;
    const value = Number(raw);
    if (!Number.isFinite(value) || value <= 0) throw new Error(`${name}=${raw} is not a positive number`);
    limits[key] = value;
  }
  return limits as unknown as Limits;
}

export const OUTPUT_FORMATS = ["png", "jpeg", "webp"] as const;

export function requestSchema(limits: Limits) {
  const side = (field: string) =>
    z
      .number({ error: `${field} must be a number` })
      .int({ error: `${field} must be an integer` })
      .min(8, { error: `${field} must be at least 8` })
      .max(limits.maxSide, { error: `${field} must be at most ${limits.maxSide}` })
      .refine((v) => v % 8 === 0, { error: `${field} must be a multiple of 8` });
  return z
    .object({
      prompt: z
        .string({ error: "prompt is required and must be a string" })
        .refine((s) => s.trim().length > 0, { error: "prompt must not be empty" })
        .refine((s) => s.length <= limits.maxPromptChars, {
          error: `prompt must be at most ${limits.maxPromptChars} characters`,
        }),
      negative_prompt: z
        .string({ error: "negative_prompt must be a string" })
        .max(limits.maxPromptChars, {
          error: `negative_prompt must be at most ${limits.maxPromptChars} characters`,
        })
        .optional(),
      seed: z
        .number({ error: "seed must be a number" })
        .int({ error: "seed must be an integer" })
        .min(0, { error: `seed must be from 0 to ${MAX_SEED}` })
        .max(MAX_SEED, { error: `seed must be from 0 to ${MAX_SEED}` })
        .optional(),
      num_inference_steps: z
        .number({ error: "num_inference_steps must be a number" })
        .int({ error: "num_inference_steps must be an integer" })
        .min(1, { error: `num_inference_steps must be from 1 to ${limits.maxSteps}` })
        .max(limits.maxSteps, { error: `num_inference_steps must be from 1 to ${limits.maxSteps}` })
        .optional(),
      guidance_scale: z
        .number({ error: "guidance_scale must be a number" })
        .min(0, { error: `guidance_scale must be from 0 to ${limits.maxGuidance}` })
        .max(limits.maxGuidance, { error: `guidance_scale must be from 0 to ${limits.maxGuidance}` })
        .optional(),
      width: side("width").optional(),
      height: side("height").optional(),
      scheduler: z
        .enum(SCHEDULER_NAMES, { error: `scheduler must be one of ${SCHEDULER_NAMES.join(", ")}` })
        .optional(),
      init_image: z.string({ error: "init_image must be a base64 string" }).optional(),
      mask: z.string({ error: "mask must be a base64 string" }).optional(),
      strength: z
        .number({ error: "strength must be a number" })
        .gt(0, { error: "strength must be greater than 0 and at most 1" })
        .max(1, { error: "strength must be greater than 0 and at most 1" })
        .optional(),
      output_format: z
        .enum(OUTPUT_FORMATS, { error: `output_format must be one of ${OUTPUT_FORMATS.join(", ")}` })
        .default("png"),
    })
    .strict()
    .superRefine((r, ctx) => {
      if (r.mask !== undefined && r.init_image === undefined) {
        ctx.addIssue({
          code: "custom",
          path: ["mask"],
          message: "mask needs init_image (inpainting repaints the masked part of init_image)",
        });
      }
      if (r.strength !== undefined && r.init_image === undefined) {
        ctx.addIssue({
          code: "custom",
          path: ["strength"],
          message: "strength applies only with init_image (img2img or inpainting)",
        });
      }
      const w = r.width ?? 0;
      const h = r.height ?? 0;
      if (w * h > limits.maxPixels) {
        ctx.addIssue({
          code: "custom",
          path: ["width"],
          message: `width × height must be at most ${limits.maxPixels} pixels, got ${w}x${h} = ${w * h}`,
        });
      }
    });
}

export type SdRequest = z.output<ReturnType<typeof requestSchema>>;

const schemas = new WeakMap<Limits, ReturnType<typeof requestSchema>>();
/** One schema per limits object: built once while warm, not per request. */
function schemaFor(limits: Limits): ReturnType<typeof requestSchema> {
  let schema = schemas.get(limits);
  if (!schema) {
    schema = requestSchema(limits);
    schemas.set(limits, schema);
  }
  return schema;
}

/** Validates a parsed JSON body; the first problem becomes a BadRequestError naming field, value and limit. */
export function parseRequest(body: unknown, limits: Limits): SdRequest {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new BadRequestError(
      `request body must be a JSON object, got ${body === null ? "null" : Array.isArray(body) ? "an array" : typeof body}`,
    );
  }
  const schema = schemaFor(limits);
  const result = schema.safeParse(body, { reportInput: true });
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  if (!issue) throw new BadRequestError("invalid request");
  const field = issue.path.join(".");
  if (issue.code === "unrecognized_keys") {
    throw new BadRequestError(
      `unknown field ${issue.keys.map((k) => JSON.stringify(k)).join(", ")}; known fields: ${Object.keys(schema.shape).join(", ")}`,
      {
        fields: issue.keys,
      },
    );
  }
  const value = field ? (body as Record<string, unknown>)[issue.path[0] as string] : undefined;
  const shown = value === undefined ? "" : `, got ${describeValue(value)}`;
  throw new BadRequestError(
    `${issue.message}${issue.code === "custom" && issue.message.includes("got ") ? "" : shown}`,
    { field, value: typeof value === "string" && value.length > 80 ? `${value.slice(0, 80)}…` : value },
  );
}

function describeValue(value: unknown): string {
  if (typeof value === "string")
    return value.length > 80 ? `a string of ${value.length} characters` : JSON.stringify(value);
  return JSON.stringify(value) ?? String(value);
}
