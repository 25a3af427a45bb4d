// The FLOP counter on graphs whose work is derived by hand, the ONNX reader/writer it stands on, and the
// tiny model's UNet against onnxruntime's Python symbolic shape inference.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { countWork } from "../../harness/bench/flops.ts";
import { axisValues, inputShapes } from "../../harness/bench/model-work.ts";
import {
  buildModel,
  DataType,
  initializerBytes,
  readGraph,
  withStaticInputs,
} from "../../harness/bench/onnx-proto.ts";

const float = (name: string, shape: (number | string)[]) => ({ name, elemType: DataType.FLOAT, shape });

// x[N,3,H,W] → Conv 3×3 stride 2 pad 1 → [N,4,H/2,W/2] → Reshape to [N,4,-1] with N read by
// Shape→Gather→Unsqueeze→Concat (as torch exports it) → Transpose → MatMul [4,5]; and a Gemm on z[2,6]·w3ᵀ.
const model = buildModel({
  nodes: [
    { opType: "Conv", inputs: ["x", "w"], outputs: ["y"], ints: { pads: [1, 1, 1, 1], strides: [2, 2] } },
    { opType: "Shape", inputs: ["y"], outputs: ["s"] },
    { opType: "Gather", inputs: ["s", "zero"], outputs: ["n"], int: { axis: 0 } },
    { opType: "Unsqueeze", inputs: ["n", "axes0"], outputs: ["n1"] },
    { opType: "Concat", inputs: ["n1", "rest"], outputs: ["target"], int: { axis: 0 } },
    { opType: "Reshape", inputs: ["y", "target"], outputs: ["r"] },
    { opType: "Transpose", inputs: ["r"], outputs: ["rt"], ints: { perm: [0, 2, 1] } },
    { opType: "MatMul", inputs: ["rt", "w2"], outputs: ["m"] },
    { opType: "Gemm", inputs: ["z", "w3"], outputs: ["g"], int: { transB: 1 } },
  ],
  inputs: [float("x", ["batch_size", 3, "height", "width"]), float("z", [2, 6])],
  outputs: [float("m", ["batch_size", "cells", 5]), float("g", [2, 5])],
  initializers: [
    initializerBytes("w", [4, 3, 3, 3]),
    initializerBytes("w2", [4, 5]),
    initializerBytes("w3", [5, 6]),
    initializerBytes("zero", [], { int64: [0] }),
    initializerBytes("axes0", [1], { int64: [0] }),
    initializerBytes("rest", [2], { int64: [4, -1] }),
  ],
});

describe("countWork", () => {
  it("counts Conv, MatMul and Gemm MACs through torch-style shape arithmetic", () => {
    const graph = readGraph(model);
    expect(graph.inputs.map((i) => [i.name, i.shape])).toEqual([
      ["x", ["batch_size", 3, "height", "width"]],
      ["z", [2, 6]],
    ]);
    // Conv: N·Cout·Hout·Wout·Cin·k² = 2·4·4·4·3·9 = 3456; MatMul: 2·16·5·4 = 640; Gemm: 2·5·6 = 60
    expect(countWork(graph, { x: [2, 3, 8, 8] })).toEqual({
      macs: 4156,
      flops: 8312,
      byOp: { Conv: 3456, MatMul: 640, Gemm: 60 },
      unknownOps: [],
      uncounted: 0,
    });
    // the same graph at another size: the work follows the shapes (Conv 2·4·8·8·27, MatMul 2·64·5·4)
    expect(countWork(graph, { x: [2, 3, 16, 16] }).byOp).toEqual({ Conv: 13824, MatMul: 2560, Gemm: 60 });
  });

  it("says which input needs a shape", () => {
    expect(() => countWork(readGraph(model), {})).toThrow(
      "input x has dynamic shape [batch_size,3,height,width]: give its shape (inputs: x, z)",
    );
  });

  it("fixes the inputs' shapes in a copy of the model, every other byte kept", () => {
    const fixed = withStaticInputs(model, { x: [2, 3, 8, 8] });
    const graph = readGraph(fixed);
    expect(graph.inputs.map((i) => [i.name, i.shape])).toEqual([
      ["x", [2, 3, 8, 8]],
      ["z", [2, 6]],
    ]);
    expect(graph.nodes).toEqual(readGraph(model).nodes);
    expect(countWork(graph, {}).macs).toBe(4156);
  });

  it("reports the MAC nodes it could not reach through an unknown op", () => {
    const odd = buildModel({
      nodes: [
        { opType: "NonZero", inputs: ["x"], outputs: ["nz"] },
        { opType: "MatMul", inputs: ["nz", "x"], outputs: ["y"] },
      ],
      inputs: [float("x", [4, 4])],
      outputs: [float("y", [4, 4])],
    });
    expect(countWork(readGraph(odd), {})).toMatchObject({ macs: 0, unknownOps: ["NonZero"], uncounted: 1 });
  });

  it("counts the tiny model's UNet as onnxruntime's symbolic shape inference shapes it", () => {
    // python: SymbolicShapeInference.infer_shapes, then Σ Conv out·|w[1:]| + MatMul out·K + Gemm out·K
    // = 12,569,600 MACs at sample [2,4,8,8] (64² pixels, guidance on)
    const graph = readGraph(readFileSync("fixtures/models/tiny-sd/unet/model.onnx"));
    const axes = axisValues({ width: 64, height: 64, batch: 2, unetEvaluations: 1 }, 8, 77);
    const shapes = inputShapes(graph.inputs, axes, "unet/model.onnx");
    expect(shapes).toEqual({ sample: [2, 4, 8, 8], timestep: [], encoder_hidden_states: [2, 77, 16] });
    expect(countWork(graph, shapes).macs).toBe(12_569_600);
  });

  it("counts the same UNet fused by fuse_attention.py alike: MultiHeadAttention as the two MatMuls it replaces, Winograd convolutions as the direct ones", () => {
    const graph = readGraph(readFileSync("fixtures/fused/tiny-sd/unet/model.onnx"));
    const axes = axisValues({ width: 64, height: 64, batch: 2, unetEvaluations: 1 }, 8, 77);
    const work = countWork(graph, inputShapes(graph.inputs, axes, "unet/model.onnx"));
    expect(work).toMatchObject({ macs: 12_569_600, unknownOps: [], uncounted: 0 });
    expect(work.byOp.MultiHeadAttention).toBeGreaterThan(0);
    const winograd = graph.nodes.filter((n) => /\/winograd4\/M$/.test(n.outputs[0] ?? "")).length;
    expect(winograd).toBe(17); // all but conv_in/conv_out are F(4×4, 3×3) (fusion.json): the same MACs as before
  });

  it("names an axis it cannot size", () => {
    expect(() => inputShapes([float("x", ["frames", 4])], { batch_size: 1 }, "m.onnx")).toThrow(
      'm.onnx: input x has an axis named "frames"; the FLOP counter knows batch_size',
    );
  });
});
