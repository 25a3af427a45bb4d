/**
 * The external-data files an ONNX model names (`TensorProto.external_data` entries with key "location",
 * e.g. `model.onnx_data`), read from the protobuf without loading the weights: length-delimited fields
 * that cannot hold a tensor (raw_data, packed floats…) are skipped by offset, so a 2 GB model costs a few
 * thousand small reads. Field numbers from onnx/onnx.proto3.
 */
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { readVarint, VarintError } from "../protobuf-varint.ts";

/** Random access to the bytes of a file (or of a buffer, in tests). */
export interface ByteSource {
  readonly size: number;
  read(position: number, length: number): Uint8Array;
}

export function bytesSource(bytes: Uint8Array): ByteSource {
  return { size: bytes.length, read: (position, length) => bytes.subarray(position, position + length) };
}

export class OnnxFormatError extends Error {
  readonly code = "ONNX_FORMAT";
}

type Kind = "model" | "graph" | "node" | "attribute" | "sparse" | "tensor" | "entry";

/** Which length-delimited fields of each message can lead to a TensorProto, and as what. */
const DESCEND: Record<Kind, Readonly<Record<number, Kind>>> = {
  model: { 7: "graph" }, // ModelProto.graph
  graph: { 1: "node", 5: "tensor", 15: "sparse" }, // node, initializer, sparse_initializer
  node: { 5: "attribute" }, // NodeProto.attribute
  attribute: { 5: "tensor", 6: "graph", 10: "tensor", 11: "graph" }, // t, g, tensors, graphs
  sparse: { 1: "tensor", 2: "tensor" }, // values, indices
  tensor: { 13: "entry" }, // TensorProto.external_data
  entry: {},
};

const BLOCK = 64 * 1024;

/** A cursor over a ByteSource with a one-block cache. */
class Reader {
  #block: Uint8Array = new Uint8Array();
  #blockStart = 0;
  readonly source: ByteSource;

  constructor(source: ByteSource) {
    this.source = source;
  }

  byte(position: number): number {
    if (position < this.#blockStart || position >= this.#blockStart + this.#block.length) {
      if (position >= this.source.size)
        throw new OnnxFormatError(`ends inside a field (at byte ${position})`);
      this.#blockStart = position;
      this.#block = this.source.read(position, Math.min(BLOCK, this.source.size - position));
    }
    return this.#block[position - this.#blockStart] as number;
  }

  /** A varint at `position`: its value and where it ends. */
  varint(position: number): { value: number; end: number } {
    try {
      return readVarint((at) => this.byte(at), position);
    } catch (error) {
      throw error instanceof VarintError ? new OnnxFormatError(error.message) : error;
    }
  }

  text(position: number, length: number): string {
    return new TextDecoder().decode(this.source.read(position, length));
  }
}

/** The external-data locations named anywhere in the model (sorted, each once). */
export function externalDataLocations(source: ByteSource): string[] {
  const reader = new Reader(source);
  const found = new Set<string>();
  const visit = (kind: Kind, start: number, end: number): void => {
    let key: string | undefined;
    let value: string | undefined;
    for (let at = start; at < end; ) {
      const tag = reader.varint(at);
      const field = Math.floor(tag.value / 8);
      const wire = tag.value % 8;
      at = tag.end;
      if (wire === 0) at = reader.varint(at).end;
      else if (wire === 1) at += 8;
      else if (wire === 5) at += 4;
      else if (wire === 2) {
        const length = reader.varint(at);
        const from = length.end;
        at = from + length.value;
        if (at > end) throw new OnnxFormatError(`field ${field} runs past its message (byte ${from})`);
        const child = DESCEND[kind][field];
        if (child) visit(child, from, at);
        else if (kind === "entry" && field === 1) key = reader.text(from, length.value);
        else if (kind === "entry" && field === 2) value = reader.text(from, length.value);
      } else throw new OnnxFormatError(`unsupported wire type ${wire} at byte ${tag.end - 1}`);
    }
    if (kind === "entry" && key === "location" && value !== undefined) found.add(value);
  };
  visit("model", 0, source.size);
  return [...found].sort();
}

/** externalDataLocations of a file; an unreadable or malformed file throws naming it. */
export function externalDataOfFile(path: string): string[] {
  const fd = openSync(path, "r");
  try {
    const source: ByteSource = {
      size: fstatSync(fd).size,
      read: (position, length) => {
        const buffer = new Uint8Array(length);
        const n = readSync(fd, buffer, 0, length, position);
        return buffer.subarray(0, n);
      },
    };
    return externalDataLocations(source);
  } catch (error) {
    if (error instanceof OnnxFormatError)
      throw new OnnxFormatError(`${path} is not a readable ONNX protobuf: ${error.message}`);
    throw error;
  } finally {
    closeSync(fd);
  }
}
