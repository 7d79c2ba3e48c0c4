/**
 * `Idempotency-Key` on mutating calls (as Stripe): the first response for a key is stored and
 * replayed for 24 hours; the same key with a different request answers 422; a retry while the first
 * is still running answers 409. Requests that fail validation store nothing, so fixing them is safe.
 */
import type { FastifyInstance } from 'fastify';
import { and, eq } from 'drizzle-orm';
import { AppError } from '../domain/errors.js';
import { idempotencyKeys } from '../db/schema.js';
import type { Core } from '../services/core.js';
import { sha256 } from '../services/crypto.js';

const TTL_MS = 24 * 3600_000;

declare module 'fastify' {
  interface FastifyRequest { idempotencyKey: string | null }
}

export function registerIdempotency(app: FastifyInstance, core: Core) {
  app.decorateRequest('idempotencyKey', null);
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
    const where = and(eq(idempotencyKeys.applicationId, applicationId), eq(idempotencyKeys.key, scopedKey));
    const [existing] = await core.db.select().from(idempotencyKeys).where(where);
    if (existing && existing.createdAt.getTime() < now.getTime() - TTL_MS) {
      await core.db.delete(idempotencyKeys).where(where);
    } else if (existing) {
      if (existing.requestHash !== hash) throw new AppError('idempotency_key_reused', 'This Idempotency-Key was already used for a different request. Use a new key for a new request.');
      if (existing.statusCode === null) throw new AppError('idempotency_key_in_use', 'The first request with this Idempotency-Key is still running. Retry in a moment.', {}, { 'retry-after': '1' });
      reply.header('idempotent-replayed', 'true');
      return reply.code(existing.statusCode).send(existing.body);
    }
    const inserted = await core.db.insert(idempotencyKeys).values({ applicationId, key: scopedKey, requestHash: hash, createdAt: now })
      .onConflictDoNothing().returning();
    if (inserted.length === 0) throw new AppError('idempotency_key_in_use', 'A request with this Idempotency-Key is running. Retry in a moment.', {}, { 'retry-after': '1' });
    request.idempotencyKey = scopedKey;
  });
  app.addHook('onSend', async (request, reply, payload) => {
    const key = request.idempotencyKey;
    if (!key || !request.tenant) return payload;
    const where = and(eq(idempotencyKeys.applicationId, request.tenant.application.id), eq(idempotencyKeys.key, key));
    if (reply.statusCode >= 500) {
      await core.db.delete(idempotencyKeys).where(where); // nothing was decided: let a retry run again
      return payload;
    }
    let body: unknown = null;
    try { body = typeof payload === 'string' && payload.length > 0 ? JSON.parse(payload) : null; } catch { body = null; }
    await core.db.update(idempotencyKeys).set({ statusCode: reply.statusCode, body }).where(where);
    return payload;
  });
}
