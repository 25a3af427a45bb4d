// The gate's two tiers and its contract check, in-process: with the goldens' own thread count (2) every
// case must be byte-identical; with 1 or 4 threads the fingerprint differs and the calibrated tolerance
// judges (the pixels are in fact identical: MLAS gives the same float32 results at any thread count here).
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
  { threads: 2, tier: "bytes", only: undefined },
  { threads: 1, tier: "tolerance", only: SUBSET },
  { threads: 4, tier: "tolerance", only: SUBSET },
])("$threads threads", ({ threads, tier, only }) => {
  test(`every case passes in the ${tier} tier`, async () => {
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
    expect(rows).toEqual(result.cases.map((c) => [c.name, tier]));
    if (tier === "tolerance")
      for (const c of result.cases)
        expect(c.outcome).toMatchObject({
          pixels: { count: 0 },
          fingerprint: [{ field: "threads", expected: 2, actual: threads }],
        });
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
  expect(result.cases.map((c) => [c.name, describeOutcome(c.outcome)])).toEqual([
    [
      "sd-jpeg",
      'the answer differs from the golden\'s: content_type "image/jpeg" → "image/png"; 0 of 4096 pixels differ (0.00%), densest 8x8 window 0 at (0,0)',
    ],
    [
      "sd-webp-function-url",
      'the answer differs from the golden\'s: headers {"content-type":"image/webp","x-sd-scheduler":"euler","x-sd-seed":"7"} → {"content-type":"image/png","x-sd-scheduler":"euler","x-sd-seed":"7"}; 0 of 4096 pixels differ (0.00%), densest 8x8 window 0 at (0,0)',
    ],
  ]);
});
