// The golden gate's HTML report of a failing run, opened in headless Chromium: the failing case shows
// its expected, actual and diff images (all decoded), and the JUnit and CLI renderings name it. The run
// is in-process (target local) against a scratch copy of the goldens with one golden defaced.
import { cp, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { chromium } from "playwright-core";
import sharp from "sharp";
import { afterAll, beforeAll, expect, test } from "vitest";
import { ROOT } from "../../harness/emulator/stack.ts";
import { type GateResult, loadCases, localTarget, runGate } from "../../harness/golden/index.ts";
import { expectedTier } from "../helpers/golden-kernels.ts";

let scratch: string;
let result: GateResult;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), "sd-lambda-golden-report-"));
  const goldenDir = join(scratch, "golden");
  await cp(join(ROOT, "fixtures/golden"), goldenDir, { recursive: true });
  // deface one golden: a 12x12 black square in the middle
  const png = join(goldenDir, "txt2img-euler.png");
  const square = await sharp({
    create: { width: 12, height: 12, channels: 3, background: { r: 0, g: 0, b: 0 } },
  })
    .png()
    .toBuffer();
  const defaced = await sharp(await readFile(png))
    .composite([{ input: square, left: 26, top: 26 }])
    .png()
    .toBuffer();
  await sharp(defaced).toFile(png);
  const target = localTarget({ threads: 1 });
  result = await runGate({
    cases: await loadCases(join(goldenDir, "cases.json")),
    only: ["txt2img-euler", "txt2img-lms"],
    target,
    goldenDir,
    reportDir: join(scratch, "report"),
    update: "none",
    root: ROOT,
  });
  await target.close();
});

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

test("the defaced case fails with a dense pixel-diff; the other matches", () => {
  expect(result.passed).toBe(false);
  // in the order of cases.json
  expect(result.cases.map((c) => [c.name, c.outcome.kind])).toEqual([
    ["txt2img-lms", "match"],
    ["txt2img-euler", "pixel-diff"],
  ]);
  const euler = result.cases[1];
  if (euler?.outcome.kind !== "pixel-diff") throw new Error("expected a pixel-diff");
  expect(euler.outcome.pixels.exceeded).toContain("dense");
  expect(euler.outcome.pixels.densest.count).toBeGreaterThan(8);
});

test("JUnit XML has one failure, for the defaced case", async () => {
  const xml = await readFile(result.reports.junit, "utf8");
  expect(xml).toContain('tests="2" failures="1"');
  expect(xml).toMatch(
    /<testcase classname="golden\.local" name="txt2img-euler" time="[\d.]+">\s*<failure type="pixel-diff"/,
  );
  expect(xml).toMatch(/<testcase classname="golden\.local" name="txt2img-lms" time="[\d.]+"\/>/);
});

const launch = () =>
  chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });

test("the HTML report shows expected, actual and diff of the failing case in Chromium", async () => {
  const browser = await launch();
  try {
    const page = await browser.newPage();
    await page.goto(pathToFileURL(result.reports.html).href);
    await expect.poll(() => page.title()).toBe("golden FAIL — sd-lambda");
    const section = page.locator('section#txt2img-euler[data-outcome="pixel-diff"]');
    await expect.poll(() => section.count()).toBe(1);
    expect(await section.locator(".why").textContent()).toMatch(/pixels differ .* over .*2 per 8x8 window/);
    const sizes = await section.evaluate((el) =>
      ["expected", "actual", "diff"].map((kind) => {
        // tsconfig has no DOM lib: the image element's few fields this test reads
        const img = el.querySelector(`figure.${kind} img`) as unknown as {
          complete: boolean;
          naturalWidth: number;
          naturalHeight: number;
        } | null;
        return [kind, img?.complete ? img.naturalWidth : -1, img?.naturalHeight ?? -1];
      }),
    );
    expect(sizes).toEqual([
      ["expected", 64, 64],
      ["actual", 64, 64],
      ["diff", 64, 64],
    ]);
  } finally {
    await browser.close();
  }
});

// The README's picture of the gate on the trained model: reports/golden-report-shapes.png (copied to
// docs/images/ by hand when the goldens change).
test("the report of tiny-shapes cases shows each prompt beside its picture, all matching (byte-identical on the goldens' kernels)", async () => {
  const only = ["shapes-pndm", "shapes-euler", "shapes-euler-a", "shapes-ddim", "shapes-dpmpp-2m"];
  const target = localTarget({ threads: 2 });
  const shapes = await runGate({
    cases: await loadCases(join(ROOT, "fixtures/golden/cases.json")),
    only,
    target,
    goldenDir: join(ROOT, "fixtures/golden"),
    reportDir: join(scratch, "shapes-report"),
    update: "none",
    root: ROOT,
  });
  await target.close();
  expect(shapes.cases.map((c) => [c.name, c.outcome.kind === "match" && c.outcome.tier])).toEqual(
    only.map((n) => [n, expectedTier(join(ROOT, "fixtures/golden"), n, 2)]),
  );
  const browser = await launch();
  try {
    const page = await browser.newPage({ viewport: { width: 760, height: 600 } });
    await page.goto(pathToFileURL(shapes.reports.html).href);
    await expect.poll(() => page.title()).toBe("golden PASS — sd-lambda");
    const prompts = await page.locator("section .prompt").allTextContents();
    expect(prompts).toEqual(
      [
        "a red circle on a white background",
        "a blue square on a white background",
        "a yellow triangle on a black background",
        "a green square on a grey background",
        "a red triangle on a grey background",
      ].map((p) => `“${p}”`),
    );
    await page.screenshot({ path: join(ROOT, "reports/golden-report-shapes.png"), fullPage: true });
  } finally {
    await browser.close();
  }
});
