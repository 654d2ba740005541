/** Seeded randomness for the simulator: deterministic, no Math.random. */

const UINT32 = 4294967296;

/** Murmur3 finaliser: a well-mixed 32-bit integer from another. */
export function mix32(value: number): number {
  let h = value >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** FNV-1a over the text, salted with a seed, then mixed. */
export function hash32(seed: number, text: string): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return mix32(h);
}

/** Two integers hashed together (e.g. a site seed and a time bucket). */
export function hashPair(a: number, b: number): number {
  return mix32((Math.imul(a >>> 0, 0x9e3779b1) ^ mix32(b >>> 0)) >>> 0);
}

/** A hash as a fraction in [0, 1). */
export function unitOf(hash: number): number {
  return (hash >>> 0) / UINT32;
}

/** Any number (negative, fractional, huge) as a 32-bit seed. */
export function seedToUint32(seed: number): number {
  return hash32(0x5eed, String(seed));
}

/** mulberry32: tiny, fast, good enough for simulation. */
export class Prng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / UINT32;
  }

  /** Uniform in [low, high). */
  range(low: number, high: number): number {
    return low + (high - low) * this.next();
  }

  /** Whole number of ms, uniform in [lowMs, highMs]. */
  durationMs(lowMs: number, highMs: number): number {
    return Math.round(this.range(lowMs, highMs));
  }

  /**
   * Approximately standard normal (Irwin-Hall of four uniforms, scaled to unit variance).
   * Bounded at ±3.46, which keeps noisy values inside physical limits.
   */
  gauss(): number {
    return (this.next() + this.next() + this.next() + this.next() - 2) * 1.7320508075688772;
  }
}
