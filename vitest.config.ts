import { defineConfig } from "vitest/config";

// Test kinds (STYLE §7), one vitest project each:
//   unit         no I/O beyond reading fixtures
//   integration  real onnxruntime on the tiny model, the CLI, the handler in-process
//   emulator     the function image under the real RIE in Docker (testcontainers); its global setup
//                builds the image first (Docker, runtime build, dependencies, base image)
// `npx vitest run --project unit` runs one kind; `make test` runs them all.
export default defineConfig({
  test: {
    testTimeout: 120_000,
    hookTimeout: 600_000,
    reporters: ["default", "json"],
    outputFile: { json: "reports/vitest.json" },
    projects: [
      { extends: true, test: { name: "unit", include: ["test/unit/**/*.test.ts", "harness/**/*.test.ts"] } },
      { extends: true, test: { name: "integration", include: ["test/integration/**/*.test.ts"] } },
      {
        extends: true,
        test: {
          name: "emulator",
          include: ["test/emulator/**/*.test.ts"],
          globalSetup: ["test/setup/emulator-image.ts"],
          testTimeout: 300_000,
        },
      },
    ],
  },
});
