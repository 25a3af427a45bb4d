// Update modes of the golden gate (in-process, on a scratch copy of the goldens): `none` writes nothing,
// `missing` only creates absent goldens (and records this engine's bytes beside a golden another engine
// made, so the bytes tier holds here from then on), `changed` rewrites the ones that no longer match and leaves
// passing ones untouched, `all` rewrites everything and removes goldens no case uses.
import { cp, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { ROOT } from "../../harness/emulator/stack.ts";
import {
  type GoldenCase,
  hostIsa,
  loadCases,
  localTarget,
  runGate,
  type Target,
  type UpdateMode,
} from "../../harness/golden/index.ts";

let scratch: string;
let goldenDir: string;
let cases: GoldenCase[];
let target: Target;
const ONLY = ["txt2img-lms", "txt2img-euler", "txt2img-ddim"];

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), "sd-lambda-golden-update-"));
  goldenDir = join(scratch, "golden");
  await cp(join(ROOT, "fixtures/golden"), goldenDir, { recursive: true });
  cases = await loadCases(join(goldenDir, "cases.json"));
  target = localTarget({ threads: 1 });
  // euler's golden becomes another case's image; ddim's is gone; an old case left its files behind
  await cp(join(goldenDir, "txt2img-lms.png"), join(goldenDir, "txt2img-euler.png"));
  await rm(join(goldenDir, "txt2img-ddim.png"));
  await writeFile(join(goldenDir, "old-case.json"), "{}\n");
  await cp(join(goldenDir, "txt2img-lms.png"), join(goldenDir, "old-case.png"));
});

afterAll(async () => {
  await target.close();
  await rm(scratch, { recursive: true, force: true });
});

const run = async (update: UpdateMode) => {
  const result = await runGate({
    cases,
    only: ONLY,
    target,
    goldenDir,
    reportDir: join(scratch, `report-${update}`),
    update,
    root: ROOT,
  });
  return {
    passed: result.passed,
    rows: result.cases.map((c) => [c.name, c.outcome.kind, c.action]),
    tiers: result.cases.map((c) => (c.outcome.kind === "match" ? c.outcome.tier : undefined)),
    unused: result.unused,
    removed: result.removed,
  };
};

test("none, missing, changed, all", async () => {
  const lmsBefore = await stat(join(goldenDir, "txt2img-lms.png"));
  expect(await run("none")).toEqual({
    passed: false,
    rows: [
      ["txt2img-lms", "match", "kept"],
      ["txt2img-euler", "pixel-diff", "kept"],
      ["txt2img-ddim", "missing-golden", "none"],
    ],
    tiers: ["tolerance", undefined, undefined],
    unused: ["old-case.json", "old-case.png"],
    removed: [],
  });
  // the goldens were made with 2 threads, this target runs 1: another engine, so lms matched by tolerance
  expect(await run("missing")).toMatchObject({
    passed: false,
    rows: [
      ["txt2img-lms", "match", "recorded"],
      ["txt2img-euler", "pixel-diff", "kept"],
      ["txt2img-ddim", "missing-golden", "written"],
    ],
    tiers: ["tolerance", undefined, undefined],
  });
  const lmsSidecar = JSON.parse(await readFile(join(goldenDir, "txt2img-lms.json"), "utf8"));
  expect(lmsSidecar.fingerprint.threads).toBe(2);
  // added after the engines the committed sidecar already recorded
  const before = lmsSidecar.engines.slice(0, -1);
  const mine = lmsSidecar.engines.at(-1);
  expect(mine).toEqual({
    fingerprint: { ...lmsSidecar.fingerprint, threads: 1, isa: hostIsa() },
    sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
  });
  expect(before.map((e: { fingerprint: { threads: number } }) => e.fingerprint.threads)).not.toContain(1);
  // from now on this engine is held to its recorded bytes: lms in the bytes tier, ddim on its own golden
  expect(await run("none")).toMatchObject({
    rows: [
      ["txt2img-lms", "match", "kept"],
      ["txt2img-euler", "pixel-diff", "kept"],
      ["txt2img-ddim", "match", "kept"],
    ],
    tiers: ["bytes", undefined, "bytes"],
  });
  // and any other bytes fail, though the tolerance tier would pass them
  const withMine = (sha256: string) =>
    writeFile(
      join(goldenDir, "txt2img-lms.json"),
      JSON.stringify({ ...lmsSidecar, engines: [...before, { ...mine, sha256 }] }),
    );
  await withMine("0".repeat(64));
  expect((await run("none")).rows[0]).toEqual(["txt2img-lms", "bytes-diff", "kept"]);
  await withMine(mine.sha256);
  expect(await run("changed")).toMatchObject({
    passed: true,
    rows: [
      ["txt2img-lms", "match", "kept"],
      ["txt2img-euler", "pixel-diff", "written"],
      ["txt2img-ddim", "match", "kept"],
    ],
    unused: ["old-case.json", "old-case.png"],
    removed: [],
  });
  // a passing golden is never rewritten unless asked (recording touched its sidecar only)
  expect((await stat(join(goldenDir, "txt2img-lms.png"))).mtimeMs).toBe(lmsBefore.mtimeMs);
  // the planted image was replaced; that the new one is this engine's render is shown by "all" below,
  // which finds every case matching (byte-identical on the same engine) before it writes. Comparing with
  // the committed file instead held only on the CPU that made the goldens.
  expect(await readFile(join(goldenDir, "txt2img-euler.png"))).not.toEqual(
    await readFile(join(goldenDir, "txt2img-lms.png")),
  );
  expect(await run("all")).toEqual({
    passed: true,
    rows: ONLY.map((name) => [name, "match", "written"]),
    // lms on the bytes recorded for this engine, euler and ddim on their own goldens, written by it
    tiers: ["bytes", "bytes", "bytes"],
    unused: ["old-case.json", "old-case.png"],
    removed: ["old-case.json", "old-case.png"],
  });
  expect(await run("none")).toMatchObject({ passed: true, unused: [] });
  // a rewritten golden is this engine's own, and other engines' records went with the old image
  expect(JSON.parse(await readFile(join(goldenDir, "txt2img-lms.json"), "utf8")).engines).toBeUndefined();
});
