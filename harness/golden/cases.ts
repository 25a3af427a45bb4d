/**
 * Golden cases (fixtures/golden/cases.json): each one request on a named model, sent as a direct invoke or
 * a function URL event. Fields a case leaves out are not sent, so the function's defaults apply (the seed
 * article's own request relies on that); the sidecar records the answer's contract (what the function
 * resolved them to, content type, headers), which every run must repeat.
 */
import { readFile } from "node:fs/promises";
import { isAbsolute, join } from "node:path";
import { z } from "zod";
import { SCHEDULER_NAMES } from "../../runtime/engine/schedulers/types.ts";
import { OUTPUT_FORMATS } from "../../runtime/request.ts";

const NAME = /^[a-z0-9][a-z0-9._-]*$/;

const caseSchema = z
  .object({
    name: z.string().regex(NAME, { error: "name must be lowercase letters, digits, '.', '_' or '-'" }),
    note: z.string().optional(),
    mode: z.enum(["txt2img", "img2img", "inpaint"]),
    model: z.string().min(1),
    prompt: z.string().min(1),
    negative_prompt: z.string().optional(),
    seed: z.number().int().min(0),
    steps: z.number().int().min(1).optional(),
    guidance: z.number().min(0).optional(),
    width: z.number().int().optional(),
    height: z.number().int().optional(),
    scheduler: z.enum(SCHEDULER_NAMES).optional(),
    /** Paths relative to the repository root. */
    init_image: z.string().optional(),
    mask: z.string().optional(),
    strength: z.number().optional(),
    output_format: z.enum(OUTPUT_FORMATS).optional(),
    /** How the request reaches the handler: a direct invoke (JSON answer) or a function URL (the image). */
    event: z.enum(["direct", "function-url"]).default("direct"),
    /** This case's own perceptual tolerance, over the calibrated one (compare.ts). */
    tolerance: z
      .object({
        threshold: z.number().min(0).max(1),
        maxDiffRatio: z.number().min(0).max(1),
        window: z.number().int().min(1),
        maxWindowDiff: z.number().int().min(0),
      })
      .partial()
      .strict()
      .optional(),
  })
  .strict()
  .superRefine((c, ctx) => {
    const wants = { txt2img: [false, false], img2img: [true, false], inpaint: [true, true] }[c.mode];
    if ((c.init_image !== undefined) !== wants[0])
      ctx.addIssue({
        code: "custom",
        message: `mode ${c.mode} ${wants[0] ? "needs" : "takes no"} init_image`,
      });
    if ((c.mask !== undefined) !== wants[1])
      ctx.addIssue({ code: "custom", message: `mode ${c.mode} ${wants[1] ? "needs" : "takes no"} mask` });
  });

const fileSchema = z.object({ $comment: z.string().optional(), cases: z.array(caseSchema).min(1) }).strict();

export type GoldenCase = z.output<typeof caseSchema>;
export type CaseTolerance = NonNullable<GoldenCase["tolerance"]>;

export async function loadCases(file: string): Promise<GoldenCase[]> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(file, "utf8"));
  } catch (cause) {
    throw new Error(`cannot read golden cases ${file}: ${(cause as Error).message}`, { cause });
  }
  const parsed = fileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? issue.path.join(".") : "(top level)";
    throw new Error(`${file}: ${where}: ${issue?.message ?? "invalid"}`);
  }
  const seen = new Set<string>();
  for (const c of parsed.data.cases) {
    if (seen.has(c.name)) throw new Error(`${file}: case name "${c.name}" is used twice`);
    seen.add(c.name);
  }
  return parsed.data.cases;
}

/** The request body the function receives (snake_case, images base64), without fields the case omits. */
export async function caseRequest(c: GoldenCase, root: string): Promise<Record<string, unknown>> {
  const file = async (path: string) =>
    (await readFile(isAbsolute(path) ? path : join(root, path))).toString("base64");
  const body: Record<string, unknown> = {
    prompt: c.prompt,
    negative_prompt: c.negative_prompt,
    seed: c.seed,
    num_inference_steps: c.steps,
    guidance_scale: c.guidance,
    width: c.width,
    height: c.height,
    scheduler: c.scheduler,
    init_image: c.init_image === undefined ? undefined : await file(c.init_image),
    mask: c.mask === undefined ? undefined : await file(c.mask),
    strength: c.strength,
    output_format: c.output_format,
  };
  return Object.fromEntries(Object.entries(body).filter(([, v]) => v !== undefined));
}

/** The event both targets hand the handler: the body itself (direct invoke) or a function URL POST. */
export function caseEvent(c: GoldenCase, body: Record<string, unknown>): unknown {
  if (c.event === "direct") return body;
  return {
    version: "2.0",
    routeKey: "$default",
    rawPath: "/",
    rawQueryString: "",
    headers: { "content-type": "application/json", accept: "image/*" },
    requestContext: { http: { method: "POST", path: "/", protocol: "HTTP/1.1", sourceIp: "127.0.0.1" } },
    body: JSON.stringify(body),
    isBase64Encoded: false,
  };
}
