/**
 * The fetch every call goes through: it gives each POST, PATCH and DELETE an Idempotency-Key (the
 * caller's, or a new one per call) and retries network failures, 429 and 5xx answers, and 409
 * idempotency_key_in_use (the first attempt is still running), with the SAME key, so a retried
 * create is answered from the first attempt's stored answer (`Idempotent-Replayed: true`) instead
 * of creating twice. Waits back off exponentially with jitter, or as long as Retry-After asks.
 */

import { retryAfterMs } from './errors.js';

export type Fetch = (input: Request, init?: RequestInit) => Promise<Response>;

/** The first retry waits about this long; each next one twice as long, up to MAX_BACKOFF_MS. */
const BASE_BACKOFF_MS = 300;
const MAX_BACKOFF_MS = 8_000;
/** A Retry-After longer than this (a spent refresh budget says hours) is not waited out: the error is thrown for the caller to schedule. */
export const MAX_RETRY_AFTER_MS = 60_000;
const MUTATING = new Set(['POST', 'PATCH', 'PUT', 'DELETE']);

/** The wait before retry number `attempt` (0 for the first retry): ±25% jitter so clients that failed together spread out. */
export function backoffMs(attempt: number, random = Math.random()): number {
  return Math.min(MAX_BACKOFF_MS, BASE_BACKOFF_MS * 2 ** attempt) * (0.75 + random * 0.5);
}

async function isRetryable(response: Response): Promise<boolean> {
  if (response.status === 429 || response.status >= 500) return true;
  if (response.status !== 409) return false;
  const body = await response.clone().json().catch(() => null) as { code?: unknown } | null;
  return body?.code === 'idempotency_key_in_use';
}

function isAbort(err: unknown, request: Request): boolean {
  return request.signal.aborted || (err instanceof Error && (err.name === 'AbortError' || err.name === 'TimeoutError'));
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => { signal.removeEventListener('abort', onAbort); resolve(); }, ms);
    const onAbort = () => { clearTimeout(timer); reject(signal.reason); };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

export function retryingFetch(inner: Fetch, maxRetries: number): Fetch {
  return async (request, init) => {
    if (MUTATING.has(request.method) && !request.headers.has('idempotency-key')) {
      request.headers.set('idempotency-key', crypto.randomUUID());
    }
    for (let attempt = 0; ; attempt++) {
      const last = attempt >= maxRetries;
      let response: Response;
      try {
        // Each attempt sends a copy: a body can be read once, and the original stays for the next.
        response = await inner(last ? request : request.clone(), init);
      } catch (err) {
        if (last || isAbort(err, request)) throw err;
        await sleep(backoffMs(attempt), request.signal);
        continue;
      }
      if (last || !(await isRetryable(response))) return response;
      const asked = retryAfterMs(response);
      if (asked !== null && asked > MAX_RETRY_AFTER_MS) return response;
      await response.body?.cancel().catch(() => {});
      await sleep(asked ?? backoffMs(attempt), request.signal);
    }
  };
}
