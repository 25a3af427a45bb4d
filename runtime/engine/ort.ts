/**
 * The one module that touches onnxruntime-node. It loads the native library lazily so a missing or
 * incompatible `.so` becomes an error that names the library and the fix, and it checks every feed
 * against the session's own input metadata (names, dtypes) before running, since exporter versions
 * differ (int32 vs int64 `input_ids`, int64 vs float `timestep`). fp16 exports are cast here, at the
 * session boundary: the engine always feeds and reads float32.
 */
import type * as OrtModule from "onnxruntime-node";
import { ModelError, SdLambdaError } from "../errors.ts";
import { fromHalf, toHalf } from "./half.ts";

type Ort = typeof OrtModule;
export type TensorType = "float32" | "float16" | "int32" | "int64";
export type TensorData = Float32Array | Int32Array | BigInt64Array | Uint16Array;

export interface Tensor {
  readonly type: TensorType;
  readonly data: TensorData;
  readonly dims: readonly number[];
}

export interface TensorInfo {
  readonly name: string;
  readonly type: string;
  readonly shape: readonly (number | string)[];
}

/**
 * Opt-in session settings, for A/B measurements (harness/bench/ab-session.ts); the defaults are the
 * engine's. Each was measured on and off before it could become a default (docs/BENCHMARKS.md).
 */
export interface SessionTuning {
  /** onnxruntime's CPU arena (default off: it keeps each session's peak activations; optimized-graph.ts). */
  readonly memArena?: boolean;
  /** Whether idle intra-op threads spin (onnxruntime's default: yes). */
  readonly spinning?: boolean;
  /** Graph optimisation level (default "all"). */
  readonly optimizationLevel?: "disabled" | "basic" | "extended" | "all";
  /**
   * Whether onnxruntime copies MatMul weights into packed blocks at load (default yes). Off, the weights
   * of a saved graph stay mapped from its file, and each MatMul packs its weights at every call (up to 6 % of
   * a UNet step; optimized-graph.ts).
   */
  readonly prepacking?: boolean;
  /**
   * Whether the intra-op threads treat denormal floats as zero and flush denormal results to zero (default
   * no: measured no faster on the UNet, docs/decisions/session-tuning.md).
   */
  readonly denormalAsZero?: boolean;
  /** Save the optimised graph here when the session is created (optimized-graph.ts). */
  readonly optimizedModelFilePath?: string;
}

let ortPromise: Promise<Ort> | undefined;

/** Explains a failed native load: which library, why, and what to change. */
export function nativeLoadError(cause: unknown): ModelError {
  const text = cause instanceof Error ? cause.message : String(cause);
  const glibc = /version `(GLIBC_[\d.]+)' not found \(required by ([^)]+)\)/.exec(text);
  const missing = /([\w.+-]+\.so[\w.]*): cannot open shared object file/.exec(text);
  const fix = glibc
    ? `${baseName(glibc[2] ?? "")} needs ${glibc[1]}, newer than this system's glibc — use an Amazon Linux 2023 runtime (nodejs20.x or newer, glibc 2.34), not Amazon Linux 2 (glibc 2.26)`
    : missing
      ? `${missing[1]} is missing from the bundle — install production dependencies for linux/x64 inside the image (npm ci --omit=dev --os=linux --cpu=x64) and keep node_modules/onnxruntime-node/bin`
      : "reinstall onnxruntime-node for linux/x64";
  return new ModelError(
    "NATIVE_LIBRARY",
    `cannot load onnxruntime-node's native library: ${firstLine(text)} — ${fix}`,
    {
      cause,
      details: { library: glibc?.[2] ?? missing?.[1] ?? "onnxruntime_binding.node", glibc: glibc?.[1] },
    },
  );
}

function loadOrt(): Promise<Ort> {
  ortPromise ??= import("onnxruntime-node").catch((cause: unknown) => {
    ortPromise = undefined;
    throw nativeLoadError(cause);
  });
  return ortPromise;
}

export class OnnxSession {
  readonly path: string;
  /** The settings it was opened with (the engine's defaults for what is not set). */
  readonly tuning: SessionTuning;
  readonly inputs: readonly TensorInfo[];
  readonly outputs: readonly TensorInfo[];
  readonly #ort: Ort;
  readonly #session: OrtModule.InferenceSession;

  private constructor(path: string, tuning: SessionTuning, ort: Ort, session: OrtModule.InferenceSession) {
    this.path = path;
    this.tuning = tuning;
    this.#ort = ort;
    this.#session = session;
    this.inputs = session.inputMetadata.map(describe);
    this.outputs = session.outputMetadata.map(describe);
  }

  static async open(
    path: string,
    options: { threads: number; tuning?: SessionTuning },
  ): Promise<OnnxSession> {
    const ort = await loadOrt();
    const tuning = options.tuning ?? {};
    try {
      const session = await ort.InferenceSession.create(path, {
        intraOpNumThreads: options.threads,
        interOpNumThreads: 1,
        executionMode: "sequential",
        graphOptimizationLevel: tuning.optimizationLevel ?? "all",
        // The arena keeps each session's peak activations after a run, so UNet and VAE peaks add up:
        // SD 1.5 at 512x512 peaked at 10,978 MB with it, 7,351 MB without, same speed and bytes (bench).
        enableCpuMemArena: tuning.memArena ?? false,
        // saving, onnxruntime warns that the graph fits this CPU only: optimized-graph.ts keys it by CPU
        ...(tuning.optimizedModelFilePath
          ? { optimizedModelFilePath: tuning.optimizedModelFilePath, logSeverityLevel: 3 as const }
          : {}),
        extra: { session: sessionConfig(tuning) },
      });
      return new OnnxSession(path, tuning, ort, session);
    } catch (cause) {
      throw new ModelError(
        "MODEL_INVALID",
        `${path} is not a loadable ONNX model: ${firstLine(String(cause))}`,
        {
          cause,
          details: { path },
        },
      );
    }
  }

  input(name: string): TensorInfo {
    const info = this.inputs.find((i) => i.name === name);
    if (!info) {
      throw new ModelError(
        "MODEL_INVALID",
        `${this.path} has no input "${name}" (inputs: ${this.inputs.map(show).join(", ")}) — export it with optimum-cli export onnx`,
        { details: { path: this.path } },
      );
    }
    return info;
  }

  async run(feeds: Readonly<Record<string, Tensor>>): Promise<Record<string, Tensor>> {
    const cast: Record<string, Tensor> = {};
    for (const info of this.inputs) {
      let feed = feeds[info.name];
      if (feed?.type === "float32" && info.type === "float16")
        feed = { type: "float16", data: toHalf(feed.data as Float32Array), dims: feed.dims };
      if (feed) cast[info.name] = feed;
      if (!feed || feed.type !== info.type) {
        throw new SdLambdaError(
          "ENGINE",
          500,
          `${this.path}: input ${show(info)} got ${feed ? `${feed.type}[${feed.dims.join(",")}]` : "nothing"}`,
        );
      }
    }
    const ortFeeds: Record<string, OrtModule.Tensor> = {};
    for (const [name, t] of Object.entries(cast)) ortFeeds[name] = this.#tensor(t);
    let results: OrtModule.InferenceSession.ReturnType;
    try {
      results = await this.#session.run(ortFeeds);
    } catch (cause) {
      const shown = Object.entries(feeds).map(([n, t]) => `${n}: ${t.type}[${t.dims.join(",")}]`);
      throw new SdLambdaError(
        "ENGINE",
        500,
        `${this.path} failed on {${shown.join("; ")}}: ${firstLine(String(cause))}`,
        {
          cause,
        },
      );
    }
    const out: Record<string, Tensor> = {};
    for (const [name, t] of Object.entries(results)) {
      out[name] =
        t.type === "float16"
          ? { type: "float32", data: fromHalf(halfBits(t.data)), dims: [...t.dims] }
          : { type: t.type as TensorType, data: t.data as TensorData, dims: [...t.dims] };
      t.dispose();
    }
    return out;
  }

  /**
   * float16 goes in as a uint16 tensor relabelled float16: onnxruntime-common wraps Uint16Array float16
   * data in a Float16Array when Node has one (Node 24), and onnxruntime-node 1.30 reads 0 bytes from that.
   */
  #tensor(t: Tensor): OrtModule.Tensor {
    if (t.type !== "float16") return new this.#ort.Tensor(t.type, t.data, t.dims);
    const bits = new this.#ort.Tensor("uint16", t.data as Uint16Array, t.dims);
    Object.defineProperty(bits, "type", { value: "float16" });
    return bits;
  }

  async release(): Promise<void> {
    await this.#session.release();
  }
}

/** The onnxruntime-node version, recorded beside golden images. */
export async function ortVersion(): Promise<string> {
  return (await loadOrt()).env.versions.node ?? "unknown";
}

/** onnxruntime's session config entries ("session.*") for the tuning; none for the defaults. */
function sessionConfig(tuning: SessionTuning): Record<string, unknown> {
  const config: Record<string, unknown> = {};
  if (tuning.spinning !== undefined) config.intra_op = { allow_spinning: tuning.spinning ? "1" : "0" };
  if (tuning.prepacking === false) config.disable_prepacking = "1";
  if (tuning.denormalAsZero) config.set_denormal_as_zero = "1";
  // a UNet is over protobuf's 2 GB: its optimised graph can only be saved with the weights beside it
  if (tuning.optimizedModelFilePath)
    Object.assign(config, {
      optimized_model_external_initializers_file_name: `${baseName(tuning.optimizedModelFilePath)}.data`,
      optimized_model_external_initializers_min_size_in_bytes: "1024",
    });
  return config;
}

function describe(m: OrtModule.InferenceSession.ValueMetadata): TensorInfo {
  return m.isTensor
    ? { name: m.name, type: m.type, shape: m.shape }
    : { name: m.name, type: "non-tensor", shape: [] };
}

function show(i: TensorInfo): string {
  return `${i.name}: ${i.type}[${i.shape.join(",")}]`;
}

function halfBits(data: unknown): Uint16Array {
  const view = data as ArrayBufferView;
  return new Uint16Array(view.buffer.slice(view.byteOffset, view.byteOffset + view.byteLength));
}

function firstLine(text: string): string {
  return text.split("\n")[0] ?? text;
}

function baseName(path: string): string {
  return path.split("/").pop() ?? path;
}
