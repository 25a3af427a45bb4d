// The opt-in session settings (ab-session.ts measures them) change speed, never results: the tiny UNet
// gives the same output under each, and a graph saved by a first load (with its weights in a .data file
// beside it) loads with optimisation off and gives the same output again.
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, it } from "vitest";
import { feedsFor } from "../../harness/bench/ab-session.ts";
import { axisValues } from "../../harness/bench/model-work.ts";
import { OnnxSession, type SessionTuning } from "../../runtime/engine/ort.ts";

const UNET = "fixtures/models/tiny-sd/unet/model.onnx";
const axes = axisValues({ width: 64, height: 64, batch: 2, unetEvaluations: 1 }, 8, 77);

async function output(path: string, tuning: SessionTuning): Promise<Float32Array> {
  const session = await OnnxSession.open(path, { threads: 1, tuning });
  try {
    const out = await session.run(feedsFor(session, axes));
    return out.out_sample?.data as Float32Array;
  } finally {
    await session.release();
  }
}

it("each tuning gives the engine's output; a saved optimised graph reloads with optimisation off", async () => {
  const base = await output(UNET, {});
  expect(base.length).toBe(2 * 4 * 8 * 8);
  const worst = (a: Float32Array) => Math.max(...a.map((v, i) => Math.abs(v - (base[i] as number))));
  for (const tuning of [{ memArena: true }, { spinning: false }] as const)
    expect(Array.from(await output(UNET, tuning)), JSON.stringify(tuning)).toEqual(Array.from(base));
  // without the NCHWc layout the convolutions sum in another order: float rounding only
  expect(worst(await output(UNET, { optimizationLevel: "extended" }))).toBeLessThan(1e-5);
  // packing the MatMul weights per call instead of at load: the same kernels, rounding at most
  expect(worst(await output(UNET, { prepacking: false }))).toBeLessThan(1e-5);
  const saved = join(mkdtempSync(join(tmpdir(), "tuning-")), "unet.onnx");
  expect(Array.from(await output(UNET, { optimizedModelFilePath: saved }))).toEqual(Array.from(base));
  expect([existsSync(saved), existsSync(`${saved}.data`)]).toEqual([true, true]);
  const reloaded = await output(saved, { optimizationLevel: "disabled" });
  expect(worst(reloaded)).toBeLessThan(1e-5);
});
