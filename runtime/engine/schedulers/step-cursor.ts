/**
 * diffusers' `_step_index` / `_begin_index` bookkeeping for the schedulers that track a step index
 * (LMS, Euler, Euler ancestral, DPM-Solver++, LCM): which step a call is on, and which index `add_noise`
 * resolves a timestep to.
 */

/**
 * diffusers' `index_for_timestep`: the second match when a timestep repeats (so img2img does not skip a
 * sigma). `lastIfMissing` is DPM-Solver's variant, which falls back to the final index.
 */
export function indexForTimestep(timesteps: readonly number[], t: number, lastIfMissing = false): number {
  const hits: number[] = [];
  timesteps.forEach((v, i) => {
    if (v === t) hits.push(i);
  });
  const hit = hits.length > 1 ? hits[1] : hits[0];
  if (hit === undefined) {
    if (lastIfMissing) return timesteps.length - 1;
    throw new RangeError(`timestep ${t} is not in the schedule [${timesteps.join(", ")}]`);
  }
  return hit;
}

export class StepCursor {
  readonly #timesteps: readonly number[];
  readonly #lastIfMissing: boolean;
  begin: number | null = null;
  current: number | null = null;

  constructor(timesteps: readonly number[], lastIfMissing = false) {
    this.#timesteps = timesteps;
    this.#lastIfMissing = lastIfMissing;
  }

  /** `_init_step_index` if needed; returns the step index in use. `index` is the caller's position. */
  at(index: number): number {
    if (this.current === null) {
      const t = this.#timesteps[index];
      if (t === undefined) throw new RangeError(`index ${index} is outside 0..${this.#timesteps.length - 1}`);
      this.current = this.begin ?? indexForTimestep(this.#timesteps, t, this.#lastIfMissing);
    }
    return this.current;
  }

  advance(): void {
    if (this.current === null) throw new Error("advance() before the step index was initialised");
    this.current += 1;
  }

  /** The index `add_noise` resolves `t` to: by value before `set_begin_index`, else current or begin. */
  forAddNoise(t: number): number {
    if (this.begin === null) return indexForTimestep(this.#timesteps, t, this.#lastIfMissing);
    return this.current ?? this.begin;
  }
}
