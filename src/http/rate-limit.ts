/**
 * A request rate limit per API credential (issue 11 item 8): a token bucket per API key, client
 * token or operator, refilled at CAUSEWAY_API_RATE_LIMIT a second up to CAUSEWAY_API_RATE_BURST.
 * Over it: 429 `too_many_requests` with Retry-After. Every limited answer carries
 * RateLimit-Limit (the burst) and RateLimit-Remaining, as the IETF RateLimit header draft names them.
 *
 * The buckets live in this process's memory: with N API processes behind a balancer a credential
 * can make up to N times the rate. That is the point of a per-process guard (one runaway client
 * cannot take a process's capacity from the others); a shared limit belongs in the proxy in front.
 * Calls without a credential (sign-in, pages, /health) are not counted here; sign-in has its own
 * throttle, shared by every process (services/sign-in-throttle.ts).
 *
 * Memory stays bounded: buckets are kept in least-recently-used order, a bucket idle long enough
 * to be full again is the same as no bucket and is dropped, and past MAX_BUCKETS the oldest go.
 */
import type { FastifyInstance } from 'fastify';
import { AppError } from '../domain/errors.js';
import type { Clock } from '../domain/clock.js';
import type { Core } from '../services/core.js';

/** Far more credentials than one process serves at once within a burst's refill time; about 100 bytes each. */
const MAX_BUCKETS = 100_000;

interface Bucket { tokens: number; at: number }

export interface RateLimiter {
  /** Takes one request for `key`: whether it may go on, what is left, and (when refused) seconds until it may. */
  take(key: string): { allowed: boolean; remaining: number; retryAfterSeconds: number };
  readonly size: number;
}

export function createRateLimiter(perSecond: number, burst: number, clock: Clock, maxBuckets = MAX_BUCKETS): RateLimiter {
  const buckets = new Map<string, Bucket>(); // oldest use first
  const fullAfterMs = (burst / perSecond) * 1000;
  return {
    get size() { return buckets.size; },
    take(key) {
      const now = clock.now().getTime();
      // Idle buckets at the head are full by now: forgetting them changes nothing.
      for (const [k, b] of buckets) {
        if (now - b.at < fullAfterMs) break;
        buckets.delete(k);
      }
      const found = buckets.get(key);
      const elapsed = found ? Math.max(0, now - found.at) : 0; // a clock moved back refills nothing
      const tokens = found ? Math.min(burst, found.tokens + (elapsed / 1000) * perSecond) : burst;
      buckets.delete(key);
      const allowed = tokens >= 1;
      const left = allowed ? tokens - 1 : tokens;
      buckets.set(key, { tokens: left, at: now });
      if (buckets.size > maxBuckets) buckets.delete(buckets.keys().next().value!);
      return { allowed, remaining: Math.floor(left), retryAfterSeconds: allowed ? 0 : Math.max(1, Math.ceil((1 - left) / perSecond)) };
    },
  };
}

/** Registers the limit; call right after registerAuth, whose hook names the credential. */
export function registerRateLimit(app: FastifyInstance, core: Core) {
  const { apiRateLimit, apiRateBurst } = core.config;
  if (!apiRateLimit) return;
  const limiter = createRateLimiter(apiRateLimit, Math.max(1, apiRateBurst), core.clock);
  app.addHook('onRequest', async (request, reply) => {
    const tenant = request.tenant;
    if (!tenant) return;
    // One bucket per credential: the key, the client token or the operator (their sessions share it).
    const key = tenant.actor ?? `application:${tenant.application.id}`;
    const { allowed, remaining, retryAfterSeconds } = limiter.take(key);
    reply.header('ratelimit-limit', String(apiRateBurst));
    reply.header('ratelimit-remaining', String(remaining));
    if (!allowed) {
      throw new AppError('too_many_requests',
        `This credential made more than ${apiRateLimit} requests a second (bursts up to ${apiRateBurst}). Retry after ${retryAfterSeconds} s, and spread requests out.`,
        { limit: apiRateLimit, burst: apiRateBurst }, { 'retry-after': String(retryAfterSeconds) });
    }
  });
}
