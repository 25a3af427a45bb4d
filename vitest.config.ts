import { defineConfig } from "vitest/config";

// Test kinds (STYLE §7): unit (no I/O) and integration (real ORT on the tiny model) run by default;
// emulator tests need Docker and run in their own project so `make test` can order them.
export default defineConfig({
  test: {
    include: ["runtime/**/*.test.ts", "harness/**/*.test.ts", "test/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 600_000,
    reporters: ["default", "json"],
    outputFile: { json: "reports/vitest.json" },
  },
});
