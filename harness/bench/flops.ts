/**
 * The arithmetic an ONNX graph does for given input shapes: shapes are inferred node by node (with the
 * values of the small integer tensors exporters use for shape arithmetic: Shape → Gather → Concat →
 * Reshape), and every Conv, ConvTranspose, MatMul and Gemm (and onnxruntime's MultiHeadAttention, as the
 * two MatMuls it fuses; a Winograd convolution as the direct one it replaces) is counted as multiply-accumulates. FLOPs are
 * 2 × MACs, the convention GEMM peaks are quoted in; normalisations and activations are left out (they
 * are a few percent of an SD UNet's work and not GEMM-shaped).
 */
import {
  isIntegerType,
  type OnnxAttribute,
  type OnnxGraph,
  type OnnxNode,
  VALUE_LIMIT,
} from "./onnx-proto.ts";

interface Val {
  readonly shape: readonly number[];
  readonly int: boolean;
  readonly value?: readonly number[];
}

export interface GraphWork {
  /** Multiply-accumulates of Conv/ConvTranspose/MatMul/Gemm. */
  readonly macs: number;
  readonly flops: number;
  readonly byOp: Readonly<Record<string, number>>;
  /** Ops whose output shapes this counter does not know (their successors are then unknown too). */
  readonly unknownOps: readonly string[];
  /** MAC-counting nodes whose input shapes stayed unknown: the count misses them. */
  readonly uncounted: number;
}

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

function broadcast(a: readonly number[], b: readonly number[]): number[] {
  const n = Math.max(a.length, b.length);
  return Array.from({ length: n }, (_, i) => {
    const x = a[a.length - n + i] ?? 1;
    const y = b[b.length - n + i] ?? 1;
    return x === 1 ? y : x;
  });
}

/** Value of `v` at the flat index of an element of `outShape`, with numpy broadcasting. */
function at(v: Val, outShape: readonly number[], flat: number): number {
  const values = v.value as readonly number[];
  if (values.length === 1) return values[0] as number;
  let index = 0;
  let stride = 1;
  let rest = flat;
  for (let d = outShape.length - 1; d >= 0; d--) {
    const coord = rest % (outShape[d] as number);
    rest = Math.floor(rest / (outShape[d] as number));
    const k = d - (outShape.length - v.shape.length);
    if (k < 0) continue;
    const dim = v.shape[k] as number;
    index += (dim === 1 ? 0 : coord) * stride;
    stride *= dim;
  }
  return values[index] as number;
}

function elementwise(ins: readonly Val[], f: ((...x: number[]) => number) | undefined, int: boolean): Val {
  const shape = ins.map((v) => v.shape).reduce(broadcast);
  if (!f || !ins.every((v) => v.value) || size(shape) > VALUE_LIMIT) return { shape, int };
  return {
    shape,
    int,
    value: Array.from({ length: size(shape) }, (_, i) => f(...ins.map((v) => at(v, shape, i)))),
  };
}

const BINARY: Record<string, (a: number, b: number) => number> = {
  Add: (a, b) => a + b,
  Sub: (a, b) => a - b,
  Mul: (a, b) => a * b,
  Div: (a, b) => a / b,
  Pow: (a, b) => a ** b,
  Max: Math.max,
  Min: Math.min,
  Mod: (a, b) => a % b,
};
const COMPARE: Record<string, (a: number, b: number) => boolean> = {
  Equal: (a, b) => a === b,
  Less: (a, b) => a < b,
  LessOrEqual: (a, b) => a <= b,
  Greater: (a, b) => a > b,
  GreaterOrEqual: (a, b) => a >= b,
  And: (a, b) => Boolean(a && b),
  Or: (a, b) => Boolean(a || b),
};
const UNARY: Record<string, ((x: number) => number) | undefined> = {
  Identity: (x) => x,
  Neg: (x) => -x,
  Abs: Math.abs,
  Floor: Math.floor,
  Ceil: Math.ceil,
  Sqrt: Math.sqrt,
  Not: (x) => (x ? 0 : 1),
  Sigmoid: undefined,
  Sin: undefined,
  Cos: undefined,
  Erf: undefined,
  Exp: undefined,
  Log: undefined,
  Tanh: undefined,
  Relu: undefined,
  Softmax: undefined,
  LogSoftmax: undefined,
  LayerNormalization: undefined,
  InstanceNormalization: undefined,
  BatchNormalization: undefined,
  GroupNormalization: undefined,
  Dropout: undefined,
  Reciprocal: undefined,
  Clip: undefined,
  LeakyRelu: undefined,
  Gelu: undefined,
  Softplus: undefined,
  HardSigmoid: undefined,
  IsNaN: undefined,
};

const MAC_OPS = new Set(["Conv", "ConvTranspose", "MatMul", "Gemm", "MultiHeadAttention"]);
const axisOf = (a: number, rank: number) => (a < 0 ? a + rank : a);

/** Shapes of every output of `node`, or undefined for an op this counter does not model. */
function infer(node: OnnxNode, ins: readonly (Val | undefined)[]): Val[] | undefined {
  const attr = (name: string): OnnxAttribute | undefined => node.attributes.get(name);
  const int = (name: string, fallback: number) => attr(name)?.i ?? fallback;
  const ints = (name: string) => attr(name)?.ints;
  const x = ins[0];
  const op = node.opType;
  if (op === "Constant") {
    const t = attr("value")?.t;
    if (t)
      return [{ shape: t.dims, int: isIntegerType(t.dataType), ...(t.values ? { value: t.values } : {}) }];
    const v = attr("value_int")?.i ?? attr("value_float")?.f;
    const list = attr("value_ints")?.ints;
    if (v !== undefined) return [{ shape: [], int: attr("value_int") !== undefined, value: [v] }];
    if (list) return [{ shape: [list.length], int: true, value: list }];
    return undefined;
  }
  if (!x) return undefined;
  if (op in BINARY) {
    const y = ins[1];
    if (!y) return undefined;
    const isInt = x.int && y.int;
    const f = BINARY[op] as (a: number, b: number) => number;
    return [elementwise([x, y], isInt && op === "Div" ? (a, b) => Math.trunc(a / b) : f, isInt)];
  }
  if (op in COMPARE) {
    const y = ins[1];
    if (!y) return undefined;
    const f = COMPARE[op] as (a: number, b: number) => boolean;
    return [elementwise([x, y], (a, b) => (f(a, b) ? 1 : 0), true)];
  }
  if (op in UNARY) return [elementwise([x], UNARY[op], x.int)];
  switch (op) {
    case "Cast": {
      const toInt = isIntegerType(int("to", 1));
      return [elementwise([x], toInt ? Math.trunc : (v) => v, toInt)];
    }
    case "Where": {
      const [c, a, b] = ins;
      if (!c || !a || !b) return undefined;
      return [elementwise([c, a, b], (k, p, q) => (k ? p : q), a.int)];
    }
    case "Shape": {
      const rank = x.shape.length;
      const start = axisOf(int("start", 0), rank);
      const end = attr("end") ? axisOf(int("end", rank), rank) : rank;
      const value = x.shape.slice(start, end);
      return [{ shape: [value.length], int: true, value }];
    }
    case "Size":
      return [{ shape: [], int: true, value: [size(x.shape)] }];
    case "Gather":
      return [gather(x, ins[1], axisOf(int("axis", 0), x.shape.length))].filter(isVal);
    case "Unsqueeze": {
      const axes = ins[1]?.value ?? ints("axes");
      if (!axes) return undefined;
      const rank = x.shape.length + axes.length;
      const norm = new Set(axes.map((a) => axisOf(a, rank)));
      const shape: number[] = [];
      let k = 0;
      for (let d = 0; d < rank; d++) shape.push(norm.has(d) ? 1 : (x.shape[k++] as number));
      return [{ ...x, shape }];
    }
    case "Squeeze": {
      const axes = ins[1]?.value ?? ints("axes");
      const norm = new Set((axes ?? []).map((a) => axisOf(a, x.shape.length)));
      const shape = x.shape.filter((d, i) => (axes ? !norm.has(i) : d !== 1));
      return [{ ...x, shape }];
    }
    case "Concat": {
      if (ins.some((v) => !v)) return undefined;
      const vals = ins as Val[];
      const axis = axisOf(int("axis", 0), x.shape.length);
      const shape = [...x.shape];
      shape[axis] = vals.reduce((s, v) => s + (v.shape[axis] as number), 0);
      const value =
        x.shape.length === 1 && vals.every((v) => v.value)
          ? vals.flatMap((v) => v.value as number[])
          : undefined;
      return [{ shape, int: x.int, ...(value ? { value } : {}) }];
    }
    case "Reshape": {
      const target = ins[1]?.value;
      if (!target) return undefined;
      const shape = target.map((d, i) => (d === 0 && !int("allowzero", 0) ? (x.shape[i] as number) : d));
      const known = shape.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
      const resolved = shape.map((d) => (d === -1 ? size(x.shape) / known : d));
      return [{ shape: resolved, int: x.int, ...(x.value ? { value: x.value } : {}) }];
    }
    case "Flatten": {
      const axis = axisOf(int("axis", 1), x.shape.length);
      return [{ shape: [size(x.shape.slice(0, axis)), size(x.shape.slice(axis))], int: x.int }];
    }
    case "Expand": {
      const target = ins[1]?.value;
      if (!target) return undefined;
      return [{ shape: broadcast(x.shape, target), int: x.int }];
    }
    case "Tile": {
      const reps = ins[1]?.value;
      if (!reps) return undefined;
      return [{ shape: x.shape.map((d, i) => d * (reps[i] as number)), int: x.int }];
    }
    case "Transpose": {
      const perm = ints("perm") ?? x.shape.map((_, i) => x.shape.length - 1 - i);
      return [{ shape: perm.map((p) => x.shape[p] as number), int: x.int }];
    }
    case "Slice":
      return slice(x, ins);
    case "Range": {
      const [s, l, d] = ins.map((v) => v?.value?.[0]);
      if (s === undefined || l === undefined || d === undefined) return undefined;
      const n = Math.max(Math.ceil((l - s) / d), 0);
      return [{ shape: [n], int: x.int, value: Array.from({ length: n }, (_, i) => s + i * d) }];
    }
    case "ConstantOfShape": {
      const shape = x.value;
      if (!shape) return undefined;
      const t = attr("value")?.t;
      const fill = t?.values?.[0] ?? 0;
      const n = size(shape);
      const isInt = t ? isIntegerType(t.dataType) : false;
      return [{ shape, int: isInt, ...(n <= VALUE_LIMIT ? { value: new Array(n).fill(fill) } : {}) }];
    }
    case "Split": {
      const axis = axisOf(int("axis", 0), x.shape.length);
      const parts = ins[1]?.value ?? ints("split");
      const n = node.outputs.length;
      const each = parts ?? new Array(n).fill(Math.ceil((x.shape[axis] as number) / n));
      return each.map((p) => ({ shape: x.shape.map((d, i) => (i === axis ? p : d)), int: x.int }));
    }
    case "Pad": {
      const pads = ins[1]?.value ?? ints("pads");
      if (!pads) return undefined;
      const r = x.shape.length;
      return [
        { shape: x.shape.map((d, i) => d + (pads[i] as number) + (pads[i + r] as number)), int: x.int },
      ];
    }
    case "Resize":
    case "Upsample": {
      const scales = (op === "Upsample" ? ins[1] : ins[2])?.value;
      const sizes = ins[3]?.value;
      if (sizes && sizes.length > 0) return [{ shape: sizes, int: x.int }];
      if (!scales || scales.length === 0) return undefined;
      return [{ shape: x.shape.map((d, i) => Math.floor(d * (scales[i] as number))), int: x.int }];
    }
    case "ArgMax":
    case "ArgMin":
    case "ReduceMean":
    case "ReduceSum":
    case "ReduceMax":
    case "ReduceMin": {
      const axes = op.startsWith("Arg") ? [int("axis", 0)] : (ints("axes") ?? ins[1]?.value);
      const keep = int("keepdims", 1) === 1;
      const all = !axes || axes.length === 0;
      const norm = new Set((axes ?? []).map((a) => axisOf(a, x.shape.length)));
      const shape = x.shape.flatMap((d, i) => (all || norm.has(i) ? (keep ? [1] : []) : [d]));
      return [{ shape, int: op.startsWith("Arg") || x.int }];
    }
    case "GlobalAveragePool":
      return [{ shape: x.shape.map((d, i) => (i < 2 ? d : 1)), int: false }];
    case "MatMul": {
      const w = ins[1];
      if (!w) return undefined;
      const a = x.shape.length === 1 ? [1, ...x.shape] : x.shape;
      const b = w.shape.length === 1 ? [...w.shape, 1] : w.shape;
      const batch = broadcast(a.slice(0, -2), b.slice(0, -2));
      const shape = [
        ...batch,
        ...(x.shape.length === 1 ? [] : [a.at(-2) as number]),
        ...(w.shape.length === 1 ? [] : [b.at(-1) as number]),
      ];
      return [{ shape, int: false }];
    }
    case "Gemm": {
      const w = ins[1];
      if (!w) return undefined;
      const m = int("transA", 0) ? x.shape[1] : x.shape[0];
      const n = int("transB", 0) ? w.shape[0] : w.shape[1];
      return [{ shape: [m as number, n as number], int: false }];
    }
    // onnxruntime's contrib ops in a UNet fused by fixtures/generate/fuse_attention.py
    case "SkipLayerNormalization": {
      const stat = { shape: [...x.shape.slice(0, -1), 1], int: false };
      return [{ shape: x.shape, int: false }, stat, stat, { shape: x.shape, int: false }];
    }
    case "MultiHeadAttention": {
      const v = ins[2];
      if (!v || x.shape.length !== 3 || v.shape.length !== 3) return undefined;
      return [{ shape: [x.shape[0] as number, x.shape[1] as number, v.shape[2] as number], int: false }];
    }
    case "Conv":
    case "ConvTranspose":
    case "MaxPool":
    case "AveragePool":
      return [{ shape: convShape(node, x, ins[1]), int: false }];
    default:
      return undefined;
  }
}

const isVal = (v: Val | undefined): v is Val => v !== undefined;

function gather(x: Val, indices: Val | undefined, axis: number): Val | undefined {
  if (!indices) return undefined;
  const shape = [...x.shape.slice(0, axis), ...indices.shape, ...x.shape.slice(axis + 1)];
  if (!x.value || !indices.value || size(shape) > VALUE_LIMIT) return { shape, int: x.int };
  const outer = size(x.shape.slice(0, axis));
  const inner = size(x.shape.slice(axis + 1));
  const dim = x.shape[axis] as number;
  const value: number[] = [];
  for (let o = 0; o < outer; o++)
    for (const raw of indices.value) {
      const i = raw < 0 ? raw + dim : raw;
      for (let k = 0; k < inner; k++) value.push(x.value[(o * dim + i) * inner + k] as number);
    }
  return { shape, int: x.int, value };
}

function slice(x: Val, ins: readonly (Val | undefined)[]): Val[] | undefined {
  const starts = ins[1]?.value;
  const ends = ins[2]?.value;
  if (!starts || !ends) return undefined;
  const rank = x.shape.length;
  const axes = ins[3]?.value ?? starts.map((_, i) => i);
  const steps = ins[4]?.value ?? starts.map(() => 1);
  const ranges = x.shape.map((d) => ({ start: 0, step: 1, count: d }));
  axes.forEach((raw, k) => {
    const a = axisOf(raw, rank);
    const d = x.shape[a] as number;
    const step = steps[k] as number;
    const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v < 0 ? v + d : v, lo), hi);
    const s = step > 0 ? clamp(starts[k] as number, 0, d) : clamp(starts[k] as number, -1, d - 1);
    const e = step > 0 ? clamp(ends[k] as number, 0, d) : clamp(ends[k] as number, -1, d - 1);
    ranges[a] = { start: s, step, count: Math.max(Math.ceil((e - s) / step), 0) };
  });
  const shape = ranges.map((r) => r.count);
  if (!x.value || rank !== 1) return [{ shape, int: x.int }];
  const r = ranges[0] as { start: number; step: number; count: number };
  const value = Array.from({ length: r.count }, (_, i) => x.value?.[r.start + i * r.step] as number);
  return [{ shape, int: x.int, value }];
}

function convShape(node: OnnxNode, x: Val, w: Val | undefined): number[] {
  const spatial = x.shape.length - 2;
  const kernel = node.attributes.get("kernel_shape")?.ints ?? w?.shape.slice(2) ?? [];
  const strides = node.attributes.get("strides")?.ints ?? new Array(spatial).fill(1);
  const dil = node.attributes.get("dilations")?.ints ?? new Array(spatial).fill(1);
  const pads = node.attributes.get("pads")?.ints ?? new Array(2 * spatial).fill(0);
  const autoPad = node.attributes.get("auto_pad");
  const same = autoPad !== undefined; // SAME_UPPER/SAME_LOWER keep ceil(in / stride); VALID is not used by SD exports
  const transpose = node.opType === "ConvTranspose";
  const out = x.shape.slice(2).map((d, i) => {
    const k = ((kernel[i] as number) - 1) * (dil[i] as number) + 1;
    const s = strides[i] as number;
    const p = (pads[i] as number) + (pads[i + spatial] as number);
    if (transpose) return (d - 1) * s + k - p;
    return same ? Math.ceil(d / s) : Math.floor((d + p - k) / s) + 1;
  });
  const channels = node.opType.endsWith("Pool")
    ? x.shape[1]
    : transpose
      ? (w?.shape[1] as number) * (node.attributes.get("group")?.i ?? 1)
      : w?.shape[0];
  return [x.shape[0] as number, channels as number, ...out];
}

function macs(node: OnnxNode, ins: readonly (Val | undefined)[], out: Val): number {
  const [x, w] = ins as [Val, Val];
  switch (node.opType) {
    case "Conv": // every output element: (Cin / group) × kernel MACs = the weight's size per output channel
      return size(out.shape) * size(w.shape.slice(1));
    case "ConvTranspose": // every input element scatters into Cout/group × kernel outputs
      return size(x.shape) * size(w.shape.slice(1));
    case "MatMul":
      return size(out.shape) * (x.shape.at(-1) as number);
    case "MultiHeadAttention": {
      // q·kᵀ (batch × S × L × D) and scores·v (batch × S × L × Dv): the two MatMuls it replaces
      const [batch, s, d] = x.shape as [number, number, number];
      const l = (ins[1] as Val).shape[1] as number;
      return batch * s * l * (d + (out.shape[2] as number));
    }
    default: {
      // Gemm
      const k = node.attributes.get("transA")?.i ? x.shape[0] : x.shape[1];
      return size(out.shape) * (k as number);
    }
  }
}

/**
 * A convolution rewritten as Winograd F(m×m, 3×3) by fixtures/generate/winograd.py (its tensors are named
 * `<conv output>/winograd<m>/…`) counts as the direct convolution it replaces, the usual convention ("effective"
 * FLOPs; otherwise a faster graph would show a lower rate): its (m+2)² products MatMul (`…/M`) does
 * (m+2)²/(9m²) of the direct MACs over the tiles' area, and the transforms (`…/V`, `…/Y`) count nothing.
 */
function winogradShare(node: OnnxNode): number | undefined {
  const match = /\/winograd(\d+)\/(V|M|Y)$/.exec(node.outputs[0] ?? "");
  if (!match) return undefined;
  const m = Number(match[1]);
  return match[2] === "M" ? (9 * m * m) / (m + 2) ** 2 : 0;
}

/** Counts `graph`'s MACs when its inputs have `inputShapes` (every dynamic input must be given). */
export function countWork(
  graph: OnnxGraph,
  inputShapes: Readonly<Record<string, readonly number[]>>,
): GraphWork {
  const vals = new Map<string, Val>();
  for (const t of graph.initializers)
    vals.set(t.name, {
      shape: t.dims,
      int: isIntegerType(t.dataType),
      ...(t.values ? { value: t.values } : {}),
    });
  for (const input of graph.inputs) {
    if (vals.has(input.name)) continue; // an initializer listed as an input (older exporters)
    const given = inputShapes[input.name];
    const fixed = input.shape.every((d) => typeof d === "number") ? (input.shape as number[]) : undefined;
    const shape = given ?? fixed;
    if (!shape)
      throw new Error(
        `input ${input.name} has dynamic shape [${input.shape.join(",")}]: give its shape (inputs: ${graph.inputs.map((i) => i.name).join(", ")})`,
      );
    vals.set(input.name, { shape, int: isIntegerType(input.elemType) });
  }
  let total = 0;
  let uncounted = 0;
  const byOp: Record<string, number> = {};
  const unknownOps = new Set<string>();
  for (const node of graph.nodes) {
    const ins = node.inputs.map((name) => (name === "" ? undefined : vals.get(name)));
    const known = node.inputs.every((name, i) => name === "" || ins[i] !== undefined);
    const outs = known ? infer(node, ins) : undefined;
    if (!outs) {
      if (known) unknownOps.add(node.opType);
      if (MAC_OPS.has(node.opType)) uncounted++;
      continue;
    }
    node.outputs.forEach((name, i) => {
      const v = outs[i];
      if (v && name) vals.set(name, v);
    });
    if (MAC_OPS.has(node.opType)) {
      const share = winogradShare(node);
      const m = macs(node, ins, outs[0] as Val) * (share ?? 1);
      total += m;
      const op = share === undefined ? node.opType : "Conv";
      byOp[op] = (byOp[op] ?? 0) + m;
    }
  }
  return { macs: total, flops: 2 * total, byOp, unknownOps: [...unknownOps].sort(), uncounted };
}
