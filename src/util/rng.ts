/**
 * Seeded pseudo-random numbers: xoshiro128** (Blackman & Vigna), seeded through splitmix32.
 *
 * Chosen because it needs only 32-bit integer operations (fast in JavaScript without BigInt),
 * passes BigCrush, and gives bitwise-identical integer streams in every JavaScript engine. (What is
 * computed from them — normal deviates, E-steps — goes through Math.log / Math.exp, which engines
 * may round differently in the last bit: the same seed reproduces a model bit for bit on one
 * engine, and to rounding across engines.)
 */
export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  private spareNormal: number | null = null;

  /**
   * @param seed any finite number; its integer part selects the stream. Every integer with
   *   |seed| ≤ 2^53 − 1 has its own stream: a negative seed's never equals any other seed's.
   */
  constructor(seed: number) {
    if (!Number.isFinite(seed)) throw new RangeError(`seed must be a finite number, got ${seed}`);
    const s = Math.trunc(Math.abs(seed));
    const lo = s % 0x100000000;
    const hi = Math.floor(s / 0x100000000);
    let x = (lo ^ Math.imul(hi, 0x9e3779b9)) >>> 0;
    const next = (): number => {
      // splitmix32: decorrelates nearby seeds.
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next() ^ hi;
    this.s2 = next();
    this.s3 = next();
    if (seed <= -1) {
      // The sign goes into state that no seed ≥ 0 has, not into x: x is a 32-bit function of the
      // seed's 53 bits, so a sign mixed into it made every −s the same stream as some positive
      // seed. A seed ≥ 0 has s0 = next() (one-to-one with x) and s1 = next() ^ hi with hi < 2^21
      // (|seed| < 2^53). A negative seed XORs s1 with a word whose top bit is set, so it is
      // unlike every seed ≥ 0 with the same s0, and the seeds ≥ 0 keep their streams exactly. The
      // other bits of that word, and of the words XORed into s2 and s3, are further splitmix
      // outputs, so −s and s do not differ by a fixed pattern (their first outputs would be
      // correlated).
      this.s1 ^= next() | 0x80000000;
      this.s2 ^= next();
      this.s3 ^= next();
    }
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** Uniform 32-bit unsigned integer. */
  nextU32(): number {
    const s0 = this.s0, s1 = this.s1, s2 = this.s2, s3 = this.s3;
    const m = Math.imul(s1, 5);
    const result = Math.imul((m << 7) | (m >>> 25), 9) >>> 0;
    const t = s1 << 9;
    this.s2 = s2 ^ s0;
    this.s3 = s3 ^ s1;
    this.s1 = s1 ^ this.s2;
    this.s0 = s0 ^ this.s3;
    this.s2 = this.s2 ^ t;
    this.s3 = (this.s3 << 11) | (this.s3 >>> 21);
    return result;
  }

  /** Uniform double in [0, 1) with 53 random bits. */
  nextFloat(): number {
    const hi = this.nextU32() >>> 5; // 27 bits
    const lo = this.nextU32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform integer in [0, n): without modulo bias for n ≤ 2^32; beyond, ⌊nextFloat() · n⌋ (53 random bits). */
  nextInt(n: number): number {
    if (n <= 0) throw new RangeError(`nextInt needs n > 0, got ${n}`);
    if (n > 0x100000000) return Math.floor(this.nextFloat() * n);
    const limit = 0x100000000 - (0x100000000 % n);
    let r: number;
    do r = this.nextU32();
    while (r >= limit);
    return r % n;
  }

  /** Standard normal deviate (Marsaglia's polar method). */
  nextNormal(): number {
    if (this.spareNormal !== null) {
      const v = this.spareNormal;
      this.spareNormal = null;
      return v;
    }
    let u: number, v: number, s: number;
    do {
      u = 2 * this.nextFloat() - 1;
      v = 2 * this.nextFloat() - 1;
      s = u * u + v * v;
    } while (s >= 1 || s === 0);
    const f = Math.sqrt((-2 * Math.log(s)) / s);
    this.spareNormal = v * f;
    return u * f;
  }
}

/** A seed for "seed = 0": mlpack seeds from the clock; we add entropy so parallel runs differ. */
export function seedFromClock(): number {
  const t = Date.now() % 0x100000000;
  const r = Math.floor(Math.random() * 0x1fffff) * 0x100000000;
  const s = (r + t) % Number.MAX_SAFE_INTEGER;
  return s === 0 ? 1 : s;
}
