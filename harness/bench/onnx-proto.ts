/**
 * Just enough of the ONNX protobuf (onnx/onnx.proto) to count a graph's work and to write a one-node model:
 * a wire-format reader that keeps large byte fields as views (a 0.5 GB text encoder is not copied) and a
 * writer for ModelProto. Field numbers are onnx.proto's.
 */

import { readVarint } from "../protobuf-varint.ts";

export interface OnnxTensor {
  readonly name: string;
  readonly dims: readonly number[];
  readonly dataType: number;
  /** Numeric contents, only for tensors of at most VALUE_LIMIT elements stored in the file itself. */
  readonly values?: readonly number[];
}

export interface OnnxAttribute {
  readonly name: string;
  readonly i?: number;
  readonly f?: number;
  readonly ints?: readonly number[];
  readonly t?: OnnxTensor;
}

export interface OnnxNode {
  readonly opType: string;
  readonly domain: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attributes: ReadonlyMap<string, OnnxAttribute>;
}

export interface OnnxValueInfo {
  readonly name: string;
  readonly elemType: number;
  /** A number, or the symbolic name of a dynamic axis. */
  readonly shape: readonly (number | string)[];
}

export interface OnnxGraph {
  readonly nodes: readonly OnnxNode[];
  readonly initializers: readonly OnnxTensor[];
  readonly inputs: readonly OnnxValueInfo[];
  readonly outputs: readonly OnnxValueInfo[];
}

/** TensorProto.DataType values used here. */
export const DataType = { FLOAT: 1, INT32: 6, INT64: 7, BOOL: 9, FLOAT16: 10, DOUBLE: 11 } as const;
const INTEGER_TYPES = new Set([2, 3, 4, 5, 6, 7, 9, 12, 13]);
export const isIntegerType = (t: number): boolean => INTEGER_TYPES.has(t);

/** Small tensors (shape arithmetic, scales, masks) keep their values; weights keep only their dims. */
export const VALUE_LIMIT = 1 << 16;

/** One field; `start`/`end` span its key and value in the buffer (for rewriting). */
type Field = { no: number; wire: number; n: number; bytes?: Uint8Array; start: number; end: number };

/** A byte of `buf`, or a thrown error past its end (a truncated varint). */
const byteOf = (buf: Uint8Array) => (position: number) => {
  if (position >= buf.length) throw new Error(`truncated protobuf varint at byte ${position}`);
  return buf[position] as number;
};

function* fields(buf: Uint8Array): Generator<Field> {
  let pos = 0;
  const byteAt = byteOf(buf);
  const varint = (): number => {
    const { value, end } = readVarint(byteAt, pos);
    pos = end;
    return value;
  };
  while (pos < buf.length) {
    const start = pos;
    const key = varint();
    const no = Math.floor(key / 8);
    const wire = key & 7;
    if (wire === 0) {
      const n = varint();
      yield { no, wire, n, start, end: pos };
    } else if (wire === 2) {
      const len = varint();
      pos += len;
      yield { no, wire, n: len, bytes: buf.subarray(pos - len, pos), start, end: pos };
    } else if (wire === 5) {
      pos += 4;
      yield {
        no,
        wire,
        n: new DataView(buf.buffer, buf.byteOffset + pos - 4, 4).getFloat32(0, true),
        start,
        end: pos,
      };
    } else if (wire === 1) {
      pos += 8;
      yield {
        no,
        wire,
        n: new DataView(buf.buffer, buf.byteOffset + pos - 8, 8).getFloat64(0, true),
        start,
        end: pos,
      };
    } else throw new Error(`unsupported protobuf wire type ${wire} at byte ${pos}`);
  }
}

/** Repeated int64 fields come packed (one bytes field) or one varint per element. */
function packedInts(bytes: Uint8Array): number[] {
  const out: number[] = [];
  const byteAt = byteOf(bytes);
  for (let pos = 0; pos < bytes.length; ) {
    const { value, end } = readVarint(byteAt, pos);
    out.push(value);
    pos = end;
  }
  return out;
}

const text = (b: Uint8Array | undefined) => new TextDecoder().decode(b);

function tensor(buf: Uint8Array): OnnxTensor {
  const dims: number[] = [];
  let dataType = 0;
  let name = "";
  let raw: Uint8Array | undefined;
  const listed: number[] = [];
  for (const f of fields(buf)) {
    if (f.no === 1) f.bytes ? dims.push(...packedInts(f.bytes)) : dims.push(f.n);
    else if (f.no === 2) dataType = f.n;
    else if (f.no === 8) name = text(f.bytes);
    else if (f.no === 9) raw = f.bytes;
    else if (f.no === 4 && f.bytes) {
      const v = new DataView(f.bytes.buffer, f.bytes.byteOffset, f.bytes.length);
      for (let i = 0; i + 4 <= f.bytes.length; i += 4) listed.push(v.getFloat32(i, true));
    } else if (f.no === 4) listed.push(f.n);
    else if (f.no === 5 || f.no === 7) f.bytes ? listed.push(...packedInts(f.bytes)) : listed.push(f.n);
  }
  const count = dims.reduce((a, b) => a * b, 1);
  let values: number[] | undefined;
  if (count <= VALUE_LIMIT) {
    if (raw) values = decodeRaw(raw, dataType);
    else if (listed.length === count) values = listed;
  }
  return values ? { name, dims, dataType, values } : { name, dims, dataType };
}

function decodeRaw(raw: Uint8Array, dataType: number): number[] | undefined {
  const v = new DataView(raw.buffer, raw.byteOffset, raw.length);
  const out: number[] = [];
  const each = (size: number, get: (o: number) => number) => {
    for (let o = 0; o + size <= raw.length; o += size) out.push(get(o));
    return out;
  };
  if (dataType === DataType.FLOAT) return each(4, (o) => v.getFloat32(o, true));
  if (dataType === DataType.INT64) return each(8, (o) => Number(v.getBigInt64(o, true)));
  if (dataType === DataType.INT32) return each(4, (o) => v.getInt32(o, true));
  if (dataType === DataType.DOUBLE) return each(8, (o) => v.getFloat64(o, true));
  if (dataType === DataType.BOOL || dataType === 2) return each(1, (o) => v.getUint8(o));
  return undefined;
}

function attribute(buf: Uint8Array): OnnxAttribute {
  let name = "";
  const a: { i?: number; f?: number; ints?: number[]; t?: OnnxTensor } = {};
  for (const f of fields(buf)) {
    if (f.no === 1) name = text(f.bytes);
    else if (f.no === 2) a.f = f.n;
    else if (f.no === 3) a.i = f.n;
    else if (f.no === 5 && f.bytes) a.t = tensor(f.bytes);
    else if (f.no === 8) {
      a.ints ??= [];
      f.bytes ? a.ints.push(...packedInts(f.bytes)) : a.ints.push(f.n);
    }
  }
  return { name, ...a };
}

function node(buf: Uint8Array): OnnxNode {
  const inputs: string[] = [];
  const outputs: string[] = [];
  const attributes = new Map<string, OnnxAttribute>();
  let opType = "";
  let domain = "";
  for (const f of fields(buf)) {
    if (f.no === 1) inputs.push(text(f.bytes));
    else if (f.no === 2) outputs.push(text(f.bytes));
    else if (f.no === 4) opType = text(f.bytes);
    else if (f.no === 7) domain = text(f.bytes);
    else if (f.no === 5 && f.bytes) {
      const a = attribute(f.bytes);
      attributes.set(a.name, a);
    }
  }
  return { opType, domain, inputs, outputs, attributes };
}

function valueInfo(buf: Uint8Array): OnnxValueInfo {
  let name = "";
  let elemType = 0;
  const shape: (number | string)[] = [];
  const sub = (b: Uint8Array | undefined, no: number) =>
    [...fields(b ?? new Uint8Array())].find((f) => f.no === no);
  for (const f of fields(buf)) {
    if (f.no === 1) name = text(f.bytes);
    else if (f.no === 2) {
      const tensorType = sub(f.bytes, 1);
      for (const g of fields(tensorType?.bytes ?? new Uint8Array())) {
        if (g.no === 1) elemType = g.n;
        else if (g.no === 2)
          for (const d of fields(g.bytes ?? new Uint8Array())) {
            if (d.no !== 1) continue;
            const value = sub(d.bytes, 1);
            const param = sub(d.bytes, 2);
            shape.push(value ? value.n : param ? text(param.bytes) : "?");
          }
      }
    }
  }
  return { name, elemType, shape };
}

/** The main graph of a serialized ModelProto (external data is never read: only dims are needed). */
export function readGraph(model: Uint8Array): OnnxGraph {
  const graph = [...fields(model)].find((f) => f.no === 7)?.bytes;
  if (!graph) throw new Error("not an ONNX model: no graph (ModelProto field 7)");
  const nodes: OnnxNode[] = [];
  const initializers: OnnxTensor[] = [];
  const inputs: OnnxValueInfo[] = [];
  const outputs: OnnxValueInfo[] = [];
  for (const f of fields(graph)) {
    if (!f.bytes) continue;
    if (f.no === 1) nodes.push(node(f.bytes));
    else if (f.no === 5) initializers.push(tensor(f.bytes));
    else if (f.no === 11) inputs.push(valueInfo(f.bytes));
    else if (f.no === 12) outputs.push(valueInfo(f.bytes));
  }
  return { nodes, initializers, inputs, outputs };
}

/**
 * The model with the named graph inputs' shapes made static (what onnxruntime's free-dimension overrides
 * do, which onnxruntime-node 1.30 does not expose): every other byte is kept as it was.
 */
export function withStaticInputs(
  model: Uint8Array,
  shapes: Readonly<Record<string, readonly number[]>>,
): Uint8Array {
  const rewrite = (buf: Uint8Array, replace: (f: Field) => Uint8Array | undefined): Uint8Array => {
    const parts: Uint8Array[] = [];
    for (const f of fields(buf)) parts.push(replace(f) ?? buf.subarray(f.start, f.end));
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let pos = 0;
    for (const p of parts) {
      out.set(p, pos);
      pos += p.length;
    }
    return out;
  };
  return rewrite(model, (f) => {
    if (f.no !== 7 || !f.bytes) return undefined;
    const graph = rewrite(f.bytes, (g) => {
      if (g.no !== 11 || !g.bytes) return undefined;
      const info = valueInfo(g.bytes);
      const shape = shapes[info.name];
      return shape
        ? message([[11, valueInfoBytes({ name: info.name, elemType: info.elemType, shape })]])
        : undefined;
    });
    return message([[7, graph]]);
  });
}

// ---- writer ------------------------------------------------------------------------------------

type Part = number | Uint8Array;

function varintBytes(n: number): number[] {
  const out: number[] = [];
  let v = BigInt.asUintN(64, BigInt(n));
  do {
    const b = Number(v & 0x7fn);
    v >>= 7n;
    out.push(v > 0n ? b | 0x80 : b);
  } while (v > 0n);
  return out;
}

/** A message from [field number, value] pairs: numbers are varints, strings and bytes length-delimited. */
export function message(entries: readonly [number, number | string | Uint8Array][]): Uint8Array {
  const parts: Part[] = [];
  for (const [no, value] of entries) {
    if (typeof value === "number") parts.push(...varintBytes(no * 8), ...varintBytes(value));
    else {
      const bytes = typeof value === "string" ? new TextEncoder().encode(value) : value;
      parts.push(...varintBytes(no * 8 + 2), ...varintBytes(bytes.length), bytes);
    }
  }
  const size = parts.reduce<number>((s, p) => s + (typeof p === "number" ? 1 : p.length), 0);
  const out = new Uint8Array(size);
  let pos = 0;
  for (const p of parts) {
    if (typeof p === "number") out[pos++] = p;
    else {
      out.set(p, pos);
      pos += p.length;
    }
  }
  return out;
}

export interface NodeSpec {
  readonly opType: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  /** Integer-list attributes (enough for Conv, Gemm, Transpose). */
  readonly ints?: Readonly<Record<string, readonly number[]>>;
  /** Integer attributes. */
  readonly int?: Readonly<Record<string, number>>;
}

export interface ValueSpec {
  readonly name: string;
  readonly elemType: number;
  readonly shape: readonly (number | string)[];
}

function valueInfoBytes(v: ValueSpec): Uint8Array {
  const dims = v.shape.map((d) => message([typeof d === "number" ? [1, d] : [2, d]]));
  const shape = message(dims.map((d) => [1, d] as [number, Uint8Array]));
  const tensorType = message([
    [1, v.elemType],
    [2, shape],
  ]);
  return message([
    [1, v.name],
    [2, message([[1, tensorType]])],
  ]);
}

/** An initializer: float32 filled with `fill`, or int64 `values` (shape arithmetic in hand-built graphs). */
export function initializerBytes(
  name: string,
  dims: readonly number[],
  contents: { fill: number } | { int64: readonly number[] } = { fill: 0 },
): Uint8Array {
  const count = dims.reduce((a, b) => a * b, 1);
  const raw =
    "fill" in contents
      ? new Uint8Array(new Float32Array(count).fill(contents.fill).buffer)
      : new Uint8Array(BigInt64Array.from(contents.int64, BigInt).buffer);
  const type = "fill" in contents ? DataType.FLOAT : DataType.INT64;
  return message([...dims.map((d) => [1, d] as [number, number]), [2, type], [8, name], [9, raw]]);
}

/** A serialized ModelProto (IR 8, one default-domain opset) from nodes, inputs, outputs and initializers. */
export function buildModel(spec: {
  nodes: readonly NodeSpec[];
  inputs: readonly ValueSpec[];
  outputs: readonly ValueSpec[];
  initializers?: readonly Uint8Array[];
  opset?: number;
}): Uint8Array {
  const nodes = spec.nodes.map((n) => {
    const attrs = [
      ...Object.entries(n.ints ?? {}).map(([name, ints]) =>
        message([[1, name], ...ints.map((i) => [8, i] as [number, number]), [20, 7]]),
      ),
      ...Object.entries(n.int ?? {}).map(([name, i]) =>
        message([
          [1, name],
          [3, i],
          [20, 2],
        ]),
      ),
    ];
    return message([
      ...n.inputs.map((i) => [1, i] as [number, string]),
      ...n.outputs.map((o) => [2, o] as [number, string]),
      [4, n.opType],
      ...attrs.map((a) => [5, a] as [number, Uint8Array]),
    ]);
  });
  const graph = message([
    ...nodes.map((n) => [1, n] as [number, Uint8Array]),
    [2, "g"],
    ...(spec.initializers ?? []).map((t) => [5, t] as [number, Uint8Array]),
    ...spec.inputs.map((v) => [11, valueInfoBytes(v)] as [number, Uint8Array]),
    ...spec.outputs.map((v) => [12, valueInfoBytes(v)] as [number, Uint8Array]),
  ]);
  return message([
    [1, 8],
    [2, "sd-lambda"],
    [7, graph],
    [8, message([[2, spec.opset ?? 17]])],
  ]);
}
