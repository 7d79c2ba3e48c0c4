/**
 * GoCardless Bank Account Data over HTTP (global fetch, JSON, a timeout). Every call goes through
 * `request`, which takes the shared access token (tokens.ts), renews it once on a 401, reads the
 * rate-limit headers of every answer, and turns any failure into a ProviderError (errors.ts) with the
 * secret and the tokens scrubbed from the message.
 *
 * Rate limits: GoCardless sends HTTP_X_RATELIMIT_{LIMIT,REMAINING,RESET} (its per-company limits) on
 * every answer and HTTP_X_RATELIMIT_ACCOUNT_SUCCESS_{LIMIT,REMAINING,RESET} (successful calls left on
 * this account and scope, about four a day) on the account endpoints; RESET is seconds until reset.
 * The account ones are reported to the engine (ctx.reportBudget) so it can plan the next runs inside them.
 */
import { ProviderError, type ProviderBudget, type ProviderCallContext } from '../types.js';
import { errorFromAnswer, errorFromFailure, type GoCardlessErrorBody } from './errors.js';
import { resolveCredentials, type GoCardlessCredentials } from './settings.js';
import { TokenKeeper, type TokenPost } from './tokens.js';

/** A GoCardless call that hangs is abandoned after this long; the job retries it (provider_error, transient). */
export const DEFAULT_TIMEOUT_MS = 30_000;

/** One window of a rate limit as an answer's headers told it. */
export interface RateWindow { limit: number | null; remaining: number; resetSeconds: number }
export interface RateInfo { general: RateWindow | null; account: RateWindow | null }

export interface Answer<T> { data: T; rate: RateInfo; status: number }

export interface RequestSpec {
  method?: 'GET' | 'POST' | 'DELETE';
  path: string;
  query?: Record<string, string | undefined>;
  body?: Record<string, unknown>;
  /** The account's stable key (ProviderAccount.id), when known: its budget is reported from the answer. */
  accountKey?: string;
}

export interface GoCardlessSession {
  credentials: GoCardlessCredentials;
  ctx: ProviderCallContext;
  /** One call; any failure comes out as a ProviderError. */
  request<T>(operation: string, spec: RequestSpec): Promise<Answer<T>>;
  /** Reports an account endpoint's budget from its answer's headers (for calls made before the key was known). */
  reportBudget(accountKey: string, path: string, rate: RateInfo): void;
}

export interface GoCardlessClients {
  session(ctx: ProviderCallContext): GoCardlessSession;
}

function header(headers: Headers, name: string): string | null {
  // Headers.get is case-insensitive, as HTTP header names are.
  return headers.get(name);
}

function window(headers: Headers, prefix: string): RateWindow | null {
  const remaining = Number(header(headers, `${prefix}_REMAINING`) ?? NaN);
  const reset = Number(header(headers, `${prefix}_RESET`) ?? NaN);
  if (!Number.isFinite(remaining) || !Number.isFinite(reset)) return null;
  const limit = Number(header(headers, `${prefix}_LIMIT`) ?? NaN);
  return { limit: Number.isFinite(limit) ? limit : null, remaining: Math.max(0, remaining), resetSeconds: Math.max(0, reset) };
}

export function rateOf(headers: Headers): RateInfo {
  return { general: window(headers, 'HTTP_X_RATELIMIT'), account: window(headers, 'HTTP_X_RATELIMIT_ACCOUNT_SUCCESS') };
}

/** The scope an account endpoint counts against, from its path: details, balances, transactions (null: not metered per account). */
export function scopeOf(path: string): string | null {
  const match = /^\/api\/v2\/accounts\/[^/]+\/(details|balances|transactions)\/$/.exec(path);
  return match ? match[1]! : null;
}

/**
 * What a 429 on an account endpoint limits: the account's own calls (its daily budget, or the bank's
 * daily limit, RateLimitError), so only this link waits; or GoCardless's per-minute company limit
 * (the general window spent, the account's not), which every connection of the application meets.
 */
function limitScopeOf(status: number, accountEndpoint: boolean, rate: RateInfo): 'institution' | 'link' {
  if (status !== 429 || !accountEndpoint) return 'institution';
  const generalSpent = rate.general?.remaining === 0;
  const accountSpent = rate.account?.remaining === 0;
  return generalSpent && !accountSpent ? 'institution' : 'link';
}

/** How long a 429 asks to wait: the exhausted window's reset, else Retry-After (the detail's "try again in N seconds" wins in errors.ts). */
function retryAfterOf(headers: Headers, rate: RateInfo): number | null {
  if (rate.account && rate.account.remaining === 0) return rate.account.resetSeconds;
  if (rate.general && rate.general.remaining === 0) return rate.general.resetSeconds;
  const retryAfter = Number(header(headers, 'retry-after') ?? NaN);
  return Number.isFinite(retryAfter) && retryAfter >= 0 ? retryAfter : null;
}

async function readJson(res: Response): Promise<unknown> {
  const body = await res.text();
  if (body.trim() === '') return null;
  try {
    return JSON.parse(body);
  } catch {
    return { summary: `HTTP ${res.status}`, detail: 'not JSON' };
  }
}

export function createGoCardlessClients(timeoutMs: number = DEFAULT_TIMEOUT_MS): GoCardlessClients {
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new RangeError(`fetchTimeoutMs must be a positive number, got ${timeoutMs}`);
  const keeper = new TokenKeeper();

  return {
    session(ctx) {
      const credentials = resolveCredentials(ctx.settings);
      const secrets = [credentials.secretKey];

      async function send(operation: string, spec: RequestSpec, bearer: string | null): Promise<{ res: Response; data: unknown; rate: RateInfo }> {
        const url = new URL(credentials.baseUrl + spec.path);
        for (const [k, v] of Object.entries(spec.query ?? {})) if (v !== undefined) url.searchParams.set(k, v);
        const headers: Record<string, string> = { accept: 'application/json' };
        if (bearer) headers.authorization = `Bearer ${bearer}`;
        if (spec.body) headers['content-type'] = 'application/json';
        let res: Response;
        let data: unknown;
        try {
          res = await fetch(url, { method: spec.method ?? 'GET', headers, body: spec.body ? JSON.stringify(spec.body) : null, signal: AbortSignal.timeout(timeoutMs) });
          data = await readJson(res);
        } catch (err) {
          throw errorFromFailure(err, operation, bearer ? [...secrets, bearer] : secrets);
        }
        return { res, data, rate: rateOf(res.headers) };
      }

      function fail(operation: string, spec: RequestSpec, res: Response, data: unknown, rate: RateInfo, extraSecrets: readonly string[]): ProviderError {
        const body = (data && typeof data === 'object' && !Array.isArray(data) ? data : {}) as GoCardlessErrorBody;
        const accountEndpoint = spec.path.startsWith('/api/v2/accounts/');
        return errorFromAnswer({
          status: res.status, body, operation, accountEndpoint, limitScope: limitScopeOf(res.status, accountEndpoint, rate),
          retryAfterSeconds: res.status === 429 ? retryAfterOf(res.headers, rate) : null,
          requestId: header(res.headers, 'x-request-id'), secrets: [...secrets, ...extraSecrets],
        });
      }

      const post: TokenPost = async (operation, path, body) => {
        const spec: RequestSpec = { method: 'POST', path, body };
        const { res, data, rate } = await send(operation, spec, null);
        const tokenSecrets = Object.values(body);
        if (!res.ok) throw fail(operation, spec, res, data, rate, tokenSecrets);
        if (!data || typeof data !== 'object') throw new ProviderError('provider_error', `GoCardless answered ${operation} without a JSON object.`, true, 'BAD_TOKEN_ANSWER');
        return data as Record<string, unknown>;
      };

      function report(accountKey: string, path: string, rate: RateInfo): void {
        const scope = scopeOf(path);
        if (!scope || !rate.account || !ctx.reportBudget) return;
        const budget: ProviderBudget = {
          accountId: accountKey, scope, limit: rate.account.limit, remaining: rate.account.remaining,
          resetAt: new Date(ctx.now.getTime() + rate.account.resetSeconds * 1000),
        };
        ctx.reportBudget(budget);
      }

      return {
        credentials,
        ctx,
        reportBudget: report,
        async request<T>(operation: string, spec: RequestSpec): Promise<Answer<T>> {
          for (let attempt = 0; ; attempt++) {
            const bearer = await keeper.access(credentials, ctx, post);
            const { res, data, rate } = await send(operation, spec, bearer);
            if (spec.accountKey) report(spec.accountKey, spec.path, rate);
            if (res.ok) return { data: data as T, rate, status: res.status };
            const error = fail(operation, spec, res, data, rate, [bearer]);
            // The access token was refused (revoked, or expired early): drop it and try once with a new one.
            if (error.providerCode === 'InvalidToken' && attempt === 0) {
              await keeper.reject(credentials, ctx, bearer);
              continue;
            }
            throw error;
          }
        },
      };
    },
  };
}

