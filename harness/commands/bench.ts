/**
 * `sd-lambda bench`: how long a generation takes and how much memory it needs, in-process (`local`) or
 * in a fresh function container under the RIE (`emulator`, cold start included). Writes the whole
 * measurement as JSON to reports/bench-<target>.json (or --report FILE).
 */
import { mkdir, writeFile } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { type Cost, formatCost, invokeCost } from "../bench/cost.ts";
import { billedMs, type Efficiency, formatEfficiency, measureEfficiency } from "../bench/efficiency.ts";
import { type BenchResult, benchAws, benchEmulator, benchLocal } from "../bench/measure.ts";
import type { Stats } from "../bench/stats.ts";
import { DEFAULT_CONFIG, sandboxLimits, validateConfig } from "../emulator/config.ts";
import { buildModelImage } from "../emulator/model-image.ts";
import { prepare, ROOT, settingsFromEnv } from "../emulator/stack.ts";
import { REQUEST_OPTIONS, REQUEST_USAGE, requestFromFlags } from "../request-flags.ts";
import { type Command, UsageError } from "./command.ts";

const DEFAULT_PROMPT = "a photograph of an astronaut riding a horse";

/** The flags that only some targets take. */
const TARGET_FLAGS: Record<string, readonly string[]> = {
  model: ["local", "emulator"],
  threads: ["local"],
  "memory-mb": ["local", "emulator"],
  "model-location": ["emulator"],
  graphs: ["local", "emulator"],
  "timeout-s": ["emulator", "aws"],
  "function-name": ["aws"],
  region: ["aws"],
};

export const BENCH_USAGE = `usage: sd-lambda bench [--target local|emulator|aws (default local)] [--runs N (warm runs after the first; default 5)]
  local:    [--model DIR (default fixtures/models/tiny-sd)] [--threads N] [--memory-mb MB (priced; default ${DEFAULT_CONFIG.memoryMb})]
  emulator: [--model DIR] [--memory-mb MB (default ${DEFAULT_CONFIG.memoryMb})] [--timeout-s S (default ${DEFAULT_CONFIG.timeoutS})]
            [--model-location efs|image (default efs: mounted as EFS; image: baked into the image)]
  local, emulator: [--graphs use|off (default use: open the graphs \`sd-lambda models optimize\` saved for this machine)]
  aws:      --function-name NAME [--region R] [--timeout-s S (client side, default 900)]
  ${REQUEST_USAGE.replace("--prompt TEXT", `[--prompt TEXT (default "${DEFAULT_PROMPT}")]`).replace("[--seed N]", "[--seed N (default 1: every run the same)]")}
  [--report FILE] [--json]`;

export async function benchCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      ...REQUEST_OPTIONS,
      target: { type: "string", default: "local" },
      model: { type: "string" },
      "function-name": { type: "string" },
      region: { type: "string" },
      runs: { type: "string", default: "5" },
      threads: { type: "string" },
      "memory-mb": { type: "string" },
      "model-location": { type: "string" },
      graphs: { type: "string" },
      "timeout-s": { type: "string" },
      report: { type: "string" },
      json: { type: "boolean", default: false },
    },
  });
  const target = values.target;
  if (target !== "local" && target !== "emulator" && target !== "aws")
    throw new UsageError(`--target must be local, emulator or aws, got "${target}"\n${BENCH_USAGE}`);
  const stray = Object.entries(TARGET_FLAGS)
    .filter(
      ([flag, targets]) => values[flag as keyof typeof values] !== undefined && !targets.includes(target),
    )
    .map(([flag]) => `--${flag}`);
  if (stray.length > 0)
    throw new UsageError(`${stray.join(", ")} does not apply to --target ${target}\n${BENCH_USAGE}`);
  const runs = positiveInteger("--runs", values.runs, 100);
  const graphs = values.graphs;
  if (graphs !== undefined && graphs !== "use" && graphs !== "off")
    throw new UsageError(`--graphs must be use or off, got "${graphs}"\n${BENCH_USAGE}`);
  // the same seed every run: the images must then be identical, which the bench checks
  const flags = await requestFromFlags(values);
  const request = { ...flags, prompt: values.prompt ?? DEFAULT_PROMPT, seed: flags.seed ?? 1 };
  const say = (line: string) => {
    if (!values.json) process.stderr.write(`${line}\n`);
  };
  const modelDir = values.model ?? join(ROOT, "fixtures/models/tiny-sd");
  const timeoutS = (fallback: number) =>
    values["timeout-s"] === undefined ? fallback : positiveInteger("--timeout-s", values["timeout-s"], 900);
  const memoryMb =
    values["memory-mb"] === undefined
      ? DEFAULT_CONFIG.memoryMb
      : positiveInteger("--memory-mb", values["memory-mb"], 10240);
  let result: BenchResult;
  let threads = availableParallelism();
  if (target === "local") {
    if (values.threads !== undefined) threads = positiveInteger("--threads", values.threads, 256);
    result = await benchLocal({ modelDir, request, runs, say, threads, ...(graphs ? { graphs } : {}) });
  } else if (target === "aws") {
    const functionName = values["function-name"];
    if (!functionName) throw new UsageError(`--target aws needs --function-name\n${BENCH_USAGE}`);
    result = await benchAws({
      functionName,
      region: values.region,
      request,
      runs,
      say,
      timeoutS: timeoutS(900),
    });
  } else {
    const config = validateConfig({
      ...DEFAULT_CONFIG,
      memoryMb,
      timeoutS: timeoutS(DEFAULT_CONFIG.timeoutS),
    });
    process.env.TESTCONTAINERS_RYUK_DISABLED ??= "true";
    const location = values["model-location"] ?? "efs";
    if (location !== "efs" && location !== "image")
      throw new UsageError(`--model-location must be efs or image, got "${location}"`);
    const { env, notes, baseImage } = prepare({ ...settingsFromEnv(), ...config }, (line) =>
      say(`[sd-lambda] ${line}`),
    );
    const image =
      location === "image"
        ? buildModelImage(modelDir, env, baseImage, (line) => say(`[sd-lambda] ${line}`))
        : undefined;
    for (const note of notes) say(note);
    process.env.DOCKER_CONFIG = env.DOCKER_CONFIG;
    const { cpus } = sandboxLimits(config.memoryMb, availableParallelism());
    threads = cpus;
    result = await benchEmulator({
      modelDir,
      request,
      runs,
      say,
      memoryMb: config.memoryMb,
      timeoutS: config.timeoutS,
      cpus,
      env,
      ...(image ? { image } : {}),
      ...(graphs ? { graphs } : {}),
    });
  }
  // aws has no model folder here to count FLOPs from; its cost comes from the REPORT lines alone
  const billed = { memoryMb: result.lambda?.memorySizeMb ?? memoryMb, durationMs: billedMs(result) };
  const efficiency: Efficiency | null =
    target === "aws"
      ? null
      : await measureEfficiency(result, {
          modelDir,
          threads: Math.max(1, Math.round(threads)),
          cacheFile: join(ROOT, ".cache/flops.json"),
        });
  const report: BenchReport = { ...result, cost: invokeCost(billed.durationMs, billed.memoryMb), efficiency };
  const reportFile = values.report ?? join(ROOT, `reports/bench-${target}.json`);
  await mkdir(dirname(reportFile), { recursive: true });
  await writeFile(reportFile, `${JSON.stringify(report, null, 2)}\n`);
  if (values.json) process.stdout.write(`${JSON.stringify(report)}\n`);
  else process.stdout.write(`${formatBench(report)}wrote ${reportFile}\n`);
  if (!result.identical) {
    process.stderr.write(
      "sd-lambda bench: the runs did not all give the same image for the same seed — the engine is not reproducible, so these timings describe different work; see the sha256 of each run in the report\n",
    );
    return 1;
  }
  return 0;
}

function positiveInteger(flag: string, raw: string, max: number): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > max)
    throw new UsageError(`${flag} must be an integer from 1 to ${max}, got "${raw}"`);
  return n;
}

/** The measurement plus its efficiency (null for aws without --model). */
export type BenchReport = BenchResult & { readonly cost?: Cost; readonly efficiency?: Efficiency | null };

/** The measurement in words, one fact per line. */
export function formatBench(r: BenchReport): string {
  const q = r.request;
  const lines = [
    `bench ${r.target}: ${r.model} ${q.width}x${q.height} ${q.mode}, ${q.steps} steps ${q.scheduler}, guidance ${q.guidance}, seed ${q.seed}`,
    `  engine          onnxruntime ${r.engine.onnxruntime}, ${r.engine.threads} threads${r.sandbox ? ` (function at ${r.sandbox.memoryMb} MB, ${r.sandbox.cpus} CPUs here)` : ""}`,
  ];
  const cold = r.runs[0];
  if (r.coldStart === null)
    lines.push(
      "  cold start      none: the first invoke found a warm environment (Lambda decides; try again later)",
    );
  else {
    if (r.coldStart.initMs !== undefined)
      lines.push(
        `  init            ${ms(r.coldStart.initMs)} (${r.target === "aws" ? "REPORT Init Duration" : "INIT REPORT"})`,
      );
    if (r.coldStart.modelLoadMs !== undefined)
      lines.push(
        `  model load      ${ms(r.coldStart.modelLoadMs)}${r.target === "local" ? "" : " (in the background from init on)"}`,
      );
  }
  if (cold?.reportDurationMs !== undefined)
    lines.push(`  first invoke    ${ms(cold.reportDurationMs)} (REPORT), ${ms(cold.totalMs)} round trip`);
  else if (cold) lines.push(`  first run       ${ms(cold.totalMs)}`);
  const n = r.runs.length - 1;
  lines.push(`  warm (${n} run${n === 1 ? "" : "s"})   ${stats(r.warm.totalMs)}`);
  for (const [name, s] of Object.entries(r.warm.stagesMs)) {
    if (name === "total" || s.max === 0) continue;
    lines.push(`    ${name.padEnd(14)}${stats(s)}`);
  }
  lines.push(`    unet per step ${stats(r.warm.unetPerStepMs)}`);
  if (r.peakRssMb !== undefined) lines.push(`  peak RSS        ${r.peakRssMb.toFixed(0)} MB (this process)`);
  if (r.lambda)
    lines.push(
      `  memory          max used ${r.lambda.maxMemoryUsedMb} MB of ${r.lambda.memorySizeMb} MB (REPORT)`,
    );
  if (r.sandbox)
    lines.push(
      `  memory          peak ${r.sandbox.memory.maxUsedMb.toFixed(0)} MB of ${r.sandbox.memoryMb} MB (cgroup, page cache of the model files included), anonymous ${r.sandbox.memory.rssMb.toFixed(0)} MB at the end`,
    );
  if (r.efficiency) lines.push(formatEfficiency(r.efficiency));
  if (r.cost) lines.push(formatCost(r.cost));
  lines.push(
    `  reproducible    ${r.identical ? `yes: ${r.runs.length} identical images (sha256 ${r.runs[0]?.sha256.slice(0, 12)})` : "NO: the images differ between runs"}`,
  );
  return `${lines.join("\n")}\n`;
}

function ms(v: number): string {
  return `${v < 10 ? v.toFixed(1) : v.toFixed(0)} ms`;
}

function stats(s: Stats): string {
  return s.n === 1
    ? ms(s.median)
    : `median ${ms(s.median)}, p95 ${ms(s.p95)}, min ${ms(s.min)}, max ${ms(s.max)}`;
}

export const benchVerb: Command = { run: benchCommand, usage: BENCH_USAGE };
