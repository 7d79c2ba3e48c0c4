/**
 * Authentication for /v1: `Authorization: Bearer …` with an API key (`sk_…`), an operator session
 * (`os_…`, the dashboard) or a client token (`ct_…`, the hosted pages), resolved to the calling
 * application (services/access.ts). A client token reaches only the calls listed in
 * CLIENT_TOKEN_ROUTES, each for the scopes given, and only for its own user: a route's `:userId`
 * must be the token's (another user's answers 404, as if it did not exist); calls by job id check
 * the job's user in the service.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError, notFound } from '../domain/errors.js';
import { authenticateBearer } from '../services/access.js';
import type { ClientScope, Core, Tenant } from '../services/core.js';

declare module 'fastify' {
  interface FastifyRequest { tenant: Tenant | null }
}

const BOTH: ClientScope[] = ['connect', 'manage'];

/** Every call a client token can make ("METHOD route"), and the scopes that allow it. */
export const CLIENT_TOKEN_ROUTES: Readonly<Record<string, ClientScope[]>> = {
  'GET /v1/client-token': BOTH,
  'GET /v1/institutions': BOTH,
  'GET /v1/institutions/:institutionId': BOTH,
  'GET /v1/users/:userId/connections': BOTH,
  'GET /v1/users/:userId/connections/:connectionId': BOTH,
  'GET /v1/jobs/:jobId': BOTH,
  'POST /v1/jobs/:jobId/mfa': BOTH,
  'POST /v1/users/:userId/connections/:connectionId/repair': BOTH,
  'GET /v1/users/:userId/connections/:connectionId/jobs': BOTH,
  'POST /v1/users/:userId/connections': ['connect'],
  'POST /v1/users/:userId/connections/:connectionId/products': ['connect'],
  'POST /v1/users/:userId/connections/:connectionId/refresh': ['manage'],
  'POST /v1/users/:userId/connections/:connectionId/unlink': ['manage'],
  'DELETE /v1/users/:userId/connections/:connectionId': ['manage'],
  'GET /v1/users/:userId/accounts': ['manage'],
};

/** Calls under /v1 that take no credential. */
const PUBLIC = new Set(['POST /v1/operator-sessions', 'POST /v1/providers/:provider/webhooks']);

export function registerAuth(app: FastifyInstance, core: Core) {
  app.decorateRequest('tenant', null);
  app.addHook('onRequest', async (request, reply) => {
    if (!request.url.startsWith('/v1/')) return;
    const route = `${request.method} ${request.routeOptions.url ?? ''}`;
    if (PUBLIC.has(route)) return;
    const header = request.headers.authorization ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) throw new AppError('unauthenticated', 'Send your API key as Authorization: Bearer sk_… . Create one with `npx causeway keys create --name NAME`.');
    const tenant = await authenticateBearer(core, match[1]!);
    if (!tenant) {
      throw new AppError('unauthenticated', match[1]!.startsWith('ct_')
        ? 'This client token is not valid or has expired. Ask the app for a new one (its server mints them with POST /v1/users/{userId}/client-tokens).'
        : 'This API key is not valid or has been revoked. Create a new one with `npx causeway keys create --name NAME`.');
    }
    if (tenant.client) checkClientToken(request, route, tenant.client);
    request.tenant = tenant;
    // Every later line of this request (its handler's, the "request completed" line) says who called.
    const [credential, keyId] = (tenant.actor ?? '').split(':');
    request.log = reply.log = request.log.child({ applicationId: tenant.application.id, credential, keyId });
  });
}

function checkClientToken(request: FastifyRequest, route: string, client: NonNullable<Tenant['client']>) {
  const scopes = CLIENT_TOKEN_ROUTES[route];
  if (!scopes) {
    throw new AppError('client_token_not_allowed', 'A client token reaches only its user’s connect and manage calls. Make this call from your server with an API key.');
  }
  if (!scopes.some((s) => client.scopes.includes(s))) {
    throw new AppError('client_token_not_allowed', `This call needs a client token with the scope ${scopes.join(' or ')}; this one has ${client.scopes.join(', ')}.`, { requiredScopes: scopes });
  }
  const userId = (request.params as { userId?: string } | undefined)?.userId;
  if (userId !== undefined && userId !== client.userId) throw notFound('user', userId);
}

export function tenantOf(request: FastifyRequest): Tenant {
  if (!request.tenant) throw new AppError('unauthenticated', 'This endpoint needs an API key.');
  return request.tenant;
}
