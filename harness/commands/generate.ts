/**
 * `sd-lambda generate`: the engine in-process, no Lambda — same validation and rendering as the handler.
 */
import { writeFile } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { parseArgs } from "node:util";
import { loadModel } from "../../runtime/engine/model.ts";
import { render, roundTimings } from "../../runtime/render.ts";
import { DEFAULT_LIMITS, parseRequest } from "../../runtime/request.ts";
import { progressLine } from "../progress.ts";
import { REQUEST_OPTIONS, REQUEST_USAGE, requestFromFlags } from "../request-flags.ts";
import { type Command, UsageError } from "./command.ts";

export const GENERATE_USAGE = `usage: sd-lambda generate --model DIR ${REQUEST_USAGE}
  [--threads N] [--json] --out FILE`;

export async function generateCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      ...REQUEST_OPTIONS,
      model: { type: "string" },
      threads: { type: "string" },
      out: { type: "string" },
      json: { type: "boolean", default: false },
    },
  });
  if (!values.model || !values.out || values.prompt === undefined) {
    throw new UsageError(`--model, --prompt and --out are required\n${GENERATE_USAGE}`);
  }
  const request = parseRequest(await requestFromFlags(values), DEFAULT_LIMITS);
  const threads = values.threads === undefined ? availableParallelism() : Number(values.threads);
  if (!Number.isInteger(threads) || threads < 1)
    throw new UsageError(`--threads must be a positive integer, got ${values.threads}`);
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

export const generateVerb: Command = { run: generateCommand, usage: GENERATE_USAGE };
