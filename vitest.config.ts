import { defineConfig } from "vitest/config";

// Test kinds (STYLE §7): test/unit (no I/O), test/integration (real ORT on the tiny model),
// test/emulator (the function image under the real RIE in Docker, via testcontainers). The global setup
// builds the function image once before any of them.
export default defineConfig({
  test: {
    include: ["runtime/**/*.test.ts", "harness/**/*.test.ts", "test/**/*.test.ts"],
    globalSetup: ["test/setup/emulator-image.ts"],
    testTimeout: 120_000,
    hookTimeout: 600_000,
    reporters: ["default", "json"],
    outputFile: { json: "reports/vitest.json" },
  },
});
