// fixtures/generate/winograd.py rewrites 3×3 convolutions as Winograd F(m×m, 3×3) out of plain ONNX operators
// (make fuse-attention applies it to a UNet). fixtures/fused/winograd holds one graph of two convolutions (16 → 24
// channels, with and without a bias), direct and rewritten with m = 2 and m = 4; here onnxruntime runs all three on
// sizes the tiles do not divide, as a request's size may not, and each must give the direct convolution's output.
import { readFileSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { readGraph } from "../../harness/bench/onnx-proto.ts";
import { OnnxSession } from "../../runtime/engine/ort.ts";

const DIR = "fixtures/fused/winograd";
const sessions = new Map<string, Promise<OnnxSession>>();
const open = (name: string) => {
  const existing = sessions.get(name);
  if (existing) return existing;
  const session = OnnxSession.open(`${DIR}/${name}.onnx`, { threads: 1 });
  sessions.set(name, session);
  return session;
};
afterAll(async () => {
  for (const s of sessions.values()) await (await s).release();
});

function input(batch: number, height: number, width: number) {
  const n = batch * 16 * height * width;
  const data = Float32Array.from({ length: n }, (_, i) => ((i * 7919) % 997) / 997 - 0.5);
  return { type: "float32" as const, data, dims: [batch, 16, height, width] };
}

const threeByThree = (file: string) =>
  readGraph(readFileSync(`${DIR}/${file}.onnx`)).nodes.filter(
    (n) => n.opType === "Conv" && n.attributes.get("kernel_shape")?.ints?.join() === "3,3",
  ).length;

describe("Winograd F(m×m, 3×3) convolutions", () => {
  it("the rewritten graphs keep no 3×3 convolution", () => {
    expect(threeByThree("direct")).toBe(2);
    expect(threeByThree("f2")).toBe(0);
    expect(threeByThree("f4")).toBe(0);
  });

  // F(2×2) rounds like the direct convolution (~1e-6 of the scale); F(4×4)'s points ±2 grow rounding ~8×
  for (const [variant, tolerance] of [
    ["f2", 1e-5],
    ["f4", 1e-4],
  ] as const) {
    const sizes: [number, number, number][] = [
      [1, 8, 8],
      [2, 13, 10],
      [1, 1, 1],
      [1, 5, 32],
      [2, 3, 7],
    ];
    for (const [batch, height, width] of sizes) {
      it(`${variant} equals the direct convolution on ${batch}×16×${height}×${width}`, async () => {
        const feeds = { x: input(batch, height, width) };
        const [direct, rewritten] = await Promise.all([
          open("direct").then((s) => s.run(feeds)),
          open(variant).then((s) => s.run(feeds)),
        ]);
        for (const output of ["with_bias", "without_bias"]) {
          const a = direct[output];
          const b = rewritten[output];
          expect(b?.dims).toEqual([batch, 24, height, width]);
          const x = Array.from(a?.data ?? [], Number);
          const y = Array.from(b?.data ?? [], Number);
          expect(y.length).toBe(x.length);
          const scale = Math.max(1, ...x.map(Math.abs));
          const worst = Math.max(...x.map((v, i) => Math.abs(v - (y[i] as number))));
          expect(worst).toBeLessThanOrEqual(tolerance * scale);
        }
      });
    }
  }
});
