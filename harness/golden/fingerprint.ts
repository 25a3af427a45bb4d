/**
 * The engine fingerprint: what decides a golden's exact bytes. Two runs with the same onnxruntime version,
 * thread count, CPU architecture and kernel path give byte-identical images (the project measures it:
 * local = emulator), so a golden made under the same fingerprint must match its sha256; any other run is
 * judged by the calibrated perceptual tolerance (docs/decisions/golden-tolerance.md).
 */
import { readFileSync } from "node:fs";

export interface Fingerprint {
  readonly ort_version: string | null;
  readonly threads: number | null;
  /** Node's `process.arch` of the machine that computed the image (x64, arm64). */
  readonly arch: string;
  /** The kernel family onnxruntime's MLAS picks for float32 GEMM and convolution from the CPU's flags. */
  readonly isa: string | null;
  readonly pixelmatch: string;
}

export const FINGERPRINT_FIELDS = ["ort_version", "threads", "arch", "isa", "pixelmatch"] as const;

/**
 * MLAS (onnxruntime/core/mlas/lib/platform.cpp) picks its float32 kernels by CPUID: AVX-512F first,
 * then AVX2 with FMA, then AVX, else SSE; on arm64 NEON. Other flags (VNNI, AMX, fp16) only change
 * integer and half-precision paths, which these float32 models do not take.
 */
export function isaPath(arch: string, cpuinfo: string | undefined): string | null {
  if (arch === "arm64") return "neon";
  if (arch !== "x64" || cpuinfo === undefined) return null;
  const line = cpuinfo.split("\n").find((l) => l.startsWith("flags"));
  if (!line) return null;
  const flags = new Set(
    line
      .slice(line.indexOf(":") + 1)
      .trim()
      .split(/\s+/),
  );
  if (flags.has("avx512f")) return "avx512f";
  if (flags.has("avx2") && flags.has("fma")) return "avx2-fma";
  if (flags.has("avx")) return "avx";
  return "sse";
}

/** This machine's kernel path (the emulator's container runs on the same CPU). */
export function hostIsa(): string | null {
  let cpuinfo: string | undefined;
  try {
    cpuinfo = readFileSync("/proc/cpuinfo", "utf8");
  } catch {
    cpuinfo = undefined;
  }
  return isaPath(process.arch, cpuinfo);
}

/** Fields whose values differ; a null on either side means unknown, and unknown never matches. */
export function fingerprintDiffs(
  golden: Partial<Fingerprint> | undefined,
  run: Fingerprint,
): { field: string; golden: unknown; run: unknown }[] {
  return FINGERPRINT_FIELDS.filter((f) => {
    const g = golden?.[f];
    return g === undefined || g === null || run[f] === null || g !== run[f];
  }).map((f) => ({ field: f, golden: golden?.[f] ?? null, run: run[f] }));
}
