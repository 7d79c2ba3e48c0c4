/**
 * `Idempotency-Key` on mutating calls: the HTTP side of services/idempotency.ts. The preHandler
 * claims the key (or replays the stored answer, or refuses); onSend stores the answer, or lets the
 * key go on a 5xx; the claim's lease is renewed while the request runs. Requests that fail
 * validation never reach the preHandler, so fixing them is safe.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError } from '../domain/errors.js';
import type { Core } from '../services/core.js';
import { claimKey, LEASE_MS, MAX_HOLD_MS, releaseClaim, renewClaim, storeAnswer, type Claim } from '../services/idempotency.js';

interface Held { claim: Claim; renew: NodeJS.Timeout }

declare module 'fastify' {
  interface FastifyRequest { idempotency: Held | null }
}

/** Stops renewing and hands back the claim, once: whichever of onSend and onResponse comes first. */
function take(request: FastifyRequest): Claim | null {
  const held = request.idempotency;
  if (!held) return null;
  clearInterval(held.renew);
  request.idempotency = null;
  return held.claim;
}

export function registerIdempotency(app: FastifyInstance, core: Core) {
  app.decorateRequest('idempotency', null);
  app.addHook('preHandler', async (request, reply) => {
    const key = request.headers['idempotency-key'];
    if (typeof key !== 'string' || !request.tenant || !['POST', 'PATCH', 'DELETE'].includes(request.method)) return;
    if (key.length === 0 || key.length > 255) {
      throw new AppError('validation_failed', 'Idempotency-Key must be 1 to 255 characters.', { errors: [{ field: 'header.idempotency-key', message: 'must be 1 to 255 characters' }] });
    }
    const result = await claimKey(core, request.tenant, key, { method: request.method, url: request.url, body: request.body });
    if ('replay' in result) {
      reply.header('idempotent-replayed', 'true');
      return reply.code(result.replay.statusCode).type(result.replay.contentType).send(result.replay.body);
    }
    const { claimed } = result;
    const renew = setInterval(() => {
      if (Date.now() - claimed.claimedAt.getTime() > MAX_HOLD_MS) return void clearInterval(renew);
      renewClaim(core, claimed).catch((err) => request.log.warn({ err }, 'idempotency lease renewal failed'));
    }, LEASE_MS / 3);
    renew.unref();
    request.idempotency = { claim: claimed, renew };
  });
  app.addHook('onSend', async (request, reply, payload) => {
    const claim = take(request);
    if (!claim) return payload;
    const body = typeof payload === 'string' ? payload : Buffer.isBuffer(payload) ? payload.toString('utf8') : null;
    if (reply.statusCode >= 500 || body === null) {
      await releaseClaim(core, claim); // nothing was decided (or nothing to replay): let a retry run again
      return payload;
    }
    const contentType = String(reply.getHeader('content-type') ?? 'application/json; charset=utf-8');
    await storeAnswer(core, claim, { statusCode: reply.statusCode, contentType, body });
    return payload;
  });
  // A request that ends without sending (the client went away first) lets its key go.
  app.addHook('onResponse', async (request) => {
    const claim = take(request);
    if (claim) await releaseClaim(core, claim);
  });
}
