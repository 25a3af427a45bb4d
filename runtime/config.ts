/**
 * Everything the function reads from its environment, in one place: where the models are, how many
 * threads the vCPUs allow, the request limits, and Lambda's payload limit.
 */
import { availableParallelism } from "node:os";
import { type Limits, limitsFromEnv } from "./request.ts";

/** Lambda gives one vCPU per 1,769 MB of memory (6 vCPUs at 10,240 MB). */
export const MB_PER_VCPU = 1769;
/** Lambda's synchronous invoke payload limit, each way. */
export const MAX_PAYLOAD_BYTES = 6 * 1024 * 1024;

export interface RuntimeConfig {
  readonly mntDir: string;
  readonly modelName: string | undefined;
  readonly threads: number;
  readonly limits: Limits;
  /** Lambda's synchronous payload limit, applied to request bodies and responses alike. */
  readonly maxPayloadBytes: number;
}

export function runtimeConfig(
  env: Readonly<Record<string, string | undefined>> = process.env,
): RuntimeConfig {
  const memory = Number(env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE);
  const cores = availableParallelism();
  const explicit = Number(env.SD_THREADS);
  const threads =
    Number.isInteger(explicit) && explicit > 0
      ? explicit
      : Number.isFinite(memory) && memory > 0
        ? Math.max(1, Math.min(cores, Math.round(memory / MB_PER_VCPU)))
        : cores;
  return {
    mntDir: env.MNT_DIR || "/mnt/fs",
    modelName: env.SD_MODEL || undefined,
    threads,
    limits: limitsFromEnv(env),
    maxPayloadBytes: MAX_PAYLOAD_BYTES,
  };
}
