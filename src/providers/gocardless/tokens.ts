/**
 * GoCardless access tokens, one pair per user secret, shared by every worker process.
 *
 *   access() ─► this process's copy, still good ─────────────────────────────► access token
 *            └► single flight per secret: the shared store's copy, still good ─► kept here too
 *               ├► its refresh token still good ─► POST /api/v2/token/refresh/ ─► stored
 *               └► otherwise (or the refresh refused) ─► POST /api/v2/token/new/ ─► stored
 *
 * The pair lives in ctx.state (encrypted at rest, shared by every worker) under a key hashed from
 * the host and the secret, with absolute expiry times; a 401 on a data call drops the access token
 * (here and in the store, unless another worker already replaced it) so the next call renews it.
 * Workers renewing at the same moment each get a valid pair and the last one written wins: GoCardless
 * allows 100 token/new an hour, so the rare double renewal costs nothing. Tokens never reach a message.
 */
import { createHash } from 'node:crypto';
import { ProviderError, type ProviderCallContext } from '../types.js';
import type { GoCardlessCredentials } from './settings.js';

/** Renewed this long before the access token lapses, so a call never starts with a token about to die. */
export const RENEW_BEFORE_MS = 120_000;

export interface TokenPair {
  access: string;
  /** Epoch milliseconds. */
  accessExpiresAt: number;
  refresh: string;
  refreshExpiresAt: number;
}

/** POSTs to a token endpoint (no bearer); throws ProviderError on any failure. */
export type TokenPost = (operation: string, path: string, body: Record<string, string>) => Promise<Record<string, unknown>>;

export function stateKeyOf(c: GoCardlessCredentials): string {
  return `gocardless:token:${createHash('sha256').update(`${c.baseUrl}\0${c.secretId}\0${c.secretKey}`).digest('hex')}`;
}

function decode(raw: string | null): TokenPair | null {
  if (!raw) return null;
  try {
    const v = JSON.parse(raw) as Partial<TokenPair>;
    if (typeof v.access !== 'string' || typeof v.refresh !== 'string' || typeof v.accessExpiresAt !== 'number' || typeof v.refreshExpiresAt !== 'number') return null;
    return v as TokenPair;
  } catch {
    return null;
  }
}

const seconds = (v: unknown, what: string): number => {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new ProviderError('provider_error', `GoCardless answered a token without a valid ${what}.`, true, 'BAD_TOKEN_ANSWER');
  return v;
};
const token = (v: unknown, what: string): string => {
  if (typeof v !== 'string' || v === '') throw new ProviderError('provider_error', `GoCardless answered without ${what}.`, true, 'BAD_TOKEN_ANSWER');
  return v;
};

/** Bounds the memory a churn of secrets could take. */
const MAX_SECRETS = 256;

export class TokenKeeper {
  private readonly memory = new Map<string, TokenPair>();
  private readonly inflight = new Map<string, Promise<TokenPair>>();

  /** A valid access token for these credentials at `ctx.now`. */
  async access(c: GoCardlessCredentials, ctx: ProviderCallContext, post: TokenPost): Promise<string> {
    const key = stateKeyOf(c);
    const now = ctx.now.getTime();
    const held = this.memory.get(key);
    if (held && held.accessExpiresAt - RENEW_BEFORE_MS > now) return held.access;
    let flight = this.inflight.get(key);
    if (!flight) {
      flight = this.renew(key, c, ctx, post).finally(() => this.inflight.delete(key));
      this.inflight.set(key, flight);
    }
    return (await flight).access;
  }

  /** The access token was refused (401): drop it here and in the shared store, keeping the refresh token. */
  async reject(c: GoCardlessCredentials, ctx: ProviderCallContext, access: string): Promise<void> {
    const key = stateKeyOf(c);
    const held = this.memory.get(key);
    if (held?.access === access) this.memory.set(key, { ...held, accessExpiresAt: 0 });
    if (!ctx.state) return;
    const stored = decode(await ctx.state.get(key));
    if (stored?.access === access) await ctx.state.put(key, JSON.stringify({ ...stored, accessExpiresAt: 0 }), new Date(stored.refreshExpiresAt));
  }

  private keep(key: string, pair: TokenPair): TokenPair {
    if (!this.memory.has(key) && this.memory.size >= MAX_SECRETS) this.memory.delete(this.memory.keys().next().value!);
    this.memory.set(key, pair);
    return pair;
  }

  private async renew(key: string, c: GoCardlessCredentials, ctx: ProviderCallContext, post: TokenPost): Promise<TokenPair> {
    const now = ctx.now.getTime();
    const stored = ctx.state ? decode(await ctx.state.get(key)) : null;
    if (stored && stored.accessExpiresAt - RENEW_BEFORE_MS > now) return this.keep(key, stored);
    const base = stored ?? this.memory.get(key) ?? null;
    let pair: TokenPair | null = null;
    if (base && base.refreshExpiresAt - RENEW_BEFORE_MS > now) {
      try {
        const got = await post('token/refresh', '/api/v2/token/refresh/', { refresh: base.refresh });
        pair = { ...base, access: token(got.access, 'an access token'), accessExpiresAt: now + seconds(got.access_expires, 'access_expires') * 1000 };
      } catch (err) {
        // A refresh token GoCardless no longer honours (401): a new pair instead. Anything else is the caller's failure.
        if (!(err instanceof ProviderError) || err.providerCode !== 'InvalidToken') throw err;
      }
    }
    if (!pair) pair = await this.newPair(c, now, post);
    if (ctx.state) await ctx.state.put(key, JSON.stringify(pair), new Date(pair.refreshExpiresAt));
    return this.keep(key, pair);
  }

  private async newPair(c: GoCardlessCredentials, now: number, post: TokenPost): Promise<TokenPair> {
    let got: Record<string, unknown>;
    try {
      got = await post('token/new', '/api/v2/token/new/', { secret_id: c.secretId, secret_key: c.secretKey });
    } catch (err) {
      if (err instanceof ProviderError && (err.providerCode === 'AuthenticationFailed' || err.providerCode === 'InvalidToken')) {
        throw new ProviderError('provider_error',
          'GoCardless refused this application\'s secretId and secretKey (token/new: Authentication failed). Check the user secret in the Bank Account Data portal and the GoCardless settings.',
          false, 'AuthenticationFailed', null, err.requestId);
      }
      throw err;
    }
    return {
      access: token(got.access, 'an access token'),
      accessExpiresAt: now + seconds(got.access_expires, 'access_expires') * 1000,
      refresh: token(got.refresh, 'a refresh token'),
      refreshExpiresAt: now + seconds(got.refresh_expires, 'refresh_expires') * 1000,
    };
  }
}
