/**
 * glibc's `log()` bit for bit, as x86-64 glibc (2.28+, checked against Debian 12's 2.36) computes it on
 * CPUs with FMA and AVX2, where the `log` ifunc picks `__log_fma`: e_log.c built with -mfma -mavx2,
 * so GCC contracted most `a * b + c` into fused multiply-adds. numpy's legacy Gaussian calls this `log`,
 * and V8's `Math.log` differs from it in the last bit for ~3% of inputs (glibc's own log is not
 * correctly rounded either, so a correctly rounded log would not match it).
 *
 * The algorithm is Arm's optimized-routines log (Copyright (c) 2018 Arm Limited, MIT License): x = 2^k z,
 * z in [0x1.6p-1, 0x1.6p0), c the centre of z's subinterval from a 128-entry table, r = z/c - 1 and
 * log(x) = k ln2 + log(c) + log1p(r), with a separate polynomial for x near 1. The sequence of
 * operations below is transcribed from the disassembly of `__log_fma` in libm.so.6 (every fma() here
 * is a vfmadd there), and the constants come from that libm (see glibc-log-table.ts).
 */

import { LN2HI, LN2LO, POLY, POLY1, TAB } from "./glibc-log-table.ts";

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer); // little-endian: u32[0] low word, u32[1] high word
const SPLIT = 134217729; // 2^27 + 1, Veltkamp's splitter

/**
 * fma(a, b, c) = a * b + c rounded once, for finite operands whose product neither overflows nor
 * underflows (true of every call below). Dekker's exact product p + e = a * b, Knuth's TwoSum
 * s + t = c + p, then round(s + roundToOdd(t + e)), which is the correctly rounded a * b + c
 * (Boldo & Melquiond, "Emulation of FMA and correctly-rounded sums: proved algorithms using rounding
 * to odd", IEEE TC 2008).
 */
export function fma(a: number, b: number, c: number): number {
  const p = a * b;
  let t = SPLIT * a;
  const ah = t - (t - a);
  const al = a - ah;
  t = SPLIT * b;
  const bh = t - (t - b);
  const bl = b - bh;
  const e = al * bl - (p - ah * bh - al * bh - ah * bl);
  const s = c + p;
  const sb = s - c;
  const st = c - (s - sb) + (p - sb);
  let v = st + e;
  const vb = v - st;
  const err = st - (v - vb) + (e - vb);
  if (err !== 0) {
    f64[0] = v;
    const lo = u32[0] as number;
    if ((lo & 1) === 0) {
      // v was rounded to an even significand: step one ulp towards the exact sum (the odd neighbour).
      if (v > 0 === err > 0) {
        u32[0] = lo + 1; // lo is even, so no carry
      } else if (lo === 0) {
        u32[0] = 0xffffffff;
        u32[1] = (u32[1] as number) - 1;
      } else {
        u32[0] = lo - 1;
      }
      v = f64[0] as number;
    }
  }
  return s + v;
}

const A0 = POLY[0] as number;
const A1 = POLY[1] as number;
const A2 = POLY[2] as number;
const A3 = POLY[3] as number;
const A4 = POLY[4] as number;
const B0 = POLY1[0] as number;
const B1 = POLY1[1] as number;
const B2 = POLY1[2] as number;
const B3 = POLY1[3] as number;
const B4 = POLY1[4] as number;
const B5 = POLY1[5] as number;
const B6 = POLY1[6] as number;
const B7 = POLY1[7] as number;
const B8 = POLY1[8] as number;
const B9 = POLY1[9] as number;
const B10 = POLY1[10] as number;

/** Natural logarithm with exactly the result of x86-64 glibc's `log` (FMA variant), for every double. */
export function glibcLog(x: number): number {
  f64[0] = x;
  let lo = u32[0] as number;
  let hi = u32[1] as number;

  // x in [1 - 2^-4, 1 + 0x1.09p-4): log1p(r) by polynomial, r = x - 1 exact.
  if (hi >= 0x3fee0000 && hi < 0x3ff10900) {
    if (x === 1) return 0;
    const r = x - 1;
    let b = fma(r, B2, B1);
    let c = fma(r, B5, B4);
    const d = fma(r, B8, B7);
    const r2 = r * r;
    b = fma(r2, B3, b);
    c = fma(r2, B6, c);
    const r3 = r * r2;
    let p = fma(r2, B9, d);
    p = fma(r3, B10, p);
    p = fma(p, r3, c);
    p = fma(p, r3, b);
    // rhi: r with its low 27 bits cleared, so rhi * rhi is exact.
    const rhi = fma(-134217728, r, fma(r, 134217728, r));
    const rr = rhi * rhi;
    const rlo = r - rhi;
    const h = fma(rr, B0, r);
    const l = fma(rr, B0, r - h);
    const q = fma(B0 * rlo, r + rhi, l);
    return h + fma(p, r3, q);
  }

  const top = hi >>> 16;
  if ((top - 0x0010) >>> 0 >= 0x7ff0 - 0x0010) {
    // x < 2^-1022, or inf, or nan (or negative)
    if (x === 0) return Number.NEGATIVE_INFINITY;
    if (x === Number.POSITIVE_INFINITY) return x;
    if (top & 0x8000 || (top & 0x7ff0) === 0x7ff0) return Number.NaN;
    // subnormal: scale into the normal range
    f64[0] = x * 4503599627370496; // 2^52
    lo = u32[0] as number;
    hi = ((u32[1] as number) - (52 << 20)) >>> 0;
  }

  // x = 2^k z, z in [0x1.6p-1, 0x1.6p0); i picks z's subinterval.
  const tmpHi = (hi - 0x3fe60000) | 0;
  const i = (tmpHi >>> 13) & 127;
  const k = tmpHi >> 20;
  u32[0] = lo;
  u32[1] = hi - (tmpHi & 0xfff00000);
  const z = f64[0] as number;
  const invc = TAB[2 * i] as number;
  const logc = TAB[2 * i + 1] as number;

  const w = fma(k, LN2HI, logc);
  const r = fma(z, invc, -1);
  const p1 = fma(r, A2, A1);
  const h = r + w;
  const r2 = r * r;
  let l = fma(k, LN2LO, w - h + r);
  const r3 = r * r2;
  let p = fma(r, A4, A3);
  l = fma(r2, A0, l);
  p = fma(p, r2, p1);
  l = fma(r3, p, l);
  return l + h;
}
