/**
 * Webhook signing and delivery, as Plaid does it: the body is JSON (pretty-printed with two
 * spaces, so a receiver that re-serialises before hashing fails as it would against Plaid), and
 * the `Plaid-Verification` header is an ES256 JWT with header { alg, kid, typ: 'JWT' } and
 * payload { iat, request_body_sha256 } (hex SHA-256 of the exact body bytes). Receivers fetch
 * the public key by kid from /webhook_verification_key/get.
 */
import { createHash, randomUUID } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';

type PrivateKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];

export interface WebhookKey {
  kid: string;
  privateKey: PrivateKey;
  publicJwk: JWK;
  createdAt: number;
  expiredAt: number | null;
}

/** The wire shape of /webhook_verification_key/get's `key`. */
export interface PlaidJwk {
  alg: 'ES256';
  crv: string;
  kid: string;
  kty: string;
  use: 'sig';
  x: string;
  y: string;
  created_at: number;
  expired_at: number | null;
}

export interface SignOptions {
  /** Issued-at, in Unix seconds (default: now). Plaid receivers reject tokens older than 5 minutes. */
  iat?: number;
  /** 'current' signs with the live key; 'other' signs with a key Plaid never published, under the live kid; 'expired' with the key before the last rotation. */
  key?: 'current' | 'other' | 'expired';
  /** Put this kid in the header instead of the signing key's. */
  kid?: string;
  /** Claim this hash instead of the body's. */
  bodySha256?: string;
  /** Produce an unsigned token with alg "none". */
  unsecured?: boolean;
}

export const sha256Hex = (body: string) => createHash('sha256').update(body, 'utf8').digest('hex');

async function makeKey(nowSeconds: number): Promise<WebhookKey> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  return { kid: randomUUID(), privateKey, publicJwk: await exportJWK(publicKey), createdAt: nowSeconds, expiredAt: null };
}

export class WebhookKeys {
  private keys = new Map<string, WebhookKey>();
  private current!: WebhookKey;
  private previous: WebhookKey | null = null;
  private stranger!: WebhookKey;

  private constructor(private readonly nowSeconds: () => number) {}

  static async create(nowSeconds: () => number): Promise<WebhookKeys> {
    const k = new WebhookKeys(nowSeconds);
    k.current = await makeKey(nowSeconds());
    k.keys.set(k.current.kid, k.current);
    k.stranger = await makeKey(nowSeconds());
    return k;
  }

  get currentKey(): WebhookKey { return this.current; }

  /** A new current key; the old one stays retrievable with expired_at set. */
  async rotate(): Promise<WebhookKey> {
    const now = this.nowSeconds();
    this.current.expiredAt = now;
    this.previous = this.current;
    this.current = await makeKey(now);
    this.keys.set(this.current.kid, this.current);
    return this.current;
  }

  jwk(kid: string): PlaidJwk | null {
    const k = this.keys.get(kid);
    if (!k) return null;
    return { alg: 'ES256', crv: k.publicJwk.crv!, kid: k.kid, kty: k.publicJwk.kty!, use: 'sig', x: k.publicJwk.x!, y: k.publicJwk.y!, created_at: k.createdAt, expired_at: k.expiredAt };
  }

  async sign(body: string, o: SignOptions = {}): Promise<string> {
    const payload = { iat: o.iat ?? this.nowSeconds(), request_body_sha256: o.bodySha256 ?? sha256Hex(body) };
    const key = o.key === 'other' ? this.stranger : o.key === 'expired' ? (this.previous ?? this.current) : this.current;
    const kid = o.kid ?? (o.key === 'other' ? this.current.kid : key.kid);
    if (o.unsecured) {
      const part = (x: object) => Buffer.from(JSON.stringify(x)).toString('base64url');
      return `${part({ alg: 'none', kid, typ: 'JWT' })}.${part(payload)}.`;
    }
    return new SignJWT(payload).setProtectedHeader({ alg: 'ES256', kid, typ: 'JWT' }).sign(key.privateKey);
  }
}

export interface Delivery {
  url: string;
  body: string;
  payload: Record<string, unknown>;
  jwt: string;
  /** The receiver's HTTP status, or null when it could not be reached. */
  status: number | null;
  error?: string;
  at: string;
}

/** Plaid gives a receiver about 10 seconds. */
export const DELIVERY_TIMEOUT_MS = 10_000;

/**
 * One POST on a fresh connection that is closed afterwards (node:http with no agent), so a
 * receiver under test can close its server at once instead of waiting out a keep-alive socket.
 */
export function deliver(url: string, body: string, jwt: string, stop?: AbortSignal): Promise<{ status: number | null; error?: string }> {
  return new Promise((resolve) => {
    let target: URL;
    try { target = new URL(url); } catch { resolve({ status: null, error: `invalid webhook URL ${url}` }); return; }
    const signal = stop ? AbortSignal.any([stop, AbortSignal.timeout(DELIVERY_TIMEOUT_MS)]) : AbortSignal.timeout(DELIVERY_TIMEOUT_MS);
    const send = target.protocol === 'https:' ? https.request : http.request;
    const req = send(target, {
      method: 'POST',
      agent: false,
      signal,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'plaid-verification': jwt, 'user-agent': 'Plaid Verifier' },
    }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? null }));
      res.on('error', (err) => resolve({ status: res.statusCode ?? null, error: err.message }));
    });
    req.on('error', (err) => resolve({ status: null, error: err.message }));
    req.end(body);
  });
}

/** Webhook body as Plaid sends it. */
export const webhookBody = (payload: Record<string, unknown>) => JSON.stringify(payload, null, 2);
