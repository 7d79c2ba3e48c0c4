/**
 * The official `plaid` client, built per application's keys and kept while they stay the same. Its
 * types stay inside this folder. Every call goes through `call`, which turns any failure into a
 * ProviderError (errors.ts) with the secret and the access token scrubbed from the message.
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import type { PlaidApi } from 'plaid';
import type { ProviderCallContext } from '../types.js';
import { toProviderError } from './errors.js';
import { resolveCredentials, type PlaidCredentials } from './settings.js';

/** A Plaid call that hangs is abandoned after this long; the job retries it (provider_error, transient). */
export const DEFAULT_TIMEOUT_MS = 30_000;
/** Applications with their own keys, each with one client: a bound so a churn of keys cannot grow memory. */
const MAX_CLIENTS = 256;

/**
 * The `plaid` package is about 10 MB of generated code (some 40 MB of heap once loaded): required
 * when the first client is built, so a process that never calls Plaid never holds it (measured,
 * bench/idle-memory.ts).
 */
let plaid: typeof import('plaid') | null = null;
const loadPlaid = () => (plaid ??= createRequire(import.meta.url)('plaid') as typeof import('plaid'));

export interface PlaidSession {
  api: PlaidApi;
  credentials: PlaidCredentials;
  now: Date;
  /** Runs one Plaid call; any failure comes out as a ProviderError. `token` is kept out of messages. */
  call<T>(operation: string, run: (api: PlaidApi) => Promise<{ data: T }>, token?: string): Promise<T>;
}

export interface PlaidClients {
  session(settings: ProviderCallContext['settings'], now: Date): PlaidSession;
}

export function createPlaidClients(timeoutMs: number = DEFAULT_TIMEOUT_MS): PlaidClients {
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new RangeError(`fetchTimeoutMs must be a positive number, got ${timeoutMs}`);
  // Keyed by a hash so the map holds no secret in its keys (the client's own headers still do).
  const clients = new Map<string, PlaidApi>();

  function clientFor(c: PlaidCredentials): PlaidApi {
    const key = createHash('sha256').update(`${c.baseUrl}\0${c.clientId}\0${c.secret}`).digest('hex');
    let api = clients.get(key);
    if (!api) {
      const { Configuration, PlaidApi } = loadPlaid();
      api = new PlaidApi(new Configuration({
        basePath: c.baseUrl,
        baseOptions: { timeout: timeoutMs, headers: { 'PLAID-CLIENT-ID': c.clientId, 'PLAID-SECRET': c.secret } },
      }));
      if (clients.size >= MAX_CLIENTS) clients.delete(clients.keys().next().value!);
      clients.set(key, api);
    }
    return api;
  }

  return {
    session(settings, now) {
      const credentials = resolveCredentials(settings);
      const api = clientFor(credentials);
      return {
        api, credentials, now,
        async call(operation, run, token) {
          try {
            return (await run(api)).data;
          } catch (err) {
            throw toProviderError(err, { operation, now, secrets: token ? [token, credentials.secret] : [credentials.secret] });
          }
        },
      };
    },
  };
}
