/**
 * Opaque, prefixed, time-ordered ids: `<prefix>_<10 chars of milliseconds><16 random chars>`, in
 * Crockford base32, so sorting by id sorts by creation time and cursors can be plain ids.
 */
import { randomFillSync } from 'node:crypto';

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

export type IdPrefix = 'app' | 'key' | 'usr' | 'con' | 'job' | 'acc' | 'txn' | 'evt' | 'call' | 'del' | 'whe' | 'whd' | 'wha' | 'ctk' | 'opr' | 'ops' | 'imp';

/** Random bytes drawn 4 KB at a time (one call into the CSPRNG per 256 ids, not one each), 16 an id. */
const POOL_BYTES = 4096;
const pool = Buffer.alloc(POOL_BYTES);
let poolOffset = POOL_BYTES;

let lastMs = 0;
/** The last id's random part, as base32 digits: an id made in the same millisecond increments it. */
const lastRandom = new Uint8Array(16);
let haveLast = false;

export function newId(prefix: IdPrefix, nowMs = Date.now()): string {
  let time = '';
  let ms = nowMs;
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[ms % 32] + time;
    ms = Math.floor(ms / 32);
  }
  if (nowMs === lastMs && haveLast) {
    // Same millisecond: increment the random part so ids stay strictly increasing within a process.
    for (let i = 15; i >= 0; i--) {
      lastRandom[i] = (lastRandom[i]! + 1) % 32;
      if (lastRandom[i] !== 0) break;
    }
  } else {
    if (poolOffset + 16 > POOL_BYTES) {
      randomFillSync(pool);
      poolOffset = 0;
    }
    // 256 is a multiple of 32: every digit is equally likely.
    for (let i = 0; i < 16; i++) lastRandom[i] = pool[poolOffset + i]! % 32;
    poolOffset += 16;
  }
  lastMs = nowMs;
  haveLast = true;
  let random = '';
  for (let i = 0; i < 16; i++) random += ALPHABET[lastRandom[i]!];
  return `${prefix}_${time}${random}`;
}

const ID_PATTERN = /^[a-z]+_[0-9a-hjkmnp-tv-z]{26}$/;
export function looksLikeId(prefix: IdPrefix, value: string): boolean {
  return value.startsWith(`${prefix}_`) && ID_PATTERN.test(value);
}
