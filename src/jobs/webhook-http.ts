/**
 * One webhook POST through the shared address guard (net/guard.ts): http(s) only, redirects not
 * followed (a redirect is a failed attempt), a hard time limit, at most the first 1 KB of the answer
 * kept, and the address checked where it is connected to, against DNS rebinding. Private, loopback,
 * link-local and other special ranges are refused unless the operator allows them
 * (CAUSEWAY_ALLOW_PRIVATE_ADDRESSES=true, for self-hosted set-ups and tests).
 */
import { guardedRequest, GuardedRequestError } from '../net/guard.js';

export interface SendResult {
  statusCode: number | null;
  durationMs: number;
  /** Why it failed when no status says so (timeout, refused, blocked address, redirect). */
  error: string | null;
  /** The first 1 KB of the body. */
  body: string | null;
  retryAfterSeconds: number | null;
}

const BODY_KEEP = 1024;

export async function sendWebhook(
  url: string, headers: Record<string, string>, payload: string, opts: { timeoutMs: number; allowPrivate: boolean },
): Promise<SendResult> {
  const started = Date.now();
  try {
    const res = await guardedRequest(url, {
      method: 'POST', body: payload, timeoutMs: opts.timeoutMs, maxBodyBytes: BODY_KEEP, overflow: 'truncate', allowPrivate: opts.allowPrivate,
      headers: { ...headers, 'content-type': 'application/json', 'user-agent': 'Causeway-Webhooks/1' },
    });
    const redirect = res.status >= 300 && res.status < 400;
    return {
      statusCode: res.status, durationMs: Date.now() - started, retryAfterSeconds: res.retryAfterSeconds,
      // PostgreSQL text cannot hold NUL: a binary answer is kept without it.
      body: res.body.toString('utf8').replace(/\u0000/g, ''),
      error: redirect ? `redirect to ${res.headers.location ?? '(no location)'} not followed` : null,
    };
  } catch (err) {
    const status = err instanceof GuardedRequestError ? err.status : null;
    return { statusCode: status, durationMs: Date.now() - started, body: null, retryAfterSeconds: null, error: err instanceof Error ? err.message : String(err) };
  }
}
