/**
 * The scheduler contract the denoising loop relies on. Each scheduler mirrors the diffusers class of the
 * same name, built from the model's `scheduler/scheduler_config.json` the way `from_config` does, so a
 * model's betas, offsets and spacing are honoured whatever scheduler a request picks.
 */

export const SCHEDULER_NAMES = ["lms", "pndm", "euler", "euler_a", "ddim", "dpmpp_2m", "lcm"] as const;
export type SchedulerName = (typeof SCHEDULER_NAMES)[number];

/** `scheduler_config.json` as diffusers writes it (snake_case keys, unknown keys kept). */
export interface SchedulerConfig {
  num_train_timesteps: number;
  beta_start: number;
  beta_end: number;
  beta_schedule: string;
  trained_betas?: number[] | null;
  steps_offset?: number;
  set_alpha_to_one?: boolean;
  skip_prk_steps?: boolean;
  clip_sample?: boolean;
  prediction_type?: string;
  timestep_spacing?: string;
  [key: string]: unknown;
}

/** Draws standard normal noise in numpy's order (see random.ts). */
export interface NoiseSource {
  randn(shape: readonly number[]): Float32Array;
}

/**
 * One generation's scheduler: stateful like diffusers' (multistep history), so make a new one per image.
 * `index` is always a position in `timesteps`.
 */
export interface Scheduler {
  readonly name: SchedulerName;
  /** The timesteps the UNet sees, in order (diffusers' `scheduler.timesteps` after `set_timesteps`). */
  readonly timesteps: readonly number[];
  /** diffusers' `order`: img2img skips `t_start * order` timesteps. */
  readonly order: number;
  readonly initNoiseSigma: number;
  /** img2img/inpaint start part-way (diffusers' `set_begin_index`). */
  setBeginIndex(index: number): void;
  scaleModelInput(sample: Float32Array, index: number): Float32Array;
  /** One denoising step; `noise` is used only by stochastic schedulers (Euler ancestral, LCM). */
  step(
    modelOutput: Float32Array,
    index: number,
    sample: Float32Array,
    noise: NoiseSource,
    shape: readonly number[],
  ): Float32Array;
  /**
   * Forward-diffuse clean latents to timestep `t` (img2img start, inpaint blending), resolving `t` to a
   * sigma exactly as diffusers' `add_noise` does (begin index before the first step, current index after).
   */
  addNoise(original: Float32Array, noise: Float32Array, t: number): Float32Array;
}
