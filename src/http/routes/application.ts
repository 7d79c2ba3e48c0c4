/** The calling application and its settings. */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { getApplicationSettings, updateApplicationSettings } from '../../services/applications.js';
import type { Core } from '../../services/core.js';
import { tenantOf } from '../auth.js';
import { problems } from '../schemas.js';

const Application = z.object({
  id: z.string(), name: z.string(), environment: z.enum(['sandbox', 'live']),
  consentEndData: z.enum(['keep', 'purge']).describe("What happens to a connection's data when its consent expires or is revoked"),
  refreshIntervalHours: z.number().int().describe('Hours between background refreshes of each connection; an institution may make it longer'),
  createdAt: z.string(),
});

export const applicationRoutes = (core: Core): FastifyPluginAsyncZod => async (app) => {
  const tags = ['application'];
  app.get('/application', { schema: { tags, summary: 'The calling application', response: { 200: Application, ...problems(401) } } },
    async (req) => getApplicationSettings(core, tenantOf(req)));
  app.patch('/application', {
    schema: {
      tags, summary: "Change the application's settings",
      body: z.object({ consentEndData: z.enum(['keep', 'purge']).optional(), refreshIntervalHours: z.number().int().min(1).max(720).optional() }).strict(),
      response: { 200: Application, ...problems(400, 401) },
    },
  }, async (req) => updateApplicationSettings(core, tenantOf(req), req.body));
};
