import { describe, expect, it } from "vitest";
import { composeEnv, sandboxLimits, validateConfig } from "./config.ts";

describe("sandboxLimits", () => {
  it("gives 1 vCPU per 1,769 MB when the machine has the cores", () => {
    expect(sandboxLimits(1769, 8)).toEqual({ cpus: 1, lambdaVcpus: 1 });
    expect(sandboxLimits(3008, 8).cpus).toBe(1.7);
  });

  it("caps at 6 vCPU like Lambda", () => {
    expect(sandboxLimits(10240, 16).cpus).toBeCloseTo(5.79, 2);
    expect(sandboxLimits(10240, 16).capNote).toBeUndefined();
  });

  it("caps by the machine's cores and says so", () => {
    const limits = sandboxLimits(10240, 2);
    expect(limits.cpus).toBe(2);
    expect(limits.capNote).toBe(
      "[sd-lambda] 10240 MB on Lambda gets 5.79 vCPU; this machine has 2 cores, so the emulator runs with 2 CPUs: timings will be slower than on Lambda",
    );
  });
});

describe("composeEnv", () => {
  it("produces the variables docker-compose.yml reads", () => {
    expect(composeEnv({ memoryMb: 3008, timeoutS: 60, ephemeralStorageMb: 1024 }, 2).env).toEqual({
      MEMORY_MB: "3008",
      CPUS: "1.7",
      TIMEOUT_S: "60",
      EPHEMERAL_STORAGE_MB: "1024",
    });
  });

  it("rejects values Lambda would reject, naming the variable and the range", () => {
    expect(() => validateConfig({ memoryMb: 64, timeoutS: 60, ephemeralStorageMb: 512 })).toThrow(
      "[sd-lambda] MEMORY_MB=64 is outside Lambda's range 128..10240 MB",
    );
    expect(() => validateConfig({ memoryMb: 1024, timeoutS: 901, ephemeralStorageMb: 512 })).toThrow(
      "[sd-lambda] TIMEOUT_S=901 is outside Lambda's range 1..900 s",
    );
  });
});
