/**
 * Plaid webhooks: verified by Plaid's scheme, then read as what they mean for a connection.
 *
 *   body ─► JSON, item_id ─► settingsFor(item_id) ─► Plaid-Verification JWT header: alg ES256, kid
 *        ─► key for (host, client, kid) from /webhook_verification_key/get (cached; expired_at respected)
 *        ─► ES256 signature ─► iat within 5 minutes of now ─► request_body_sha256 = SHA-256(raw body)
 *        ─► meaning (sync_available, login_required, expiring, revoked, new_accounts, repaired, ignored)
 *
 * Any failed check is a ProviderWebhookRefused naming the check. Plaid being unreachable while we
 * fetch a key is a transient ProviderError instead, so the webhook is answered with a failure Plaid
 * can retry rather than refused for good.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { decodeProtectedHeader, importJWK, jwtVerify, type JWTPayload } from 'jose';
import { isUserFailure, type FailureCode } from '../../domain/status.js';
import { ProviderError, ProviderWebhookRefused, type ProviderSettings, type ProviderWebhook, type ProviderWebhookKind } from '../types.js';
import type { PlaidClients } from './client.js';
import { mapPlaidError, type PlaidErrorBody } from './errors.js';

/** Plaid's guidance: refuse a webhook whose token was issued more than 5 minutes ago. */
export const MAX_WEBHOOK_AGE_SECONDS = 5 * 60;
/** A token from further ahead than this is refused too (clocks agree far better than that). */
export const MAX_CLOCK_SKEW_SECONDS = 60;
/** A cached key that had not expired is asked about again after this long, to learn of a rotation. */
export const KEY_RECHECK_MS = 60 * 60_000;
const MAX_CACHED_KEYS = 1024;

interface CachedKey { key: CryptoKey | Uint8Array; expiredAt: number | null; checkedAtMs: number }

export interface WebhookInput {
  headers: Record<string, string | undefined>;
  rawBody: string;
  now: Date;
  settingsFor(itemId: string): Promise<ProviderSettings | null>;
}

const refuse = (why: string) => new ProviderWebhookRefused(`Plaid webhook refused: ${why}`);

function header(headers: Record<string, string | undefined>, name: string): string | undefined {
  const key = Object.keys(headers).find((k) => k.toLowerCase() === name);
  return key === undefined ? undefined : headers[key];
}

const TRANSACTION_UPDATES = new Set(['SYNC_UPDATES_AVAILABLE', 'DEFAULT_UPDATE', 'INITIAL_UPDATE', 'HISTORICAL_UPDATE', 'TRANSACTIONS_REMOVED']);

function dateOrNull(value: unknown): Date | null {
  if (typeof value !== 'string') return null;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** What a verified webhook body means for the connection. */
export function meaningOf(body: Record<string, unknown>): ProviderWebhookKind {
  const type = String(body.webhook_type ?? '');
  const code = String(body.webhook_code ?? '');
  if (type === 'TRANSACTIONS' && TRANSACTION_UPDATES.has(code)) return { kind: 'sync_available' };
  if (type !== 'ITEM') return { kind: 'ignored', why: `${type}:${code} needs nothing from Causeway` };
  switch (code) {
    case 'ERROR': {
      const error = (typeof body.error === 'object' && body.error !== null ? body.error : null) as PlaidErrorBody & { error_message?: string } | null;
      if (!error?.error_code) return { kind: 'ignored', why: 'ITEM:ERROR without an error' };
      const mapping = mapPlaidError(error);
      // Only what the user must fix needs them now; an outage or a Plaid fault shows up in the next sync.
      if (mapping.transient || !isUserFailure(mapping.code as FailureCode)) {
        return { kind: 'ignored', why: `ITEM:ERROR ${error.error_code} is not for the user to fix; the next sync meets it` };
      }
      return { kind: 'login_required', code: mapping.code, providerCode: error.error_code, message: mapping.userAction };
    }
    case 'LOGIN_REPAIRED': return { kind: 'repaired' };
    case 'PENDING_EXPIRATION': return { kind: 'expiring', expiresAt: dateOrNull(body.consent_expiration_time) };
    case 'PENDING_DISCONNECT': return { kind: 'expiring', expiresAt: dateOrNull(body.disconnect_time) };
    case 'USER_PERMISSION_REVOKED':
    case 'USER_ACCOUNT_REVOKED': return { kind: 'revoked' };
    case 'NEW_ACCOUNTS_AVAILABLE': return { kind: 'new_accounts' };
    default: return { kind: 'ignored', why: `ITEM:${code} needs nothing from Causeway` };
  }
}

function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

function sameHex(a: string, b: string): boolean {
  const x = Buffer.from(a.toLowerCase(), 'utf8');
  const y = Buffer.from(b.toLowerCase(), 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

export function createWebhookParser(clients: PlaidClients): (input: WebhookInput) => Promise<ProviderWebhook> {
  const keys = new Map<string, CachedKey>();

  async function keyFor(settings: ProviderSettings, kid: string, now: Date): Promise<CachedKey> {
    let session;
    try {
      session = clients.session(settings, now);
    } catch (err) {
      throw refuse(`the application's Plaid settings cannot fetch its keys (${(err as Error).message})`);
    }
    const cacheKey = `${session.credentials.baseUrl}\0${session.credentials.clientId}\0${kid}`;
    const cached = keys.get(cacheKey);
    const fresh = cached && (cached.expiredAt !== null || now.getTime() - cached.checkedAtMs < KEY_RECHECK_MS);
    if (cached && fresh) return cached;
    let got;
    try {
      got = await session.call('/webhook_verification_key/get', (api) => api.webhookVerificationKeyGet({ key_id: kid }));
    } catch (err) {
      if (err instanceof ProviderError && !err.transient) throw refuse(`Plaid has no verification key ${JSON.stringify(kid)} for this client (${err.providerCode})`);
      throw err;
    }
    const jwk = got.key;
    if (jwk.alg !== 'ES256' || jwk.kty !== 'EC' || jwk.crv !== 'P-256') throw refuse(`key ${JSON.stringify(kid)} is not an ES256 P-256 key`);
    const entry: CachedKey = {
      key: await importJWK({ kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y }, 'ES256'),
      expiredAt: typeof jwk.expired_at === 'number' ? jwk.expired_at : null,
      checkedAtMs: now.getTime(),
    };
    if (keys.size >= MAX_CACHED_KEYS) keys.delete(keys.keys().next().value!);
    keys.set(cacheKey, entry);
    return entry;
  }

  return async function parseWebhook(input: WebhookInput): Promise<ProviderWebhook> {
    let body: unknown;
    try {
      body = JSON.parse(input.rawBody);
    } catch {
      throw refuse('the body is not JSON');
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw refuse('the body is not a JSON object');
    const fields = body as Record<string, unknown>;
    const itemId = fields.item_id;
    // Plaid's LINK webhooks (Hosted Link's session events) name no Item, so no application's keys can
    // verify them. Causeway reads the session itself when the user returns: answered, acted on never.
    if (fields.webhook_type === 'LINK' && (typeof itemId !== 'string' || itemId === '')) {
      return { itemId: '', type: `LINK:${String(fields.webhook_code ?? '')}`, meaning: { kind: 'ignored', why: 'Link session events are read from the session on return' } };
    }
    if (typeof itemId !== 'string' || itemId === '') throw refuse('it names no item_id, so no application\'s keys can verify it');
    const settings = await input.settingsFor(itemId);
    if (!settings) throw refuse(`no connection holds item ${JSON.stringify(itemId)}`);

    const jwt = header(input.headers, 'plaid-verification');
    if (!jwt) throw refuse('no Plaid-Verification header');
    let protectedHeader;
    try {
      protectedHeader = decodeProtectedHeader(jwt);
    } catch {
      throw refuse('the Plaid-Verification header is not a JWT');
    }
    if (protectedHeader.alg !== 'ES256') throw refuse(`the JWT is signed with ${JSON.stringify(protectedHeader.alg)}, not ES256`);
    if (typeof protectedHeader.kid !== 'string' || protectedHeader.kid === '') throw refuse('the JWT names no key (kid)');
    const key = await keyFor(settings, protectedHeader.kid, input.now);
    const nowSeconds = Math.floor(input.now.getTime() / 1000);
    if (key.expiredAt !== null && key.expiredAt <= nowSeconds) throw refuse(`key ${JSON.stringify(protectedHeader.kid)} has expired`);

    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(jwt, key.key, { algorithms: ['ES256'], currentDate: input.now }));
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED') throw refuse('the JWT signature does not verify with Plaid\'s key');
      throw refuse(`the JWT does not verify (${code ?? 'malformed'})`);
    }
    if (typeof payload.iat !== 'number') throw refuse('the JWT has no iat');
    if (nowSeconds - payload.iat > MAX_WEBHOOK_AGE_SECONDS) throw refuse(`the JWT was issued ${nowSeconds - payload.iat} s ago (more than ${MAX_WEBHOOK_AGE_SECONDS} s)`);
    if (payload.iat - nowSeconds > MAX_CLOCK_SKEW_SECONDS) throw refuse('the JWT was issued in the future');
    const claimed = payload.request_body_sha256;
    if (typeof claimed !== 'string') throw refuse('the JWT has no request_body_sha256');
    if (!sameHex(claimed, sha256Hex(input.rawBody))) throw refuse('the body does not match the JWT\'s request_body_sha256');

    return { itemId, type: `${String(fields.webhook_type ?? '')}:${String(fields.webhook_code ?? '')}`, meaning: meaningOf(fields) };
  };
}
