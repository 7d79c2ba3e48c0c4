/**
 * Secrets at rest: AES-256-GCM with a random 96-bit IV; the key version travels with the
 * ciphertext (`v1.<iv>.<tag>.<data>`, base64url) so keys can be rotated later.
 */
import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../config.js';

export interface Cipher {
  encrypt(plain: string): string;
  decrypt(sealed: string): string;
  /** A keyed hash (HMAC-SHA256 under a key derived from this one): equal inputs match, and nothing can be guessed offline. */
  fingerprint(value: string): string;
}

const VERSION = 'v1';

export function createCipher(keyBase64: string): Cipher {
  const key = Buffer.from(keyBase64, 'base64');
  if (key.length !== 32) {
    throw new ConfigError('CAUSEWAY_ENCRYPTION_KEY must be 32 bytes, base64-encoded (try: openssl rand -base64 32)');
  }
  const hmacKey = createHmac('sha256', key).update('causeway fingerprint v1').digest();
  return {
    fingerprint(value) {
      return createHmac('sha256', hmacKey).update(value).digest('base64url');
    },
    encrypt(plain) {
      const iv = randomBytes(12);
      const c = createCipheriv('aes-256-gcm', key, iv);
      const data = Buffer.concat([c.update(plain, 'utf8'), c.final()]);
      return [VERSION, iv.toString('base64url'), c.getAuthTag().toString('base64url'), data.toString('base64url')].join('.');
    },
    decrypt(sealed) {
      const [version, iv, tag, data] = sealed.split('.');
      if (version !== VERSION || !iv || !tag || data === undefined) throw new Error('Unknown ciphertext format');
      const d = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
      d.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([d.update(Buffer.from(data, 'base64url')), d.final()]).toString('utf8');
    },
  };
}

/**
 * The key from the environment, or (embedded only) one generated once into the data directory,
 * readable by the owner alone. On PostgreSQL several processes must share the key, so it must be set.
 */
export function resolveEncryptionKey(opts: { envKey: string | null; dataDir: string; embedded: boolean }): string {
  if (opts.envKey) return opts.envKey;
  if (!opts.embedded) {
    throw new ConfigError('CAUSEWAY_ENCRYPTION_KEY is required with DATABASE_URL: every process must share it (try: openssl rand -base64 32)');
  }
  const file = path.join(opts.dataDir, 'encryption.key');
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  fs.mkdirSync(opts.dataDir, { recursive: true });
  const key = randomBytes(32).toString('base64');
  fs.writeFileSync(file, `${key}\n`, { mode: 0o600, flag: 'wx' });
  return key;
}

export function sha256(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

export function randomToken(bytes = 24): string {
  return randomBytes(bytes).toString('base64url');
}
