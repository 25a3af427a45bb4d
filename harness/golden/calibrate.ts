/**
 * `make calibrate-golden`: measures how much a golden case's image moves when only the engine changes, the
 * numbers behind the tolerance tier (docs/decisions/golden-tolerance.md). Every case runs in-process with
 * 1, 2 and 4 threads, optionally through the emulator (--emulator, under the emulator lock) and against the
 * goldens a given commit holds (--against-commit: images made on another machine, e.g. another CPU path).
 * Each variant is compared with the local 2-thread image: identical bytes, largest channel difference,
 * pixels that differ at all, and the smallest pixelmatch threshold at which none differ.
 *
 *   node harness/golden/calibrate.ts [--emulator] [--against-commit SHA] [--out reports/golden-calibration.json]
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import type { StartedTestContainer } from "testcontainers";
import { ROOT } from "../emulator/stack.ts";
import { caseEvent, caseRequest, type GoldenCase, loadCases } from "./cases.ts";
import { comparePixels, type RgbaImage } from "./compare.ts";
import { decodeImage, sha256 } from "./store.ts";
import { DEFAULT_MODELS_DIRS, emulatorTarget, localTarget, type Target } from "./targets.ts";

const THRESHOLDS = [0, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2];

export interface Variation {
  readonly identicalBytes: boolean;
  readonly maxChannelDiff: number;
  readonly pixelsDiffering: number;
  /** The smallest of THRESHOLDS at which pixelmatch finds no differing pixel. */
  readonly zeroAtThreshold: number | null;
  /** Differing pixels at each threshold. */
  readonly byThreshold: Readonly<Record<string, number>>;
}

/** How `other` differs from `reference`, pixel by pixel and through pixelmatch at each threshold. */
export function variation(
  reference: { bytes: Buffer; image: RgbaImage },
  other: { bytes: Buffer; image: RgbaImage },
): Variation {
  let maxChannelDiff = 0;
  let pixelsDiffering = 0;
  const a = reference.image.data;
  const b = other.image.data;
  for (let p = 0; p < a.length; p += 4) {
    let differs = false;
    for (let ch = 0; ch < 3; ch++) {
      const d = Math.abs((a[p + ch] as number) - (b[p + ch] as number));
      if (d > 0) differs = true;
      if (d > maxChannelDiff) maxChannelDiff = d;
    }
    if (differs) pixelsDiffering++;
  }
  const byThreshold: Record<string, number> = {};
  for (const threshold of THRESHOLDS) {
    const options = { threshold, includeAA: true, maxDiffRatio: 1, window: 8, maxWindowDiff: 64 };
    byThreshold[String(threshold)] = comparePixels(reference.image, other.image, options)?.stats.count ?? -1;
  }
  const zero = THRESHOLDS.find((t) => byThreshold[String(t)] === 0);
  return {
    identicalBytes: sha256(reference.bytes) === sha256(other.bytes),
    maxChannelDiff,
    pixelsDiffering,
    zeroAtThreshold: zero ?? null,
    byThreshold,
  };
}

async function runAll(target: Target, cases: readonly GoldenCase[]): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for (const c of cases) {
    const event = caseEvent(c, await caseRequest(c, ROOT));
    out.set(c.name, (await target.run(c, event)).image);
  }
  return out;
}

/** Every case through the function image under the RIE, one container per model. */
async function runEmulator(cases: readonly GoldenCase[]): Promise<Map<string, Buffer>> {
  const { LambdaContainer, invokeUrl } = await import("../emulator/lambda-container.ts");
  const { prepare, settingsFromEnv } = await import("../emulator/stack.ts");
  const { env, baseImage } = prepare(settingsFromEnv(), (line) => process.stderr.write(`${line}\n`));
  process.env.DOCKER_CONFIG = env.DOCKER_CONFIG;
  process.env.SD_LAMBDA_BASE_IMAGE = baseImage;
  process.env.TESTCONTAINERS_RYUK_DISABLED = "true";
  const out = new Map<string, Buffer>();
  for (const model of [...new Set(cases.map((c) => c.model))]) {
    const folder = DEFAULT_MODELS_DIRS.find((d) => existsSync(join(d, model))) ?? DEFAULT_MODELS_DIRS[0];
    const container: StartedTestContainer = await new LambdaContainer({
      modelsDir: folder,
      environment: { SD_MODEL: model },
    }).start();
    try {
      const images = await runAll(
        emulatorTarget({ endpoint: invokeUrl(container) }),
        cases.filter((c) => c.model === model),
      );
      for (const [name, bytes] of images) out.set(name, bytes);
    } finally {
      await container.stop();
    }
  }
  return out;
}

/** The golden images a commit holds (made wherever that commit's goldens were made). */
function goldensAt(commit: string, cases: readonly GoldenCase[]): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const c of cases) {
    for (const ext of ["png", "jpg", "webp"]) {
      try {
        const bytes = execFileSync("git", ["show", `${commit}:fixtures/golden/${c.name}.${ext}`], {
          cwd: ROOT,
          stdio: ["ignore", "pipe", "ignore"],
          maxBuffer: 64 * 1024 * 1024,
        });
        out.set(c.name, bytes);
        break;
      } catch {
        // not in that commit in this format
      }
    }
  }
  return out;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      emulator: { type: "boolean", default: false },
      "against-commit": { type: "string" },
      out: { type: "string", default: join(ROOT, "reports/golden-calibration.json") },
    },
  });
  const cases = await loadCases(join(ROOT, "fixtures/golden/cases.json"));
  const variants = new Map<string, Map<string, Buffer>>();
  for (const threads of [2, 1, 4]) {
    const target = localTarget({ threads });
    variants.set(`local, ${threads} threads`, await runAll(target, cases));
    await target.close();
    process.stderr.write(`local ${threads} threads done\n`);
  }
  if (values.emulator) variants.set("emulator", await runEmulator(cases));
  const commit = values["against-commit"];
  if (commit) variants.set(`goldens of ${commit}`, goldensAt(commit, cases));

  const reference = variants.get("local, 2 threads") as Map<string, Buffer>;
  const report: Record<string, Record<string, Variation>> = {};
  const lines = [
    "variant vs local 2 threads | cases | identical bytes | max channel diff | max pixels differing | max threshold for 0 pixels",
  ];
  for (const [label, images] of variants) {
    if (label === "local, 2 threads") continue;
    report[label] = {};
    for (const c of cases) {
      const ref = reference.get(c.name);
      const other = images.get(c.name);
      if (!ref || !other) continue;
      const refImage = await decodeImage(ref);
      const otherImage = await decodeImage(other);
      if (refImage.width !== otherImage.width || refImage.height !== otherImage.height) continue;
      report[label][c.name] = variation({ bytes: ref, image: refImage }, { bytes: other, image: otherImage });
    }
    const rows = Object.values(report[label]);
    const max = (f: (v: Variation) => number) => Math.max(0, ...rows.map(f));
    lines.push(
      `${label} | ${rows.length} | ${rows.filter((v) => v.identicalBytes).length} | ${max((v) => v.maxChannelDiff)} | ${max((v) => v.pixelsDiffering)} | ${max((v) => v.zeroAtThreshold ?? 1)}`,
    );
  }
  await mkdir(dirname(values.out), { recursive: true });
  await writeFile(values.out, `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(`${lines.join("\n")}\n(per case: ${values.out})\n`);
}

if (import.meta.main) await main();
