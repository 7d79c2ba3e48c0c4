import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Core } from '../../services/core.js';
import { getInstitution, listInstitutions } from '../../services/institutions.js';
import { tenantOf } from '../auth.js';
import { Institution, problems } from '../schemas.js';

export const institutionRoutes = (core: Core): FastifyPluginAsyncZod => async (app) => {
  const tags = ['institutions'];
  app.get('/institutions', { schema: { tags, summary: 'List institutions', response: { 200: z.object({ data: z.array(Institution), nextCursor: z.null() }), ...problems(401) } } },
    async (req) => ({ data: await listInstitutions(core, tenantOf(req)), nextCursor: null }));
  app.get('/institutions/:institutionId', {
    schema: { tags, summary: 'Get an institution', params: z.object({ institutionId: z.string().max(64) }), response: { 200: Institution, ...problems(401, 404) } },
  }, async (req) => getInstitution(core, tenantOf(req), req.params.institutionId));
};
