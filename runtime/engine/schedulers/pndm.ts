/**
 * PNDMScheduler (diffusers 0.42): pseudo Runge–Kutta warm-up (unless `skip_prk_steps`) then pseudo linear
 * multistep on the `ets` history. Stateful through its own counter, like diffusers (no begin index).
 */

import { predictEpsilon, readAlphaSetup, readIntegerTimesteps } from "./alpha-family.ts";
import { alphaAt, f32 } from "./common.ts";
import { timestepIndexed } from "./scheduler-shells.ts";
import type { Scheduler, SchedulerConfig } from "./types.ts";

const PNDM_ORDER = 4;

/** diffusers' `prk_timesteps` / `plms_timesteps` concatenated (the values the UNet sees). */
function pndmTimesteps(ascending: number[], skipPrk: boolean, train: number, steps: number) {
  if (skipPrk) {
    const plms = [...ascending.slice(0, -1), ...ascending.slice(-2, -1), ...ascending.slice(-1)].reverse();
    return { prk: [] as number[], plms };
  }
  // np.array(_timesteps[-4:]).repeat(2) + np.tile([0, half], 4)
  const tail = ascending.slice(-PNDM_ORDER).flatMap((t) => [t, t]);
  if (tail.length !== 2 * PNDM_ORDER) {
    throw new Error(
      `PNDMScheduler: skip_prk_steps=false needs at least ${PNDM_ORDER} inference steps (diffusers fails to broadcast), got ${steps}`,
    );
  }
  const half = Math.floor(Math.floor(train / steps) / 2);
  const shifted = tail.map((t, i) => t + (i % 2 === 0 ? 0 : half));
  const prk = shifted
    .slice(0, -1)
    .flatMap((t) => [t, t])
    .slice(1, -1)
    .reverse();
  const plms = ascending.slice(0, -3).reverse();
  return { prk, plms };
}

export function createPndm(config: SchedulerConfig, steps: number): Scheduler {
  const { read, acp, train, prediction, alphaPrev, addNoise } = readAlphaSetup(config, {
    owner: "PNDMScheduler",
    predictions: ["epsilon", "v_prediction"],
    alphaToOne: false,
    thresholding: false,
  });
  const skipPrk = read.boolean("skip_prk_steps", false);
  const ascending = readIntegerTimesteps(read, train, steps).reverse();
  const { prk, plms } = pndmTimesteps(ascending, skipPrk, train, steps);
  const timesteps = [...prk, ...plms];
  const stride = Math.floor(train / steps);

  let counter = 0;
  let ets: Float32Array[] = [];
  let curSample: Float32Array | null = null;
  let curModelOutput: Float32Array | null = null; // diffusers' `cur_model_output` (0 when null)

  const prevSample = (sample: Float32Array, t: number, prevT: number, modelOutput: Float32Array) => {
    const alphaT = alphaAt(acp, t);
    const alphaPrevT = alphaPrev(prevT);
    const betaT = f32(1 - alphaT);
    const betaPrev = f32(1 - alphaPrevT);
    const eps = predictEpsilon(prediction, alphaT, modelOutput, sample);
    const sampleCoeff = f32(Math.sqrt(f32(alphaPrevT / alphaT)));
    const denom = f32(
      f32(alphaT * f32(Math.sqrt(betaPrev))) + f32(Math.sqrt(f32(f32(alphaT * betaT) * alphaPrevT))),
    );
    const diff = f32(alphaPrevT - alphaT);
    return sample.map((x, i) => f32(f32(sampleCoeff * x) - f32(f32(diff * (eps[i] as number)) / denom)));
  };

  const scaled = (a: Float32Array, c: number) => a.map((v) => f32(f32(c) * v));
  const plus = (a: Float32Array | null, b: Float32Array) =>
    a === null ? b : a.map((v, i) => f32(v + (b[i] as number)));

  const stepPrk = (modelOutput: Float32Array, t: number, sample: Float32Array) => {
    const diffToPrev = counter % 2 ? 0 : Math.floor(Math.floor(train / steps) / 2);
    const prevT = t - diffToPrev;
    const tCur = prk[Math.floor(counter / 4) * 4] as number;
    let output = modelOutput;
    if (counter % 4 === 0) {
      curModelOutput = plus(curModelOutput, scaled(modelOutput, 1 / 6));
      ets.push(modelOutput);
      curSample = sample;
    } else if ((counter - 1) % 4 === 0 || (counter - 2) % 4 === 0) {
      curModelOutput = plus(curModelOutput, scaled(modelOutput, 1 / 3));
    } else {
      output = plus(curModelOutput, scaled(modelOutput, 1 / 6));
      curModelOutput = null;
    }
    const result = prevSample(curSample ?? sample, tCur, prevT, output);
    counter += 1;
    return result;
  };

  const stepPlms = (modelOutput: Float32Array, timestep: number, sample: Float32Array) => {
    if (!skipPrk && ets.length < 3) {
      throw new Error("PNDMScheduler: PLMS steps need the 12 PRK warm-up steps first (skip_prk_steps=false)");
    }
    let t = timestep;
    let prevT = t - stride;
    if (counter !== 1) {
      ets = ets.slice(-3);
      ets.push(modelOutput);
    } else {
      prevT = t;
      t = t + stride;
    }
    const e = (k: number) => ets[ets.length - k] as Float32Array;
    let output: Float32Array;
    let x = sample;
    if (ets.length === 1 && counter === 0) {
      output = modelOutput;
      curSample = sample;
    } else if (ets.length === 1 && counter === 1) {
      output = modelOutput.map((m, i) => f32(f32(m + (e(1)[i] as number)) / 2));
      x = curSample as Float32Array;
      curSample = null;
    } else if (ets.length === 2) {
      output = e(1).map((v, i) => f32(f32(f32(3 * v) - (e(2)[i] as number)) / 2));
    } else if (ets.length === 3) {
      output = e(1).map((v, i) =>
        f32(f32(f32(f32(23 * v) - f32(16 * (e(2)[i] as number))) + f32(5 * (e(3)[i] as number))) / 12),
      );
    } else {
      const c = f32(1 / 24);
      output = e(1).map((v, i) =>
        f32(
          c *
            f32(
              f32(f32(f32(55 * v) - f32(59 * (e(2)[i] as number))) + f32(37 * (e(3)[i] as number))) -
                f32(9 * (e(4)[i] as number)),
            ),
        ),
      );
    }
    const result = prevSample(x, t, prevT, output);
    counter += 1;
    return result;
  };

  return timestepIndexed({
    name: "pndm",
    timesteps,
    step(modelOutput, t, sample) {
      return counter < prk.length && !skipPrk
        ? stepPrk(modelOutput, t, sample)
        : stepPlms(modelOutput, t, sample);
    },
    addNoise,
  });
}
