/** LMSDiscreteScheduler (diffusers 0.42): linear multistep on k-diffusion sigmas, order-4 history. */

import { f32 } from "./common.ts";
import { createSigmaScheduler } from "./sigma-family.ts";
import type { Scheduler, SchedulerConfig } from "./types.ts";

const LMS_ORDER = 4;

// 4-point Gauss–Legendre nodes/weights on [-1, 1]: exact for polynomials up to degree 7 (ours is ≤ 3).
const GL_NODES = [-0.8611363115940526, -0.3399810435848563, 0.3399810435848563, 0.8611363115940526];
const GL_WEIGHTS = [0.3478548451374538, 0.6521451548625461, 0.6521451548625461, 0.3478548451374538];

/**
 * `get_lms_coefficient`: ∫ over [σ_t, σ_{t+1}] of the Lagrange basis polynomial for `current` built on
 * σ_t, σ_{t-1}, …; diffusers integrates it with scipy's quad, which is exact for polynomials to rounding.
 */
export function lmsCoefficient(sigmas: Float32Array, order: number, t: number, current: number): number {
  const s = (i: number) => sigmas[i] as number;
  const basis = (tau: number) => {
    let prod = 1;
    for (let k = 0; k < order; k++) {
      if (k === current) continue;
      prod *= (tau - s(t - k)) / (s(t - current) - s(t - k));
    }
    return prod;
  };
  const a = s(t);
  const b = s(t + 1);
  const half = (b - a) / 2;
  const mid = (a + b) / 2;
  let sum = 0;
  for (let i = 0; i < GL_NODES.length; i++) {
    sum += (GL_WEIGHTS[i] as number) * basis(mid + half * (GL_NODES[i] as number));
  }
  return sum * half;
}

export function createLms(config: SchedulerConfig, steps: number): Scheduler {
  return createSigmaScheduler(
    {
      name: "lms",
      owner: "LMSDiscreteScheduler",
      karrasOption: true,
      makeStep(sigmas) {
        const derivatives: Float32Array[] = [];
        return ({ sample, derivative, stepIndex: si }) => {
          derivatives.push(derivative);
          if (derivatives.length > LMS_ORDER) derivatives.shift();
          const order = Math.min(si + 1, LMS_ORDER);
          // zip(coeffs, reversed(derivatives)) stops at the shorter list (img2img starts with one derivative)
          const terms = Math.min(order, derivatives.length);
          const acc = new Float32Array(sample.length);
          for (let k = 0; k < terms; k++) {
            const coeff = f32(lmsCoefficient(sigmas, order, si, k));
            const d = derivatives[derivatives.length - 1 - k] as Float32Array;
            for (let i = 0; i < acc.length; i++)
              acc[i] = f32((acc[i] as number) + f32(coeff * (d[i] as number)));
          }
          return sample.map((x, i) => f32(x + (acc[i] as number)));
        };
      },
    },
    config,
    steps,
  );
}
