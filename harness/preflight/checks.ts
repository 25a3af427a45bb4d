/**
 * Preflight's checks, pure: glibc symbol versions of native files against the runtime's glibc, files
 * uid 993 cannot read, and the memory a model needs against the configured memory size. Each returns
 * one `Check`; index.ts gathers the inputs and renders the report.
 */
import { compareVersions, type ElfInfo, glibcVersion } from "./elf.ts";
import type { FunctionFile } from "./files.ts";

export interface RuntimeInfo {
  readonly os: string;
  readonly glibc: string;
}

/** Lambda's managed runtimes and the glibc of their Amazon Linux. */
export const RUNTIMES: Readonly<Record<string, RuntimeInfo>> = {
  "nodejs24.x": { os: "Amazon Linux 2023", glibc: "2.34" },
  "nodejs22.x": { os: "Amazon Linux 2023", glibc: "2.34" },
  "nodejs20.x": { os: "Amazon Linux 2023", glibc: "2.34" },
  "provided.al2023": { os: "Amazon Linux 2023", glibc: "2.34" },
  "nodejs18.x": { os: "Amazon Linux 2", glibc: "2.26" },
  "provided.al2": { os: "Amazon Linux 2", glibc: "2.26" },
};

/** Lambda runs function code as this user, whatever the image's USER says. */
export const LAMBDA_UID = 993;
export const LAMBDA_GID = 990;

export type CheckStatus = "pass" | "warn" | "fail";

export interface Check {
  readonly name: "glibc" | "permissions" | "memory" | "architecture";
  readonly status: CheckStatus;
  /** One sentence a person reads: what was checked, with the numbers. */
  readonly summary: string;
  /** One line per offending file or fact. */
  readonly details: readonly string[];
}

export interface GlibcProblem {
  readonly path: string;
  /** The library the versions are needed from (libm.so.6, libc.so.6…). */
  readonly from: string;
  readonly versions: readonly string[];
}

/** Native files that need a newer glibc than the runtime has. */
export function glibcProblems(
  natives: readonly { path: string; elf: ElfInfo }[],
  glibc: string,
): GlibcProblem[] {
  const have = glibc.split(".").map(Number);
  const problems: GlibcProblem[] = [];
  for (const { path, elf } of natives) {
    for (const need of elf.versionNeeds) {
      const tooNew = need.versions
        .filter((v) => {
          const version = glibcVersion(v);
          return version !== undefined && compareVersions(version, have) > 0;
        })
        .sort((a, b) => compareVersions(glibcVersion(b) ?? [], glibcVersion(a) ?? []));
      if (tooNew.length > 0) problems.push({ path, from: need.file, versions: tooNew });
    }
  }
  return problems;
}

export function glibcCheck(natives: readonly { path: string; elf: ElfInfo }[], runtime: string): Check {
  const info = RUNTIMES[runtime];
  if (!info) throw new Error(`unknown runtime "${runtime}" — one of ${Object.keys(RUNTIMES).join(", ")}`);
  const problems = glibcProblems(natives, info.glibc);
  if (problems.length === 0) {
    return {
      name: "glibc",
      status: "pass",
      summary: `${natives.length} native files need at most glibc ${info.glibc} (${runtime}, ${info.os})`,
      details: [],
    };
  }
  const files = [...new Set(problems.map((p) => p.path))];
  return {
    name: "glibc",
    status: "fail",
    summary: `${files.length} of ${natives.length} native files need a newer glibc than ${runtime} has (${info.os}, glibc ${info.glibc}) — they would fail to load with "version \`GLIBC_…' not found"; use nodejs20.x or newer (Amazon Linux 2023, glibc 2.34)`,
    details: problems.map((p) => `${p.path} needs ${p.versions.join(", ")} from ${p.from}`),
  };
}

/** Whether uid 993 / gid 990 may read a file (or enter a folder). */
export function readableByLambda(file: FunctionFile): boolean {
  const need = file.kind === "dir" ? 0o5 : 0o4;
  if (file.kind === "symlink") return true;
  if (file.uid === LAMBDA_UID) return ((file.mode >> 6) & need) === need;
  if (file.gid === LAMBDA_GID) return ((file.mode >> 3) & need) === need;
  return (file.mode & need) === need;
}

export function describeFile(file: FunctionFile): string {
  return `${file.path} (${file.kind === "dir" ? "folder, " : ""}mode ${file.mode.toString(8).padStart(4, "0")} owner uid ${file.uid} gid ${file.gid})`;
}

export function permissionsCheck(files: readonly FunctionFile[], source: string, limit = 20): Check {
  const unreadable = files.filter((f) => !readableByLambda(f));
  if (unreadable.length === 0) {
    return {
      name: "permissions",
      status: "pass",
      summary: `all ${files.length} files and folders in ${source} are readable by uid ${LAMBDA_UID} gid ${LAMBDA_GID}`,
      details: [],
    };
  }
  const shown = unreadable.slice(0, limit).map(describeFile);
  if (unreadable.length > limit) shown.push(`… and ${unreadable.length - limit} more`);
  return {
    name: "permissions",
    status: "fail",
    summary: `${unreadable.length} of ${files.length} files and folders in ${source} cannot be read by uid ${LAMBDA_UID} gid ${LAMBDA_GID}, the user Lambda runs the code as — add \`RUN chmod -R o+rX /var/task\` to the Dockerfile`,
    details: shown,
  };
}

export interface ModelFacts {
  readonly dir: string;
  /** Bytes of every ONNX file and its external data. */
  readonly weightBytes: number;
  /** Attention heads at the UNet's first (full latent resolution) block. */
  readonly heads: number;
  /** Pixels per latent cell. */
  readonly vaeScale: number;
  readonly nativeWidth: number;
  readonly nativeHeight: number;
}

export interface MemoryEstimate {
  readonly totalMb: number;
  readonly baseMb: number;
  readonly weightsMb: number;
  readonly activationsMb: number;
  readonly width: number;
  readonly height: number;
}

/** Node + onnxruntime + sharp loaded, before any model (tiny-sd warm in the emulator: ~170 MB). */
export const BASE_MB = 200;
/** Sessions hold their initializers plus arena copies made while loading. */
export const WEIGHT_FACTOR = 1.3;
/**
 * Self-attention at full latent resolution dominates activations: heads × batch (2 with guidance) ×
 * tokens² float32 scores, with softmax output and matmul temporaries (×2.5). Checked against the
 * emulator's cgroup peak (`sd-lambda bench --target emulator`, README "Benchmarks"): SD 1.5
 * architecture 256² 5,133 MB (estimate 5,649), 512² 7,689 MB (8,049), 768² OOM-killed at 10,240 MB
 * (18,449); tiny-sd 512² 671 MB (846). Errs high, never low.
 */
export const ATTENTION_FACTOR = 2.5;

const MB = 1024 * 1024;

export function estimateMemory(
  model: ModelFacts,
  size: { width?: number; height?: number; guidance?: boolean } = {},
): MemoryEstimate {
  const width = size.width ?? model.nativeWidth;
  const height = size.height ?? model.nativeHeight;
  const tokens = (width / model.vaeScale) * (height / model.vaeScale);
  const batch = size.guidance === false ? 1 : 2;
  const activationsMb = (model.heads * batch * tokens * tokens * 4 * ATTENTION_FACTOR) / MB;
  const weightsMb = (model.weightBytes * WEIGHT_FACTOR) / MB;
  const totalMb = Math.ceil(BASE_MB + weightsMb + activationsMb);
  return {
    totalMb,
    baseMb: BASE_MB,
    weightsMb: Math.round(weightsMb),
    activationsMb: Math.round(activationsMb),
    width,
    height,
  };
}

export function memoryCheck(model: ModelFacts, estimate: MemoryEstimate, memoryMb: number): Check {
  const parts = `${estimate.baseMb} MB runtime + ${estimate.weightsMb} MB weights (${Math.round(model.weightBytes / MB)} MB of ONNX × ${WEIGHT_FACTOR}) + ${estimate.activationsMb} MB activations at ${estimate.width}x${estimate.height}`;
  if (estimate.totalMb <= memoryMb * 0.9) {
    return {
      name: "memory",
      status: "pass",
      summary: `${model.dir} needs ~${estimate.totalMb} MB at ${estimate.width}x${estimate.height} (${parts}); ${memoryMb} MB configured`,
      details: [],
    };
  }
  const suggestion = Math.min(10240, Math.ceil(estimate.totalMb / 0.9 / 64) * 64);
  return {
    name: "memory",
    status: "warn",
    summary: `${model.dir} needs ~${estimate.totalMb} MB at ${estimate.width}x${estimate.height} but the function has ${memoryMb} MB — Lambda would end the invoke with Runtime.OutOfMemory; ${estimate.totalMb > 10240 ? "even 10,240 MB is not enough: lower width and height" : `set the memory to at least ${suggestion} MB or lower width and height`}`,
    details: [parts],
  };
}
