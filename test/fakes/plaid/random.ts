/**
 * Deterministic randomness for the Plaid fake. Content (institutions, accounts, transactions,
 * owners) comes from a seeded generator so a failing test shows the same data on every run; ids
 * come from a hash of (seed, counter) so they look like Plaid's opaque ids without being random.
 */
import { createHash } from 'node:crypto';

/** mulberry32: tiny, fast and good enough for test data (not for anything secret). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** FNV-1a, to turn a string seed into a 32-bit number. */
export function hashSeed(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export interface Rng {
  next(): number;
  int(min: number, max: number): number;
  pick<T>(xs: readonly T[]): T;
  chance(p: number): boolean;
}

export function rng(seed: string | number): Rng {
  const next = prng(typeof seed === 'number' ? seed : hashSeed(seed));
  return {
    next,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    pick: (xs) => xs[Math.floor(next() * xs.length)]!,
    chance: (p) => next() < p,
  };
}

const ALPHANUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** Opaque ids derived from (seed, counter): Plaid-looking, unique within one fake. */
export class IdSource {
  private n = 0;
  constructor(private readonly seed: string) {}

  private bytes(kind: string): Buffer {
    this.n += 1;
    return createHash('sha256').update(`${this.seed}:${kind}:${this.n}`).digest();
  }

  /** A 37-character id like Plaid's item, account and transaction ids. */
  alnum(kind: string, length = 37): string {
    let out = '';
    let buf = this.bytes(kind);
    for (let i = 0; out.length < length; i++) {
      if (i === buf.length) { buf = createHash('sha256').update(buf).digest(); i = 0; }
      out += ALPHANUM[buf[i]! % ALPHANUM.length];
    }
    return out;
  }

  /** A UUID-shaped id (version nibble 4), as in access, public and link tokens. */
  uuid(kind: string): string {
    const h = this.bytes(kind).toString('hex');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
  }
}
