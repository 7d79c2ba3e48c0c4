import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Core } from '../../services/core.js';
import { getInstitution, listInstitutions } from '../../services/institutions.js';
import { tenantOf } from '../auth.js';
import { Institution, ok, problems } from '../schemas.js';

export const institutionRoutes = (core: Core): FastifyPluginAsyncZod => async (app) => {
  const tags = ['institutions'];
  app.get('/institutions', {
    schema: {
      operationId: 'listInstitutions', tags, summary: 'List and search institutions',
      description: 'The institutions of every provider this application can use (the sandbox for sandbox applications; Plaid once it has settings), by name, a page at a time.',
      querystring: z.object({
        search: z.string().max(200).optional().describe('Part of the name, any case'),
        country: z.string().regex(/^[A-Za-z]{2}$/).optional().describe('ISO 3166-1 alpha-2'),
        provider: z.string().max(40).optional(),
        cursor: z.string().max(1000).optional(),
        limit: z.coerce.number().int().min(1).max(500).default(100),
      }).strict(),
      response: { 200: ok(z.object({ data: z.array(Institution), nextCursor: z.string().nullable(), hasMore: z.boolean() }), 'A page of institutions'), ...problems(400, 401, 'invalid_cursor', 'provider_not_configured') },
    },
  }, async (req) => listInstitutions(core, tenantOf(req), req.query));
  app.get('/institutions/:institutionId', {
    schema: {
      operationId: 'getInstitution', tags, summary: 'Get an institution',
      description: 'Its methods and products, logo and colour, limits as they apply to the calling application, health and throttle.',
      params: z.object({ institutionId: z.string().max(64) }), response: { 200: ok(Institution, 'The institution'), ...problems(401, 404) },
    },
  }, async (req) => getInstitution(core, tenantOf(req), req.params.institutionId));
};
