// A UNet fused by fixtures/generate/fuse_attention.py (onnxruntime's com.microsoft.MultiHeadAttention, the
// CPU flash-attention kernel; committed in fixtures/fused/tiny-sd) is served like any export and draws the
// export's picture: the fusion changes the order of float sums, not the image beyond a level here and there.
// The script also splits each GEGLU projection into one MatMul per half, so no Slice copies its product, and
// names every tensor's shape, so that onnxruntime's NCHWc pass fuses residual Adds into their convolutions, and
// rewrites the 3×3 convolutions of the larger sides as Winograd F(m×m, 3×3) (test/integration/winograd.test.ts).
import { cpSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { expect, it } from "vitest";
import { readGraph } from "../../harness/bench/onnx-proto.ts";
import { loadModel, releaseModel } from "../../runtime/engine/model.ts";
import { hostGraphKey, saveOptimizedGraph } from "../../runtime/engine/optimized-graph.ts";
import { render } from "../../runtime/render.ts";
import { DEFAULT_LIMITS, parseRequest } from "../../runtime/request.ts";

const REQUEST = parseRequest(
  { prompt: "a red circle on a blue background", seed: 3, num_inference_steps: 4, guidance_scale: 7.5 },
  DEFAULT_LIMITS,
);

async function pixels(dir: string): Promise<Buffer> {
  const model = await loadModel(dir, { threads: 1, graphs: "off" });
  try {
    return await sharp((await render(model, REQUEST)).bytes)
      .raw()
      .toBuffer();
  } finally {
    await releaseModel(model);
  }
}

it("a UNet with fused MultiHeadAttention draws the export's picture", async () => {
  const fused = join(mkdtempSync(join(tmpdir(), "fused-")), "tiny-sd-mha");
  cpSync("fixtures/models/tiny-sd", fused, { recursive: true });
  rmSync(join(fused, "unet"), { recursive: true });
  cpSync("fixtures/fused/tiny-sd/unet", join(fused, "unet"), { recursive: true });
  expect(readFileSync(join(fused, "unet/model.onnx")).includes("MultiHeadAttention")).toBe(true);

  const gegluSlices = (path: string) =>
    readGraph(readFileSync(path)).nodes.filter(
      (n) => n.opType === "Slice" && n.outputs[0]?.includes("/ff/net.0/"),
    ).length;
  expect(gegluSlices("fixtures/models/tiny-sd/unet/model.onnx")).toBe(8); // two per GEGLU, four GEGLUs
  expect(gegluSlices(join(fused, "unet/model.onnx"))).toBe(0);

  const [a, b] = [await pixels("fixtures/models/tiny-sd"), await pixels(fused)];
  expect(b.length).toBe(a.length);
  const diffs = [...a].map((v, i) => Math.abs(v - (b[i] as number)));
  expect(Math.max(...diffs)).toBeLessThanOrEqual(2);
  expect(diffs.filter((d) => d > 0).length).toBeLessThan(a.length / 100);
});

it("the fused UNet's optimised graph adds its residuals inside the convolutions (NCHWc Conv with a Sum input)", async () => {
  const dir = mkdtempSync(join(tmpdir(), "fused-sum-"));
  const sumConvs = async (unet: string) => {
    const copy = join(dir, unet.replaceAll("/", "-"));
    cpSync(unet, copy, { recursive: true });
    const saved = await saveOptimizedGraph(join(copy, "model.onnx"), await hostGraphKey(), 1);
    return readGraph(readFileSync(saved.path)).nodes.filter(
      (n) => n.domain === "com.microsoft.nchwc" && n.opType === "Conv" && !!n.inputs[3],
    ).length;
  };
  // tiny-sd's channels (16, 32) are whole NCHWc blocks on AVX2 (8) and AVX-512 (16) alike
  expect(await sumConvs("fixtures/models/tiny-sd/unet")).toBe(0); // the export: shapes unknown after a Conv
  // fused with --winograd off: every convolution of the tiny UNet is Winograd otherwise (SD 1.5's 8×8 level is not)
  expect(await sumConvs("fixtures/fused/tiny-sd-direct-conv/unet")).toBeGreaterThan(0);
});
