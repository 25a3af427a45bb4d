/**
 * `sd-lambda models check DIR [--json]`: loads a model folder in-process exactly as the function does
 * (every load-time check included) and prints its family, the defaults it gets and why, each session's
 * inputs, the sizes it takes and a memory estimate — or the problem, as the function would report it.
 */
import { parseArgs } from "node:util";
import { estimateMemory } from "../preflight/checks.ts";
import { modelFacts } from "../preflight/index.ts";
import { checkModel, type ModelReport } from "../preflight/model-check.ts";
import type { Command } from "./command.ts";

export const MODELS_USAGE = "usage: sd-lambda models check DIR [--json]";

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
  for (const [session, list] of Object.entries(r.inputs ?? {})) lines.push(`${session}: ${list.join(", ")}`);
  for (const note of r.notes ?? []) lines.push(`note: ${note}`);
  return `${lines.join("\n")}\n`;
}

async function modelsCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    strict: true,
    allowPositionals: true,
    options: { json: { type: "boolean", default: false } },
  });
  const [action, dir] = positionals;
  if (action !== "check" || !dir || positionals.length > 2)
    throw new Error(`expected check DIR\n${MODELS_USAGE}`);
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

export const modelsVerb: Command = { run: modelsCommand, usage: MODELS_USAGE };
