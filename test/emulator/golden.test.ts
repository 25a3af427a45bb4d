// The golden gate end to end: every case of fixtures/golden/cases.json through the function image under
// the real RIE (one LambdaContainer per model, on a random port; tiny-sd-inpaint is the 9-channel UNet)
// matches its committed golden byte for byte (the bytes tier, where this machine has the goldens' CPU kernel
// path; on another path the tolerance tier), twice in a row; and a perturbed pipeline (a scratch copy of runtime/ with the classifier-free guidance
// formula changed) fails the gate naming the case, while a case without guidance still matches.
import { cp, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { StartedTestContainer } from "testcontainers";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { DEFAULT_CONFIG } from "../../harness/emulator/config.ts";
import { invokeUrl, LambdaContainer } from "../../harness/emulator/lambda-container.ts";
import { ROOT } from "../../harness/emulator/stack.ts";
import { emulatorTarget, loadCases, localTarget, renderCli, runGate } from "../../harness/golden/index.ts";
import { runtimeConfig } from "../../runtime/config.ts";
import { expectedTier, isaDiff } from "../helpers/golden-kernels.ts";

const GOLDEN_DIR = join(ROOT, "fixtures/golden");
let scratch: string;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), "sd-lambda-golden-"));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe.each([
  { model: "tiny-sd", folder: "fixtures/models", probe: "txt2img-lms.png", atLeast: 10 },
  { model: "tiny-shapes", folder: "fixtures/families", probe: "shapes-pndm.png", atLeast: 10 },
  { model: "tiny-sd-inpaint", folder: "fixtures/families", probe: "inpaint9-ddim.png", atLeast: 2 },
])("golden gate through the emulator: $model", ({ model, folder, probe, atLeast }) => {
  let container: StartedTestContainer;
  beforeAll(async () => {
    container = await new LambdaContainer({
      modelsDir: join(ROOT, folder),
      environment: { SD_MODEL: model },
    }).start();
  });
  afterAll(async () => {
    await container?.stop();
  });

  test("every case matches its golden (byte for byte on the goldens' kernels), twice in a row, with nothing written", async () => {
    const cases = (await loadCases(join(GOLDEN_DIR, "cases.json"))).filter((c) => c.model === model);
    expect(cases.length).toBeGreaterThanOrEqual(atLeast);
    const before = await readFile(join(GOLDEN_DIR, probe));
    for (const run of [1, 2]) {
      // the function's threads, as it derives them from its memory (function URL answers do not say)
      const threads = runtimeConfig({
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(DEFAULT_CONFIG.memoryMb),
      }).threads;
      const target = emulatorTarget({ endpoint: invokeUrl(container), threads });
      const result = await runGate({
        cases,
        target,
        goldenDir: GOLDEN_DIR,
        reportDir: join(scratch, `emulator-${model}-${run}`),
        update: "none",
        root: ROOT,
      });
      expect(result.passed, renderCli(result, result.reports.html)).toBe(true);
      expect(result.cases.map((c) => [c.name, c.outcome.kind, c.action])).toEqual(
        cases.map((c) => [c.name, "match", "kept"]),
      );
      // the container runs this machine's engine: on the goldens' kernels the same bytes, not just close
      expect(result.cases.map((c) => (c.outcome.kind === "match" ? c.outcome.tier : c.outcome.kind))).toEqual(
        cases.map((c) => expectedTier(GOLDEN_DIR, c.name, threads)),
      );
    }
    expect(await readFile(join(GOLDEN_DIR, probe))).toEqual(before);
  });
});

test("a changed guidance formula fails the gate with pixel-diff on the guided case only", async () => {
  // a scratch copy of runtime/ that resolves the project's node_modules
  const copy = join(scratch, "perturbed");
  await cp(join(ROOT, "runtime"), join(copy, "runtime"), { recursive: true });
  await symlink(join(ROOT, "node_modules"), join(copy, "node_modules"));
  await writeFile(join(copy, "package.json"), JSON.stringify({ type: "module" }));
  const pipeline = join(copy, "runtime/engine/pipeline.ts");
  const source = await readFile(pipeline, "utf8");
  const formula = "Math.fround(u + Math.fround(gf * Math.fround(c - u)))";
  expect(source, "pipeline.ts no longer has the guidance formula this test perturbs").toContain(formula);
  // conditional and unconditional swapped: c + g·(u − c)
  await writeFile(pipeline, source.replace(formula, "Math.fround(c + Math.fround(gf * Math.fround(u - c)))"));

  // one thread, where the goldens were made with two: the tolerance tier judges
  const target = localTarget({ runtimeDir: join(copy, "runtime"), threads: 1 });
  const result = await runGate({
    cases: await loadCases(join(GOLDEN_DIR, "cases.json")),
    only: ["txt2img-lms", "txt2img-lcm-no-cfg"],
    target,
    goldenDir: GOLDEN_DIR,
    reportDir: join(scratch, "perturbed-report"),
    update: "none",
    root: ROOT,
  });
  await target.close();
  expect(result.passed).toBe(false);
  const [lms, lcm] = result.cases;
  expect(lms?.name).toBe("txt2img-lms");
  expect(lms?.outcome.kind).toBe("pixel-diff");
  if (lms?.outcome.kind === "pixel-diff") {
    expect(lms.outcome.pixels.ratio).toBeGreaterThan(0.5);
    expect(lms.outcome.pixels.exceeded).toEqual(["budget", "dense"]);
  }
  expect(lms?.action).toBe("kept");
  // guidance 1 runs no classifier-free guidance, so the perturbation cannot reach it
  expect(lcm).toMatchObject({ name: "txt2img-lcm-no-cfg", outcome: { kind: "match" } });
  const kernels = isaDiff(GOLDEN_DIR, "txt2img-lms")
    .map((d) => `, isa "${d.expected}" → "${d.actual}"`)
    .join("");
  expect(renderCli(result, "report.html")).toMatch(
    new RegExp(
      `^DIFF {5}txt2img-lms {14}\\d+ of 4096 pixels differ \\([\\d.]+%\\), densest 8x8 window 64 at \\(\\d+,\\d+\\) — over the budget of 0\\.10% and 2 per 8x8 window \\(tolerance tier: threads 2 → 1${kernels}\\) \\(\\d+ ms\\)$`,
      "m",
    ),
  );
  expect(await readFile(result.reports.junit, "utf8")).toContain('<failure type="pixel-diff"');
});
