/**
 * `sd-lambda models upload --from DIR|s3://bucket/prefix --model NAME`: a model onto the stack's EFS
 * through its loader function (no EC2 instance). The loader and the staging bucket come from the
 * outputs `sd-lambda deploy` saved, or --loader / --bucket.
 * `sd-lambda models optimize DIR`: saves each part's graph optimised for this machine beside it
 * (runtime/engine/optimized-graph.ts), then loads the folder as the function does to show they are used.
 * `sd-lambda models check DIR [--json]`: loads a model folder in-process exactly as the function does
 * (every load-time check included) and prints its family, the defaults it gets and why, each session's
 * inputs, the sizes it takes and a memory estimate — or the problem, as the function would report it.
 */
import { availableParallelism } from "node:os";
import { parseArgs } from "node:util";
import { LambdaClient } from "@aws-sdk/client-lambda";
import { S3Client } from "@aws-sdk/client-s3";
import { loadDeployConfig } from "../../deploy/config.ts";
import { uploadModel } from "../deploy/models-upload.ts";
import { estimateMemory } from "../preflight/checks.ts";
import { modelFacts } from "../preflight/index.ts";
import { checkModel, type ModelReport } from "../preflight/model-check.ts";
import { optimizeModel } from "../preflight/optimize.ts";
import { type Command, UsageError } from "./command.ts";

export const MODELS_USAGE = `usage: sd-lambda models upload --from DIR|s3://bucket/prefix --model NAME [--region R]
  [--loader FUNCTION --bucket BUCKET] [--max-bytes N] [--json]
  stages a model folder in the stack's S3 bucket and invokes the loader until the model is on EFS at
  <mount path>/models/NAME (files checked by SHA-256; a repeated upload copies nothing)
       sd-lambda models check DIR [--json]
  loads a model folder as the function does: family, defaults and why, inputs, sizes, memory estimate
       sd-lambda models optimize DIR [--threads N] [--json]
  saves each part's graph optimised for this machine (CPU kind and onnxruntime version) into
  DIR/<part>/optimized/<key>/, which the function then opens in about a second instead of re-optimising:
  run it where the function runs (the emulator shares this machine's CPU; on Lambda set SD_OPTIMIZED_GRAPHS=save)`;

export async function modelsCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === "check") return checkCommand(rest);
  if (sub === "optimize") return optimizeCommand(rest);
  if (sub !== "upload")
    throw new UsageError(`unknown models command ${JSON.stringify(sub ?? "")}\n${MODELS_USAGE}`);
  const { values } = parseArgs({
    args: rest,
    options: {
      from: { type: "string" },
      model: { type: "string" },
      region: { type: "string" },
      loader: { type: "string" },
      bucket: { type: "string" },
      "max-bytes": { type: "string" },
      json: { type: "boolean", default: false },
    },
    strict: true,
  });
  if (!values.from || !values.model) throw new UsageError(`--from and --model are required\n${MODELS_USAGE}`);
  const region = values.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
  if (!region) throw new Error("no region: pass --region or set AWS_REGION");
  let { loader, bucket } = values;
  if (!loader || !bucket) {
    const { stackOutputs } = await import("../deploy/steps.ts");
    const outputs = stackOutputs(loadDeployConfig().stackName);
    loader ??= outputs.LoaderFunctionName;
    bucket ??= outputs.StagingBucket;
  }
  const maxBytes = values["max-bytes"] === undefined ? undefined : Number(values["max-bytes"]);
  if (maxBytes !== undefined && !(Number.isInteger(maxBytes) && maxBytes > 0))
    throw new UsageError(`--max-bytes ${values["max-bytes"]} is not a positive whole number`);
  const result = await uploadModel({
    from: values.from,
    model: values.model,
    bucket,
    s3: new S3Client({ region }),
    lambda: new LambdaClient({ region, maxAttempts: 1 }),
    loaderName: loader,
    ...(maxBytes === undefined ? {} : { maxBytes }),
    say: (line) => process.stderr.write(`[sd-lambda] ${line}\n`),
  });
  const last = result.invokes.at(-1);
  process.stdout.write(
    values.json
      ? `${JSON.stringify(result, null, 2)}\n`
      : `model ${values.model} on EFS: ${last?.files_total} files, ${((last?.bytes_total ?? 0) / 1e6).toFixed(1)} MB, in ${result.invokes.length} loader invokes\n`,
  );
  return 0;
}

export function renderModelReport(r: ModelReport): string {
  if (!r.ok) return `${r.dir}: cannot be served — ${r.problem?.code}: ${r.problem?.message}\n`;
  const lines = [
    `${r.dir}: ${r.family?.name} (${r.family?.why}); ${r.pipeline ?? "no pipeline class"}, VAE ${r.vae ?? "unknown"}`,
    `sizes: multiples of ${r.sizes?.multiple}, native ${r.sizes?.native}${r.sizes?.fixed ? `, only ${r.sizes.fixed} (fixed-size UNet)` : ""}`,
    ...(r.memory_mb === undefined
      ? []
      : [`memory: ~${r.memory_mb} MB at the default size (preflight's estimate)`]),
  ];
  for (const [mode, fields] of Object.entries(r.defaults ?? {})) {
    lines.push(`defaults for ${mode}:`);
    for (const [field, d] of Object.entries(fields)) lines.push(`  ${field} ${d.value} — ${d.reason}`);
  }
  lines.push(
    r.optimized_parts?.length
      ? `saved optimised graphs for this machine: ${r.optimized_parts.join(", ")}`
      : "saved optimised graphs for this machine: none (sd-lambda models optimize DIR makes them; the load is then ~1 s)",
  );
  for (const [session, list] of Object.entries(r.inputs ?? {})) lines.push(`${session}: ${list.join(", ")}`);
  for (const note of r.notes ?? []) lines.push(`note: ${note}`);
  return `${lines.join("\n")}\n`;
}

async function checkCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    strict: true,
    allowPositionals: true,
    options: { json: { type: "boolean", default: false } },
  });
  const [dir] = positionals;
  if (!dir || positionals.length > 1) throw new Error(`models check takes one folder\n${MODELS_USAGE}`);
  const checked = await checkModel(dir);
  const txt = checked.defaults?.txt2img ?? checked.defaults?.inpaint;
  const report: ModelReport = checked.ok
    ? {
        ...checked,
        memory_mb: estimateMemory(modelFacts(dir), {
          width: Number(txt?.width?.value),
          height: Number(txt?.height?.value),
          guidance: checked.cfg,
        }).totalMb,
      }
    : checked;
  process.stdout.write(values.json ? `${JSON.stringify(report)}\n` : renderModelReport(report));
  return report.ok ? 0 : 1;
}

async function optimizeCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    strict: true,
    allowPositionals: true,
    options: { threads: { type: "string" }, json: { type: "boolean", default: false } },
  });
  const [dir] = positionals;
  if (!dir || positionals.length > 1)
    throw new UsageError(`models optimize takes one folder\n${MODELS_USAGE}`);
  const threads = values.threads === undefined ? availableParallelism() : Number(values.threads);
  if (!(Number.isInteger(threads) && threads > 0))
    throw new UsageError(`--threads ${values.threads} is not a positive whole number`);
  const report = await optimizeModel(dir, threads, (line) => process.stderr.write(`[sd-lambda] ${line}\n`));
  process.stdout.write(
    values.json
      ? `${JSON.stringify(report)}\n`
      : `${dir}: ${report.model.optimizedParts.length} parts open from graphs saved for ${report.key}: ${report.model.optimizedParts.join(", ")} (load ${Math.round(report.loadMs)} ms)\n${report.model.notes.map((n) => `note: ${n}\n`).join("")}`,
  );
  return report.model.optimizedParts.length === report.parts.length ? 0 : 1;
}

export const modelsVerb: Command = { run: modelsCommand, usage: MODELS_USAGE };
