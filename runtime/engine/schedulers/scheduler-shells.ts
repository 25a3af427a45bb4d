/**
 * The two `Scheduler` shells every scheduler here is built on, so each class supplies only its own `step`
 * and noise rules: `cursorIndexed` for the classes that track diffusers' `_step_index` (begin index, step
 * cursor) and `timestepIndexed` for those indexed by timestep value alone (DDIM, PNDM).
 */

import { StepCursor } from "./step-cursor.ts";
import type { NoiseSource, Scheduler, SchedulerName } from "./types.ts";

/** What one `step` call gets. `stepIndex` is diffusers' step index, `index` the caller's position. */
export interface StepArgs {
  modelOutput: Float32Array;
  sample: Float32Array;
  noise: NoiseSource;
  shape: readonly number[];
  index: number;
  stepIndex: number;
}

export interface CursorIndexedParts {
  name: SchedulerName;
  timesteps: number[];
  /** DPM-Solver's `index_for_timestep` falls back to the last index instead of failing. */
  lastIfMissing?: boolean;
  /** Defaults to 1 (no input scaling needed). */
  initNoiseSigma?: number;
  /** Defaults to the identity. */
  scaleModelInput?: (sample: Float32Array, stepIndex: number) => Float32Array;
  step(args: StepArgs): Float32Array;
  addNoise(original: Float32Array, noise: Float32Array, t: number, cursor: StepCursor): Float32Array;
}

/** A scheduler that resolves its step index once, honours `set_begin_index` and advances after each step. */
export function cursorIndexed(parts: CursorIndexedParts): Scheduler {
  const cursor = new StepCursor(parts.timesteps, parts.lastIfMissing ?? false);
  const scale = parts.scaleModelInput;
  return {
    name: parts.name,
    timesteps: parts.timesteps,
    order: 1,
    initNoiseSigma: parts.initNoiseSigma ?? 1,
    setBeginIndex(index: number) {
      cursor.begin = index;
    },
    scaleModelInput(sample: Float32Array, index: number) {
      return scale === undefined ? sample : scale(sample, cursor.at(index));
    },
    step(modelOutput, index, sample, noise, shape) {
      const stepIndex = cursor.at(index);
      const prev = parts.step({ modelOutput, sample, noise, shape, index, stepIndex });
      cursor.advance();
      return prev;
    },
    addNoise(original: Float32Array, noise: Float32Array, t: number) {
      return parts.addNoise(original, noise, t, cursor);
    },
  };
}

export interface TimestepIndexedParts {
  name: SchedulerName;
  timesteps: number[];
  /** One step at timestep `t = timesteps[index]`. */
  step(modelOutput: Float32Array, t: number, sample: Float32Array): Float32Array;
  addNoise(original: Float32Array, noise: Float32Array, t: number): Float32Array;
}

/**
 * A scheduler without `set_begin_index`: stateless by timestep value (DDIM) or stateful through its own
 * counter, which starts at 0 wherever the loop begins (PNDM). Inputs need no scaling.
 */
export function timestepIndexed(parts: TimestepIndexedParts): Scheduler {
  const { timesteps } = parts;
  return {
    name: parts.name,
    timesteps,
    order: 1,
    initNoiseSigma: 1,
    setBeginIndex() {
      // nothing to set: these classes have no begin index
    },
    scaleModelInput(sample: Float32Array) {
      return sample;
    },
    step(modelOutput: Float32Array, index: number, sample: Float32Array) {
      const t = timesteps[index];
      if (t === undefined) throw new RangeError(`index ${index} is outside 0..${timesteps.length - 1}`);
      return parts.step(modelOutput, t, sample);
    },
    addNoise: parts.addNoise,
  };
}
