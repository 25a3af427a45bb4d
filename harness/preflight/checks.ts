/**
 * Preflight's checks, pure: glibc symbol versions of native files against the runtime's glibc, files
 * uid 993 cannot read, and the memory a model needs against the configured memory size. Each returns
 * one `Check`; index.ts gathers the inputs and renders the report.
 */
import { compareVersions, type ElfInfo, symbolVersion, type VersionFamily } from "./elf.ts";
import type { FunctionFile } from "./files.ts";

export interface RuntimeInfo {
  readonly os: string;
  readonly glibc: string;
  /** The libstdc++ of the OS's GCC: its newest GLIBCXX_ and CXXABI_ version names. */
  readonly libstdcxx: { readonly gcc: string; readonly glibcxx: string; readonly cxxabi: string };
}

/**
 * Amazon Linux 2023 ships glibc 2.34 and GCC 11, Amazon Linux 2 glibc 2.26 and GCC 7.3
 * (https://docs.aws.amazon.com/linux/al2023/ug/glibc-gcc-and-binutils.html); the version names each
 * GCC's libstdc++ provides are libstdc++'s ABI history (https://gcc.gnu.org/onlinedocs/libstdc++/manual/abi.html).
 */
const AL2023: RuntimeInfo = {
  os: "Amazon Linux 2023",
  glibc: "2.34",
  libstdcxx: { gcc: "11", glibcxx: "3.4.29", cxxabi: "1.3.13" },
};
const AL2: RuntimeInfo = {
  os: "Amazon Linux 2",
  glibc: "2.26",
  libstdcxx: { gcc: "7.3", glibcxx: "3.4.24", cxxabi: "1.3.11" },
};

/** Lambda's managed runtimes and their Amazon Linux. */
export const RUNTIMES: Readonly<Record<string, RuntimeInfo>> = {
  "nodejs24.x": AL2023,
  "nodejs22.x": AL2023,
  "nodejs20.x": AL2023,
  "provided.al2023": AL2023,
  "nodejs18.x": AL2,
  "provided.al2": AL2,
};

/** Lambda runs function code as this user, whatever the image's USER says. */
export const LAMBDA_UID = 993;
export const LAMBDA_GID = 990;

export type CheckStatus = "pass" | "warn" | "fail";

export interface Check {
  readonly name: "glibc" | "libstdc++" | "permissions" | "model files" | "memory" | "architecture";
  readonly status: CheckStatus;
  /** One sentence a person reads: what was checked, with the numbers. */
  readonly summary: string;
  /** One line per offending file or fact. */
  readonly details: readonly string[];
}

export interface VersionProblem {
  readonly path: string;
  /** The library the versions are needed from (libm.so.6, libstdc++.so.6…). */
  readonly from: string;
  readonly versions: readonly string[];
}

/** Native files that need a newer `family` version than `have` (e.g. GLIBCXX newer than 3.4.29). */
export function versionProblems(
  natives: readonly { path: string; elf: ElfInfo }[],
  family: VersionFamily,
  have: string,
): VersionProblem[] {
  const limit = have.split(".").map(Number);
  const problems: VersionProblem[] = [];
  for (const { path, elf } of natives) {
    for (const need of elf.versionNeeds) {
      const tooNew = need.versions
        .filter((v) => {
          const version = symbolVersion(v, family);
          return version !== undefined && compareVersions(version, limit) > 0;
        })
        .sort((a, b) => compareVersions(symbolVersion(b, family) ?? [], symbolVersion(a, family) ?? []));
      if (tooNew.length > 0) problems.push({ path, from: need.file, versions: tooNew });
    }
  }
  return problems;
}

/** Native files that need a newer glibc than the runtime has. */
export function glibcProblems(
  natives: readonly { path: string; elf: ElfInfo }[],
  glibc: string,
): VersionProblem[] {
  return versionProblems(natives, "GLIBC", glibc);
}

/** The newest `family` version any of the files needs, e.g. "GLIBCXX_3.4.22"; undefined when none. */
export function newestNeed(natives: readonly { elf: ElfInfo }[], family: VersionFamily): string | undefined {
  let best: { name: string; version: readonly number[] } | undefined;
  for (const { elf } of natives)
    for (const need of elf.versionNeeds)
      for (const name of need.versions) {
        const version = symbolVersion(name, family);
        if (version && (!best || compareVersions(version, best.version) > 0)) best = { name, version };
      }
  return best?.name;
}

function runtimeInfo(runtime: string): RuntimeInfo {
  const info = RUNTIMES[runtime];
  if (!info) throw new Error(`unknown runtime "${runtime}" — one of ${Object.keys(RUNTIMES).join(", ")}`);
  return info;
}

export function glibcCheck(natives: readonly { path: string; elf: ElfInfo }[], runtime: string): Check {
  const info = runtimeInfo(runtime);
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

/**
 * The C++ half of the loader's check: GLIBCXX_/CXXABI_ versions the native files need from libstdc++.so.6
 * against the runtime's (GCC 11's on Amazon Linux 2023). The emulator cannot show this failure when its
 * base image is the Debian stand-in, whose libstdc++ is newer than Amazon Linux's.
 */
export function libstdcxxCheck(natives: readonly { path: string; elf: ElfInfo }[], runtime: string): Check {
  const info = runtimeInfo(runtime);
  const { gcc, glibcxx, cxxabi } = info.libstdcxx;
  const has = `GCC ${gcc}'s libstdc++ provides up to GLIBCXX_${glibcxx} and CXXABI_${cxxabi}`;
  const problems = [
    ...versionProblems(natives, "GLIBCXX", glibcxx),
    ...versionProblems(natives, "CXXABI", cxxabi),
  ];
  if (problems.length === 0) {
    const needs = [newestNeed(natives, "GLIBCXX"), newestNeed(natives, "CXXABI")].filter(Boolean);
    return {
      name: "libstdc++",
      status: "pass",
      summary: `${natives.length} native files need at most ${needs.length > 0 ? needs.join(" and ") : "nothing from libstdc++"} (${runtime}, ${info.os}: ${has})`,
      details: [],
    };
  }
  const files = [...new Set(problems.map((p) => p.path))];
  return {
    name: "libstdc++",
    status: "fail",
    summary: `${files.length} of ${natives.length} native files need a newer libstdc++ than ${runtime} has (${info.os}: ${has}) — they would fail to load with "version \`GLIBCXX_…' not found"; build them with GCC ${gcc} or older (as on ${info.os}), or ship the libstdc++.so.6 they were built with in the image and put its folder on LD_LIBRARY_PATH`,
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
