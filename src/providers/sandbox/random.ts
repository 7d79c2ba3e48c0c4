/**
 * Seeded randomness for the sandbox. Everything the sandbox invents comes from here so that the
 * same seed always yields the same data; the platform's unseeded random source is never used here.
 */

/** murmur3's 32-bit finaliser: spreads nearby inputs (consecutive days, similar strings) apart. */
export function fmix32(input: number): number {
  let h = input >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** FNV-1a over UTF-16 code units, finalised with fmix32. `basis` gives independent hash families. */
export function hashString(text: string, basis = 0x811c9dc5): number {
  let h = basis >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return fmix32(h);
}

/** Combines a hash with a number (a day, an index) without building strings: the hot path. */
export function mixHash(hash: number, value: number): number {
  return fmix32((hash ^ Math.imul((value | 0) + 0x9e3779b9, 0x85ebca6b)) >>> 0);
}

/** 16 hex characters from two independent 32-bit hashes: ample to keep sandbox ids unique. */
export function hashHex(text: string): string {
  return hex8(hashString(text)) + hex8(hashString(text, 0x9747b28c));
}

const HEX_BYTES = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** An unsigned 32-bit number as 8 hex digits, as toString(16).padStart(8, '0') (every transaction id takes two). */
function hex8(h: number): string {
  return HEX_BYTES[h >>> 24]! + HEX_BYTES[(h >>> 16) & 255]! + HEX_BYTES[(h >>> 8) & 255]! + HEX_BYTES[h & 255]!;
}

/** A hash mapped to [0, 1): for one-off deterministic decisions (e.g. does this run fail?). */
export function hashUnit(text: string): number {
  return hashString(text) / 4294967296;
}

/** Element `index` of a non-empty list; throws rather than return undefined (noUncheckedIndexedAccess). */
export function at<T>(list: readonly T[], index: number): T {
  const value = list[index];
  if (value === undefined) throw new RangeError(`index ${index} outside list of ${list.length}`);
  return value;
}

/** mulberry32: tiny, fast, good enough for synthetic data; one generator per (seed, account, day). */
export class Rng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) | 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Integer in [min, max], both inclusive. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }

  pick<T>(list: readonly T[]): T {
    return at(list, Math.floor(this.next() * list.length));
  }

  /** Picks by weight; weights need not sum to 1. */
  weighted<T>(choices: readonly (readonly [T, number])[]): T {
    let total = 0;
    for (const [, w] of choices) total += w;
    let r = this.next() * total;
    for (const [value, w] of choices) {
      r -= w;
      if (r < 0) return value;
    }
    return at(choices, choices.length - 1)[0];
  }
}

export function rngFromString(text: string): Rng {
  return new Rng(hashString(text));
}
