/**
 * `sd-lambda generate`: the engine in-process, no Lambda — same validation and rendering as the handler.
 */
import { readFile, writeFile } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { parseArgs } from "node:util";
import { loadModel } from "../../runtime/engine/model.ts";
import { render, roundTimings } from "../../runtime/render.ts";
import { DEFAULT_LIMITS, parseRequest } from "../../runtime/request.ts";
import { progressLine } from "../progress.ts";

export const GENERATE_USAGE = `usage: sd-lambda generate --model DIR --prompt TEXT [--negative-prompt TEXT] [--seed N] [--steps N]
  [--guidance X] [--width W --height H] [--scheduler lms|pndm|euler|euler_a|ddim|dpmpp_2m|lcm]
  [--init-image FILE --strength X] [--mask FILE] [--format png|jpeg|webp] [--threads N] [--json] --out FILE`;

export async function generateCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      model: { type: "string" },
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
      threads: { type: "string" },
      out: { type: "string" },
      json: { type: "boolean", default: false },
    },
  });
  if (!values.model || !values.out || values.prompt === undefined) {
    throw new Error(`--model, --prompt and --out are required\n${GENERATE_USAGE}`);
  }
  const request = parseRequest(
    {
      prompt: values.prompt,
      negative_prompt: values["negative-prompt"],
      seed: numberFlag("seed", values.seed),
      num_inference_steps: numberFlag("steps", values.steps),
      guidance_scale: numberFlag("guidance", values.guidance),
      width: numberFlag("width", values.width),
      height: numberFlag("height", values.height),
      scheduler: values.scheduler,
      init_image: values["init-image"] && (await readFile(values["init-image"])).toString("base64"),
      mask: values.mask && (await readFile(values.mask)).toString("base64"),
      strength: numberFlag("strength", values.strength),
      output_format: values.format,
    },
    DEFAULT_LIMITS,
  );
  const threads = values.threads === undefined ? availableParallelism() : Number(values.threads);
  if (!Number.isInteger(threads) || threads < 1)
    throw new Error(`--threads must be a positive integer, got ${values.threads}`);
  const log = (line: string) => {
    if (!values.json) process.stderr.write(line);
  };
  log(`loading ${values.model} (${threads} threads)\n`);
  const loadStart = performance.now();
  const model = await loadModel(values.model, { threads });
  const loadMs = performance.now() - loadStart;
  const result = await render(model, request, {
    onStep: (s) => log(progressLine(s.index + 1, s.total, `t=${s.timestep} ${s.stepMs.toFixed(0)} ms`)),
  });
  await writeFile(values.out, result.bytes);
  const timings = { load: loadMs, ...result.timings };
  if (values.json) {
    process.stdout.write(
      `${JSON.stringify({ out: values.out, seed: result.seed, width: result.width, height: result.height, scheduler: result.scheduler, mode: result.mode, steps: result.steps, timings_ms: roundTimings(timings), warnings: result.warnings })}\n`,
    );
  } else {
    log("\n");
    for (const w of result.warnings) log(`warning: ${w}\n`);
    const stages = Object.entries(timings).map(([k, v]) => `${k} ${v.toFixed(0)} ms`);
    process.stdout.write(
      `wrote ${values.out} (${result.width}x${result.height} ${result.format}, ${result.mode}, ${result.scheduler}, ${result.steps} steps) seed ${result.seed}\n${stages.join(", ")}\n`,
    );
  }
  return 0;
}

/** A numeric flag, or undefined when absent; non-numbers pass through so validation names them. */
function numberFlag(name: string, raw: string | undefined): number | string | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  return raw.trim() !== "" && Number.isFinite(n) ? n : `--${name} ${raw}`;
}
