/**
 * Opaque, prefixed, time-ordered ids: `<prefix>_<10 chars of milliseconds><16 random chars>`, in
 * Crockford base32, so sorting by id sorts by creation time and cursors can be plain ids.
 */
import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

export type IdPrefix = 'app' | 'key' | 'usr' | 'con' | 'job' | 'acc' | 'txn' | 'evt' | 'call' | 'del' | 'whe' | 'whd' | 'wha' | 'ctk' | 'opr' | 'ops' | 'imp';

let lastMs = 0;
let lastRandom: number[] = [];

export function newId(prefix: IdPrefix, nowMs = Date.now()): string {
  let time = '';
  let ms = nowMs;
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[ms % 32] + time;
    ms = Math.floor(ms / 32);
  }
  let random: number[];
  if (nowMs === lastMs && lastRandom.length === 16) {
    // Same millisecond: increment the random part so ids stay strictly increasing within a process.
    random = [...lastRandom];
    for (let i = 15; i >= 0; i--) {
      random[i] = (random[i]! + 1) % 32;
      if (random[i] !== 0) break;
    }
  } else {
    const bytes = randomBytes(16);
    random = [...bytes].map((b) => b % 32);
  }
  lastMs = nowMs;
  lastRandom = random;
  return `${prefix}_${time}${random.map((n) => ALPHABET[n]).join('')}`;
}

const ID_PATTERN = /^[a-z]+_[0-9a-hjkmnp-tv-z]{26}$/;
export function looksLikeId(prefix: IdPrefix, value: string): boolean {
  return value.startsWith(`${prefix}_`) && ID_PATTERN.test(value);
}
