/**
 * The emulator's sandbox limits, derived from the function configuration the way Lambda derives them
 * (pure, no I/O): CPU share from memory (1,769 MB = 1 vCPU, at most 6 vCPU), capped by the cores this
 * machine has. stack.ts writes the result as the variables docker-compose.yml reads.
 */
import { loadDeployConfig } from "../../deploy/config.ts";
import { MB_PER_VCPU } from "../../runtime/config.ts";

export interface FunctionConfig {
  /** 128..10240 MB */
  memoryMb: number;
  /** 1..900 s */
  timeoutS: number;
  /** /tmp size, 512..10240 MB */
  ephemeralStorageMb: number;
}

export interface SandboxLimits {
  /** Docker `cpus`, two decimals. */
  cpus: number;
  /** What Lambda would give, before the machine cap. */
  lambdaVcpus: number;
  /** Set when the machine has fewer cores than Lambda would give: say it, numbers included. */
  capNote?: string;
}

export const MAX_VCPUS = 6;

/** The function's limits in sd-lambda.config.ts (the deploy configuration). */
export const DEFAULT_CONFIG: FunctionConfig = (() => {
  const { memoryMb, timeoutS, ephemeralStorageMb } = loadDeployConfig().function;
  return { memoryMb, timeoutS, ephemeralStorageMb };
})();

export class EmulatorConfigError extends Error {
  readonly code = "EMULATOR_CONFIG";
}

function checkRange(name: string, value: number, min: number, max: number, unit: string): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new EmulatorConfigError(
      `[sd-lambda] ${name}=${value} is outside Lambda's range ${min}..${max} ${unit}`,
    );
  }
}

export function validateConfig(c: FunctionConfig): FunctionConfig {
  checkRange("MEMORY_MB", c.memoryMb, 128, 10240, "MB");
  checkRange("TIMEOUT_S", c.timeoutS, 1, 900, "s");
  checkRange("EPHEMERAL_STORAGE_MB", c.ephemeralStorageMb, 512, 10240, "MB");
  return c;
}

export function sandboxLimits(memoryMb: number, machineCores: number): SandboxLimits {
  const lambdaVcpus = Math.min(MAX_VCPUS, memoryMb / MB_PER_VCPU);
  const round = (n: number) => Math.round(n * 100) / 100;
  if (lambdaVcpus <= machineCores) return { cpus: Math.max(0.01, round(lambdaVcpus)), lambdaVcpus };
  return {
    cpus: machineCores,
    lambdaVcpus,
    capNote:
      `[sd-lambda] ${memoryMb} MB on Lambda gets ${round(lambdaVcpus)} vCPU; this machine has ${machineCores} ` +
      `cores, so the emulator runs with ${machineCores} CPUs: timings will be slower than on Lambda`,
  };
}

/** The variables docker-compose.yml reads. */
export function composeEnv(
  c: FunctionConfig,
  machineCores: number,
): { env: Record<string, string>; limits: SandboxLimits } {
  validateConfig(c);
  const limits = sandboxLimits(c.memoryMb, machineCores);
  return {
    env: {
      MEMORY_MB: String(c.memoryMb),
      CPUS: String(limits.cpus),
      TIMEOUT_S: String(c.timeoutS),
      EPHEMERAL_STORAGE_MB: String(c.ephemeralStorageMb),
    },
    limits,
  };
}
