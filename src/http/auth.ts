/** API key authentication for /v1: `Authorization: Bearer sk_…`, resolved to the calling application. */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError } from '../domain/errors.js';
import { authenticate } from '../services/applications.js';
import type { Core, Tenant } from '../services/core.js';

declare module 'fastify' {
  interface FastifyRequest { tenant: Tenant | null }
}

export function registerAuth(app: FastifyInstance, core: Core) {
  app.decorateRequest('tenant', null);
  app.addHook('onRequest', async (request) => {
    if (!request.url.startsWith('/v1/')) return;
    const header = request.headers.authorization ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) throw new AppError('unauthenticated', 'Send your API key as Authorization: Bearer sk_… . Create one with `npx causeway keys create --name NAME`.');
    const tenant = await authenticate(core.db, match[1]!);
    if (!tenant) throw new AppError('unauthenticated', 'This API key is not valid or has been revoked. Create a new one with `npx causeway keys create --name NAME`.');
    request.tenant = tenant;
  });
}

export function tenantOf(request: FastifyRequest): Tenant {
  if (!request.tenant) throw new AppError('unauthenticated', 'This endpoint needs an API key.');
  return request.tenant;
}
