// The gate's two tiers and its contract check, in-process: with the goldens' own thread count (2) and CPU
// kernel path every case must be byte-identical; with 1 or 4 threads, or on another kernel path, the
// fingerprint differs and the calibrated tolerance judges (across thread counts the pixels are in fact
// identical: MLAS gives the same float32 results at any thread count on one kernel path).
// A runtime whose answer names the wrong content type fails with a CONTRACT outcome, though its pixels match.
import { cp, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { ROOT } from "../../harness/emulator/stack.ts";
import {
  describeOutcome,
  type GoldenCase,
  loadCases,
  localTarget,
  runGate,
} from "../../harness/golden/index.ts";
import { expectedTier, isaDiff } from "../helpers/golden-kernels.ts";

const GOLDEN_DIR = join(ROOT, "fixtures/golden");
let scratch: string;
let cases: GoldenCase[];

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), "sd-lambda-golden-tiers-"));
  cases = await loadCases(join(GOLDEN_DIR, "cases.json"));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

const SUBSET = [
  "shapes-pndm",
  "shapes-jpeg",
  "shapes-webp-function-url",
  "shapes-inpaint-ramp-mask",
  "sd-jpeg",
];

describe.each([
  { threads: 2, only: undefined },
  { threads: 1, only: SUBSET },
  { threads: 4, only: SUBSET },
])("$threads threads", ({ threads, only }) => {
  test("every case passes in the tier its fingerprint calls for (bytes: the goldens' threads and kernels)", async () => {
    const target = localTarget({ threads });
    const result = await runGate({
      cases,
      only,
      target,
      goldenDir: GOLDEN_DIR,
      reportDir: join(scratch, `threads-${threads}`),
      update: "none",
      root: ROOT,
    });
    await target.close();
    const rows = result.cases.map((c) => [
      c.name,
      c.outcome.kind === "match" ? c.outcome.tier : describeOutcome(c.outcome),
    ]);
    expect(rows).toEqual(result.cases.map((c) => [c.name, expectedTier(GOLDEN_DIR, c.name, threads)]));
    for (const c of result.cases) {
      const kernels = isaDiff(GOLDEN_DIR, c.name);
      const fingerprint = [
        ...(threads === 2 ? [] : [{ field: "threads", expected: 2, actual: threads }]),
        ...kernels,
      ];
      if (fingerprint.length > 0) expect(c.outcome).toMatchObject({ fingerprint });
      // one kernel path gives the same pixels at any thread count; another path may move a few
      if (kernels.length === 0) expect(c.outcome).toMatchObject({ pixels: { count: 0 } });
    }
  });
});

test("an answer naming the wrong content type is a CONTRACT failure, although its pixels match", async () => {
  const copy = join(scratch, "contract");
  await cp(join(ROOT, "runtime"), join(copy, "runtime"), { recursive: true });
  await symlink(join(ROOT, "node_modules"), join(copy, "node_modules"));
  await writeFile(join(copy, "package.json"), JSON.stringify({ type: "module" }));
  const render = join(copy, "runtime/render.ts");
  const source = await readFile(render, "utf8");
  const line = ["contentType: `image/$", "{plan.outputFormat}`,"].join("");
  expect(source, "render.ts no longer sets the content type this test changes").toContain(line);
  await writeFile(render, source.replace(line, 'contentType: "image/png",'));
  const target = localTarget({ runtimeDir: join(copy, "runtime"), threads: 2 });
  const result = await runGate({
    cases,
    only: ["sd-jpeg", "sd-webp-function-url"],
    target,
    goldenDir: GOLDEN_DIR,
    reportDir: join(scratch, "contract-report"),
    update: "none",
    root: ROOT,
  });
  await target.close();
  // the pixel count after "; " depends on the kernel path (a PNG against a lossy golden): only its form is fixed
  const pixels = "\\d+ of 4096 pixels differ \\([\\d.]+%\\), densest 8x8 window \\d+ at \\(\\d+,\\d+\\)$";
  expect(result.cases.map((c) => [c.name, c.outcome.kind, describeOutcome(c.outcome)])).toEqual([
    [
      "sd-jpeg",
      "contract",
      expect.stringMatching(
        new RegExp(
          `^the answer differs from the golden's: content_type "image/jpeg" → "image/png"; ${pixels}`,
        ),
      ),
    ],
    [
      "sd-webp-function-url",
      "contract",
      expect.stringMatching(
        new RegExp(
          `^the answer differs from the golden's: headers \\{"content-type":"image/webp","x-sd-scheduler":"euler","x-sd-seed":"7"\\} → \\{"content-type":"image/png","x-sd-scheduler":"euler","x-sd-seed":"7"\\}; ${pixels}`,
        ),
      ),
    ],
  ]);
});
