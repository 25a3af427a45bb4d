/**
 * The request contract (snake_case like the seed article's client): one zod schema, limits from the
 * environment, and errors that name the field, the value and the limit.
 */
import { z } from "zod";
import { describeValue, listClipped } from "./clip.ts";
import { MAX_SEED } from "./engine/random.ts";
import { SCHEDULER_NAMES } from "./engine/schedulers/types.ts";
import { BadRequestError, ConfigError } from "./errors.ts";

export interface Limits {
  readonly maxSteps: number;
  readonly maxPixels: number;
  readonly maxSide: number;
  readonly maxPromptChars: number;
  readonly maxGuidance: number;
  readonly defaultSteps: number;
  readonly defaultGuidance: number;
  readonly defaultStrength: number;
}

export const DEFAULT_LIMITS: Limits = {
  maxSteps: 100,
  maxPixels: 1024 * 1024,
  maxSide: 2048,
  maxPromptChars: 2000,
  maxGuidance: 30,
  // the seed article's engine defaults
  defaultSteps: 32,
  defaultGuidance: 7.5,
  defaultStrength: 0.5,
};

const ENV_KEYS: Record<keyof Limits, string> = {
  maxSteps: "SD_MAX_STEPS",
  maxPixels: "SD_MAX_PIXELS",
  maxSide: "SD_MAX_SIDE",
  maxPromptChars: "SD_MAX_PROMPT_CHARS",
  maxGuidance: "SD_MAX_GUIDANCE",
  defaultSteps: "SD_DEFAULT_STEPS",
  defaultGuidance: "SD_DEFAULT_GUIDANCE",
  defaultStrength: "SD_DEFAULT_STRENGTH",
};

type Rule = { readonly ok: (v: number, l: Limits) => boolean; readonly allowed: (l: Limits) => string };
const positiveInteger: Rule = {
  ok: (v) => Number.isInteger(v) && v >= 1,
  allowed: () => "a whole number ≥ 1",
};
/** What each variable may hold; defaults are checked against the limits they must respect (read first). */
const RULES: Record<keyof Limits, Rule> = {
  maxSteps: positiveInteger,
  maxPixels: { ok: (v) => Number.isInteger(v) && v >= 64, allowed: () => "a whole number ≥ 64" },
  maxSide: { ok: (v) => Number.isInteger(v) && v >= 8 && v % 8 === 0, allowed: () => "a multiple of 8, ≥ 8" },
  maxPromptChars: positiveInteger,
  maxGuidance: { ok: (v) => v >= 0, allowed: () => "a number ≥ 0" },
  defaultSteps: {
    ok: (v, l) => Number.isInteger(v) && v >= 1 && v <= l.maxSteps,
    allowed: (l) => `a whole number from 1 to ${l.maxSteps} (SD_MAX_STEPS)`,
  },
  defaultGuidance: {
    ok: (v, l) => v >= 0 && v <= l.maxGuidance,
    allowed: (l) => `a number from 0 to ${l.maxGuidance} (SD_MAX_GUIDANCE)`,
  },
  defaultStrength: { ok: (v) => v > 0 && v <= 1, allowed: () => "a number greater than 0 and at most 1" },
};

/**
 * Limits with each SD_* variable that is set overriding its default. A malformed value fails init with
 * a ConfigError naming the variable, the value and what is allowed (a typo must not become a silent default).
 */
export function limitsFromEnv(env: Readonly<Record<string, string | undefined>>): Limits {
  const limits: Record<string, number> = { ...DEFAULT_LIMITS };
  for (const [key, name] of Object.entries(ENV_KEYS) as [keyof Limits, string][]) {
    const raw = env[name];
    if (raw === undefined || raw === "") continue;
    const value = raw.trim() === "" ? Number.NaN : Number(raw);
    const rule = RULES[key];
    if (!Number.isFinite(value) || !rule.ok(value, limits as unknown as Limits))
      throw new ConfigError(name, raw, rule.allowed(limits as unknown as Limits));
    limits[key] = value;
  }
  return limits as unknown as Limits;
}

/**
 * The size limits, applied to the size that will be rendered whatever set it (the request, the init
 * image or the model's default); `origin` says which, so the message names what to change.
 */
export function checkSize(width: number, height: number, limits: Limits, origin: string): void {
  for (const [field, v] of [
    ["width", width],
    ["height", height],
  ] as const) {
    if (v > limits.maxSide)
      throw new BadRequestError(
        `${field} must be at most ${limits.maxSide} (SD_MAX_SIDE), got ${v}${origin}`,
        {
          field,
          value: v,
          limit: limits.maxSide,
        },
      );
  }
  if (width * height > limits.maxPixels) {
    throw new BadRequestError(
      `width × height must be at most ${limits.maxPixels} pixels, got ${width}x${height} = ${width * height}${origin}`,
      { field: "width", value: width * height, limit: limits.maxPixels },
    );
  }
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
        .optional(),
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

/**
 * Validates a parsed JSON body (or a direct invoke's object); the first problem becomes a
 * BadRequestError naming field, value (described, never walked into) and limit. Omitted fields stay
 * undefined: render.ts resolvePlan() fills them from the model and the environment.
 */
export function parseRequest(body: unknown, limits: Limits): SdRequest {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new BadRequestError(
      `request body must be a JSON object, got ${body === null ? "null" : Array.isArray(body) ? "an array" : describeValue(body)}`,
      { field: "body" },
    );
  }
  const schema = schemaFor(limits);
  const result = schema.safeParse(body);
  if (result.success) {
    const r = result.data;
    // one side alone is checked once the other is known (render.ts resolvePlan): it never counts as 0
    if (r.width !== undefined && r.height !== undefined) checkSize(r.width, r.height, limits, "");
    return r;
  }
  const issue = result.error.issues[0];
  if (!issue) throw new BadRequestError("invalid request");
  const field = issue.path.join(".");
  if (issue.code === "unrecognized_keys") {
    throw new BadRequestError(
      `unknown field ${listClipped(issue.keys)}; known fields: ${Object.keys(schema.shape).join(", ")}`,
      { fields: issue.keys.slice(0, 3) },
    );
  }
  const value = field ? (body as Record<string, unknown>)[issue.path[0] as string] : undefined;
  const shown = value === undefined ? "" : `, got ${describeValue(value)}`;
  throw new BadRequestError(
    `${issue.message}${issue.code === "custom" && issue.message.includes("got ") ? "" : shown}`,
    { field, value },
  );
}
