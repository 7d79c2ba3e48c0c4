/**
 * `Idempotency-Key` on mutating calls (as Stripe): the first answer for a key is stored, sealed like
 * credentials (answers can carry secrets shown once: `whsec_`, `ct_`), and replayed with its status
 * and content type for 24 hours; the same key with a different request answers 422; a retry while
 * the first is still running answers 409. The running request holds the key by a one-minute lease
 * it renews, so a request that dies with its process lets its key go within a minute. Requests that
 * fail validation store nothing, so fixing them is safe; a 5xx lets the key go.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError } from '../domain/errors.js';
import type { Core } from '../services/core.js';
import { sha256 } from '../services/crypto.js';
import {
  claimIdempotencyKey, findIdempotencyKey, releaseIdempotencyKey, renewIdempotencyLease, storeIdempotentAnswer,
} from '../db/repos/idempotency.js';

/** How long an answer is replayed. */
export const IDEMPOTENCY_TTL_MS = 24 * 3600_000;
/** A running request's hold on its key; renewed every third of it, so only a dead request loses it. */
const LEASE_MS = 60_000;

interface Held { key: string; hash: string; renew: NodeJS.Timeout }

declare module 'fastify' {
  interface FastifyRequest { idempotency: Held | null }
}

interface StoredAnswer { contentType: string; body: string }

function release(request: FastifyRequest) {
  const held = request.idempotency;
  if (held) clearInterval(held.renew);
  return held;
}

export function registerIdempotency(app: FastifyInstance, core: Core) {
  app.decorateRequest('idempotency', null);
  app.addHook('preHandler', async (request, reply) => {
    const key = request.headers['idempotency-key'];
    if (typeof key !== 'string' || !request.tenant || !['POST', 'PATCH', 'DELETE'].includes(request.method)) return;
    if (key.length === 0 || key.length > 255) {
      throw new AppError('validation_failed', 'Idempotency-Key must be 1 to 255 characters.', { errors: [{ field: 'header.idempotency-key', message: 'must be 1 to 255 characters' }] });
    }
    const applicationId = request.tenant.application.id;
    // A client token's keys live apart, per user: a browser cannot claim or replay a key the app's server uses.
    const scopedKey = request.tenant.client ? `client:${request.tenant.client.userId}:${key}` : key;
    const hash = sha256(`${request.method} ${request.url}\n${JSON.stringify(request.body ?? null)}`);
    const now = new Date();
    const claimed = await claimIdempotencyKey(core.db, {
      applicationId, key: scopedKey, requestHash: hash, now, lockedUntil: new Date(now.getTime() + LEASE_MS),
      expiredBefore: new Date(now.getTime() - IDEMPOTENCY_TTL_MS),
    });
    if (!claimed) {
      const existing = await findIdempotencyKey(core.db, applicationId, scopedKey);
      if (existing && existing.requestHash !== hash) {
        throw new AppError('idempotency_key_reused', 'This Idempotency-Key was already used for a different request. Use a new key for a new request.');
      }
      if (!existing || existing.statusCode === null || existing.answerEnc === null) {
        const waitS = existing?.lockedUntil ? Math.max(1, Math.ceil((existing.lockedUntil.getTime() - now.getTime()) / 1000)) : 1;
        throw new AppError('idempotency_key_in_use', 'The first request with this Idempotency-Key is still running. Retry in a moment.', {}, { 'retry-after': String(Math.min(waitS, 60)) });
      }
      const answer = JSON.parse(core.cipher.decrypt(existing.answerEnc)) as StoredAnswer;
      reply.header('idempotent-replayed', 'true');
      return reply.code(existing.statusCode).type(answer.contentType).send(answer.body);
    }
    const renew = setInterval(() => {
      renewIdempotencyLease(core.db, applicationId, scopedKey, hash, new Date(Date.now() + LEASE_MS))
        .catch((err) => request.log.warn({ err: { message: (err as Error).message } }, 'idempotency lease renewal failed'));
    }, LEASE_MS / 3);
    renew.unref();
    request.idempotency = { key: scopedKey, hash, renew };
  });
  app.addHook('onSend', async (request, reply, payload) => {
    const held = release(request);
    if (!held || !request.tenant) return payload;
    request.idempotency = null;
    const applicationId = request.tenant.application.id;
    const body = typeof payload === 'string' ? payload : Buffer.isBuffer(payload) ? payload.toString('utf8') : null;
    if (reply.statusCode >= 500 || body === null) {
      await releaseIdempotencyKey(core.db, applicationId, held.key, held.hash); // nothing was decided (or nothing to replay): let a retry run again
      return payload;
    }
    const contentType = String(reply.getHeader('content-type') ?? 'application/json; charset=utf-8');
    const sealed = core.cipher.encrypt(JSON.stringify({ contentType, body } satisfies StoredAnswer));
    await storeIdempotentAnswer(core.db, applicationId, held.key, held.hash, reply.statusCode, sealed);
    return payload;
  });
  // A request that ends without sending (the client went away) lets its key go.
  app.addHook('onResponse', async (request) => {
    const held = release(request);
    if (held && request.tenant) await releaseIdempotencyKey(core.db, request.tenant.application.id, held.key, held.hash);
  });
}
