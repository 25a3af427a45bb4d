/**
 * `sd-lambda preflight`: checks a built bundle or a function image before deploy — native files against
 * the runtime's glibc and libstdc++, file modes against uid 993, and (with a model) every file the model
 * folder holds or references against uid 993 and memory against the memory size.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { type Architecture, archCheck } from "./arch.ts";
import {
  type Check,
  estimateMemory,
  glibcCheck,
  libstdcxxCheck,
  type MemoryEstimate,
  type ModelFacts,
  memoryCheck,
  permissionsCheck,
  RUNTIMES,
} from "./checks.ts";
import { type ElfInfo, isElf, readElf } from "./elf.ts";
import { bundleFiles, type FunctionFile, imageFiles } from "./files.ts";
import { modelFilesCheck } from "./model-files.ts";

export { type Architecture, archCheck, elfMachine } from "./arch.ts";
export * from "./checks.ts";
export { type ElfInfo, readElf } from "./elf.ts";
export { bundleFiles, type FunctionFile, imageFiles, TarReader } from "./files.ts";
export { modelFileFindings, modelFilesCheck, unreadableMessage } from "./model-files.ts";
export { bytesSource, externalDataLocations, externalDataOfFile } from "./onnx-external.ts";

export type PreflightSource =
  | { readonly kind: "bundle"; readonly dirs: readonly { from: string; to: string }[] }
  | { readonly kind: "image"; readonly image: string; readonly env: NodeJS.ProcessEnv };

export interface PreflightOptions {
  readonly runtime: string;
  readonly memoryMb: number;
  readonly source: PreflightSource;
  readonly modelDir?: string;
  /** Check every native file's ELF machine against this architecture. */
  readonly arch?: Architecture;
  readonly width?: number;
  readonly height?: number;
}

export interface PreflightReport {
  readonly source: string;
  readonly runtime: string;
  readonly memoryMb: number;
  readonly checks: readonly Check[];
  readonly estimate?: MemoryEstimate;
  readonly ok: boolean;
}

export async function runPreflight(options: PreflightOptions): Promise<PreflightReport> {
  if (!RUNTIMES[options.runtime])
    throw new Error(`unknown runtime "${options.runtime}" — one of ${Object.keys(RUNTIMES).join(", ")}`);
  const { source } = options;
  const label =
    source.kind === "image" ? `image ${source.image}` : source.dirs.map((d) => d.from).join(" + ");
  const files =
    source.kind === "image" ? await imageFiles(source.image, source.env) : bundleFiles(source.dirs);
  const natives = nativeFiles(files);
  const checks: Check[] = [
    glibcCheck(natives, options.runtime),
    libstdcxxCheck(natives, options.runtime),
    permissionsCheck(files, label),
  ];
  if (options.arch) checks.push(archCheck(files, options.arch));
  let estimate: MemoryEstimate | undefined;
  if (options.modelDir) {
    checks.push(modelFilesCheck(options.modelDir));
    const facts = modelFacts(options.modelDir);
    estimate = estimateMemory(facts, { width: options.width, height: options.height });
    checks.push(memoryCheck(facts, estimate, options.memoryMb));
  }
  return {
    source: label,
    runtime: options.runtime,
    memoryMb: options.memoryMb,
    checks,
    ...(estimate ? { estimate } : {}),
    ok: checks.every((c) => c.status !== "fail"),
  };
}

/** The ELF files among the native candidates, parsed. */
export function nativeFiles(files: readonly FunctionFile[]): { path: string; elf: ElfInfo }[] {
  const natives: { path: string; elf: ElfInfo }[] = [];
  for (const file of files) {
    if (!file.bytes || !isElf(file.bytes)) continue;
    natives.push({ path: file.path, elf: readElf(file.bytes, file.path) });
  }
  return natives;
}

const WEIGHT_FOLDERS = ["text_encoder", "unet", "vae_decoder", "vae_encoder"];

/** What the memory estimate needs from an optimum-cli export folder. */
export function modelFacts(dir: string): ModelFacts {
  if (!existsSync(join(dir, "unet")))
    throw new Error(`${dir} is not a model folder (no unet/) — pass the folder that holds model_index.json`);
  let weightBytes = 0;
  for (const folder of WEIGHT_FOLDERS) {
    const path = join(dir, folder);
    if (!existsSync(path)) continue;
    for (const name of readdirSync(path))
      if (!name.endsWith(".json")) weightBytes += statSync(join(path, name)).size;
  }
  const json = (path: string): Record<string, unknown> =>
    existsSync(path) ? (JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>) : {};
  const unet = json(join(dir, "unet/config.json"));
  const vae = json(join(dir, "vae_decoder/config.json"));
  // diffusers' `attention_head_dim` of SD 1.x is the number of heads (num_attention_heads falls back to it)
  const headsOf = (value: unknown): number | undefined =>
    typeof value === "number"
      ? value
      : Array.isArray(value) && typeof value[0] === "number"
        ? value[0]
        : undefined;
  const heads = headsOf(unet.num_attention_heads) ?? headsOf(unet.attention_head_dim) ?? 8;
  const blocks = Array.isArray(vae.block_out_channels) ? vae.block_out_channels.length : 4;
  const vaeScale = 2 ** (blocks - 1);
  const native = (typeof unet.sample_size === "number" ? unet.sample_size : 64) * vaeScale;
  return { dir, weightBytes, heads, vaeScale, nativeWidth: native, nativeHeight: native };
}

export function renderPreflight(report: PreflightReport): string {
  const mark = { pass: "ok  ", warn: "WARN", fail: "FAIL" } as const;
  const lines = [`preflight of ${report.source} for ${report.runtime} at ${report.memoryMb} MB`];
  for (const check of report.checks) {
    lines.push(`  ${mark[check.status]} ${check.name}: ${check.summary}`);
    for (const detail of check.details) lines.push(`         ${detail}`);
  }
  lines.push(report.ok ? "preflight passed" : "preflight FAILED");
  return `${lines.join("\n")}\n`;
}
