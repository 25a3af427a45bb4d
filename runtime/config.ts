/**
 * Everything the function reads from its environment, in one place: where the models are, how many
 * threads the vCPUs allow, the request limits, and Lambda's payload limit.
 */
import { availableParallelism } from "node:os";
import type { GraphMode } from "./engine/model.ts";
import { ConfigError } from "./errors.ts";
import { type Limits, limitsFromEnv } from "./request.ts";

/** Lambda gives one vCPU per 1,769 MB of memory (6 vCPUs at 10,240 MB). */
export const MB_PER_VCPU = 1769;
/** Lambda's synchronous invoke payload limit, each way. */
export const MAX_PAYLOAD_BYTES = 6 * 1024 * 1024;

export interface RuntimeConfig {
  readonly mntDir: string;
  readonly modelName: string | undefined;
  readonly threads: number;
  /** SD_OPTIMIZED_GRAPHS: use saved optimised graphs made for this host (default), save them, or not. */
  readonly graphs: GraphMode;
  readonly limits: Limits;
  /** Lambda's synchronous payload limit, applied to request bodies and responses alike. */
  readonly maxPayloadBytes: number;
  /**
   * Provisioned concurrency freezes the environment right after init, so a load left running in the
   * background would only resume inside the first invoke: init awaits it instead.
   */
  readonly awaitLoadInInit: boolean;
}

export function runtimeConfig(
  env: Readonly<Record<string, string | undefined>> = process.env,
): RuntimeConfig {
  const memory = Number(env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE);
  const cores = availableParallelism();
  const threads =
    env.SD_THREADS !== undefined && env.SD_THREADS !== ""
      ? explicitThreads(env.SD_THREADS)
      : Number.isFinite(memory) && memory > 0
        ? Math.max(1, Math.min(cores, Math.round(memory / MB_PER_VCPU)))
        : cores;
  return {
    mntDir: env.MNT_DIR || "/mnt/fs",
    modelName: env.SD_MODEL || undefined,
    threads,
    graphs: graphMode(env.SD_OPTIMIZED_GRAPHS),
    limits: limitsFromEnv(env),
    maxPayloadBytes: MAX_PAYLOAD_BYTES,
    awaitLoadInInit: env.AWS_LAMBDA_INITIALIZATION_TYPE === "provisioned-concurrency",
  };
}

const GRAPH_MODES: readonly GraphMode[] = ["use", "save", "off"];

function graphMode(raw: string | undefined): GraphMode {
  if (raw === undefined || raw === "") return "use";
  if ((GRAPH_MODES as readonly string[]).includes(raw)) return raw as GraphMode;
  throw new ConfigError(
    "SD_OPTIMIZED_GRAPHS",
    raw,
    `one of ${GRAPH_MODES.join(", ")} (unset: use; save writes a graph optimised for the host into the model folder when it has none)`,
  );
}

function explicitThreads(raw: string): number {
  const value = Number(raw);
  if (raw.trim() === "" || !Number.isInteger(value) || value < 1 || value > 1024)
    throw new ConfigError(
      "SD_THREADS",
      raw,
      "a whole number from 1 to 1024 (unset: one per 1,769 MB of memory)",
    );
  return value;
}
