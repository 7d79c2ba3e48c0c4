/**
 * SimpleFIN's two requests, through the shared address guard (net/guard.ts): the claim URL and the
 * access URL come from the user, so each connection is checked at connect time (no loopback,
 * private or link-local address unless the operator allows them), redirects are not followed, and
 * every answer has a time limit and a size cap. Every failure comes out as a ProviderError whose
 * message names no secret (the claim URL's one-time path, the access URL's credentials).
 */
import { guardedRequest, GuardedRequestError, type GuardedResponse } from '../../net/guard.js';
import { ProviderError } from '../types.js';
import { accountsStatusError } from './errors.js';
import { accessPartsOf, scrub, secretPieces, type AccessParts } from './token.js';
import { parseAccountSet, type SfinAccountSet } from './wire.js';

/** The bridge answers with every bank's accounts and transactions at once: users have seen it take over 60 s (actual#4480). */
export const DATA_TIMEOUT_MS = 120_000;
/** A claim is one small answer. */
export const CLAIM_TIMEOUT_MS = 30_000;
/** Ninety days of transactions for dozens of accounts is a few MB; anything past this is not a bridge's answer. */
export const MAX_ANSWER_BYTES = 32 * 1024 * 1024;
/** An access URL is one line. */
const MAX_CLAIM_BYTES = 4096;
const USER_AGENT = 'Causeway-SimpleFIN/1';

export interface ClientOptions {
  dataTimeoutMs: number;
  claimTimeoutMs: number;
}

/** A request the guard refused or that got no answer, as the ProviderError a data call throws. */
function unreached(err: unknown, what: string, secrets: readonly string[]): ProviderError {
  if (err instanceof GuardedRequestError) {
    const message = scrub(err.message, secrets);
    if (err.kind === 'blocked_address') return new ProviderError('provider_error', `The ${what} is refused: ${message}.`, false, 'BLOCKED_ADDRESS');
    if (err.kind === 'too_large') return new ProviderError('provider_error', `The SimpleFIN bridge's answer is too large: ${message}.`, false, 'ANSWER_TOO_LARGE');
    if (err.kind === 'timeout' || err.kind === 'network') {
      return new ProviderError('institution_unavailable', `The SimpleFIN bridge could not be reached: ${message}.`, true, err.kind === 'timeout' ? 'TIMEOUT' : 'NETWORK');
    }
    return new ProviderError('provider_error', `The ${what} cannot be called: ${message}.`, false, 'BAD_URL');
  }
  return new ProviderError('provider_error', `The SimpleFIN bridge could not be reached: ${scrub(String(err), secrets)}.`, true, 'NETWORK');
}

/** A CDN's block page rather than the bridge's own answer (Cloudflare fronts the SimpleFIN Bridge). */
function cdnBlock(res: GuardedResponse): boolean {
  if (res.headers['cf-mitigated']) return true;
  const type = String(res.headers['content-type'] ?? '');
  return /html/i.test(type) && /cloudflare|rate limit|access denied/i.test(res.body.subarray(0, 4096).toString('utf8'));
}

export interface AccountsQuery {
  /** Unix seconds: transactions on or after. */
  startDate?: number;
  /** Unix seconds: transactions before (not on). */
  endDate?: number;
  balancesOnly?: boolean;
}

export function createSimpleFinClient(opts: ClientOptions) {
  return {
    /**
     * POST to a claim URL. 200: the access URL (checked); 403: the token was claimed already or never
     * existed (the protocol's answer for both). Other answers and failures are normalised here.
     */
    async claim(claimUrl: URL, allowPrivate: boolean): Promise<string> {
      const secrets = secretPieces(claimUrl.href);
      let res: GuardedResponse;
      try {
        res = await guardedRequest(claimUrl, {
          method: 'POST', headers: { 'user-agent': USER_AGENT }, timeoutMs: opts.claimTimeoutMs, maxBodyBytes: MAX_CLAIM_BYTES, allowPrivate,
        });
      } catch (err) {
        if (err instanceof GuardedRequestError && err.kind === 'blocked_address') {
          throw new ProviderError('invalid_credentials', `This SimpleFIN setup token points at ${claimUrl.hostname}, which is refused: ${scrub(err.message, secrets)}.`, false, 'BLOCKED_ADDRESS');
        }
        throw unreached(err, 'claim URL', secrets);
      }
      if (res.status === 403) {
        throw new ProviderError(
          'invalid_credentials',
          'This SimpleFIN setup token was already claimed or is not valid: create a new one at your bridge. If you did not claim it yourself, someone else may have: disable that app at your bridge.',
          false, 'TOKEN_CLAIMED',
        );
      }
      if (res.status === 429) throw accountsStatusError(429, { cdnBlock: cdnBlock(res), retryAfterSeconds: res.retryAfterSeconds, now: new Date() });
      if (res.status >= 500) throw new ProviderError('institution_unavailable', `The SimpleFIN bridge answered ${res.status} to the claim; try again shortly.`, true, `HTTP_${res.status}`, res.retryAfterSeconds);
      if (res.status !== 200) {
        throw new ProviderError('invalid_credentials', `The address in this SimpleFIN setup token answered ${res.status} instead of an access URL: check the token, or create a new one at your bridge.`, false, 'CLAIM_REFUSED');
      }
      const access = res.body.toString('utf8').trim();
      accessPartsOf(access, allowPrivate, () => new ProviderError('provider_error', 'The SimpleFIN bridge answered the claim with something that is not an access URL.', false, 'BAD_ACCESS_URL'));
      return access;
    },

    /** GET {access}/accounts: the Account Set, or a ProviderError for any HTTP failure or an answer that is not one. */
    async accounts(access: AccessParts, secrets: readonly string[], query: AccountsQuery, allowPrivate: boolean, now: Date): Promise<SfinAccountSet> {
      const params = new URLSearchParams();
      if (query.balancesOnly) params.set('balances-only', '1');
      else {
        if (query.startDate !== undefined) params.set('start-date', String(query.startDate));
        if (query.endDate !== undefined) params.set('end-date', String(query.endDate));
        params.set('pending', '1');
      }
      let res: GuardedResponse;
      try {
        res = await guardedRequest(`${access.root}/accounts?${params}`, {
          method: 'GET', timeoutMs: opts.dataTimeoutMs, maxBodyBytes: MAX_ANSWER_BYTES, allowPrivate,
          headers: { authorization: access.authorization, accept: 'application/json', 'user-agent': USER_AGENT },
        });
      } catch (err) {
        throw unreached(err, 'SimpleFIN access URL', secrets);
      }
      if (res.status !== 200) throw accountsStatusError(res.status, { cdnBlock: cdnBlock(res), retryAfterSeconds: res.retryAfterSeconds, now });
      // A bridge's error text may repeat the access URL or its credentials: they go no further than here.
      const answer = parseAccountSet(scrub(res.body.toString('utf8'), secrets));
      if (!answer) throw new ProviderError('provider_error', 'The SimpleFIN bridge answered with something that is not an account set; Causeway will try again.', true, 'BAD_ANSWER');
      return answer;
    },
  };
}

export type SimpleFinClient = ReturnType<typeof createSimpleFinClient>;
