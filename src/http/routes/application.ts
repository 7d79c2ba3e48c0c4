/** The calling application and its settings. */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { getApplicationSettings, updateApplicationSettings } from '../../services/applications.js';
import type { Core } from '../../services/core.js';
import { tenantOf } from '../auth.js';
import { dateTime, ok, problems } from '../schemas.js';

const Application = z.object({
  id: z.string(), name: z.string(), environment: z.enum(['sandbox', 'live']),
  consentEndData: z.enum(['keep', 'purge']).describe("What happens to a connection's data when its consent expires or is revoked"),
  refreshIntervalHours: z.number().int().describe('Hours between background refreshes of each connection; an institution may make it longer'),
  institutions: z.record(z.string(), z.object({
    refreshIntervalHours: z.number().int().optional(), maxConcurrentRefreshes: z.number().int().optional(), refreshesPerMinute: z.number().optional(),
  })).describe("This application's own settings per institution (rarer or slower than the institution allows, never more)"),
  createdAt: dateTime,
}).meta({ id: 'Application', description: 'The calling application and its settings' });

const InstitutionSetting = z.object({
  refreshIntervalHours: z.number().int().min(1).max(720).optional().describe('Hours between background refreshes there (the longer of this and the application interval applies)'),
  maxConcurrentRefreshes: z.number().int().min(1).max(1000).optional().describe("Refreshes running there at once (at most the institution's own limit applies)"),
  refreshesPerMinute: z.number().min(0.01).max(100_000).optional().describe("Refreshes started there per minute, evenly spaced (at most the institution's own limit applies)"),
}).strict();

export const applicationRoutes = (core: Core): FastifyPluginAsyncZod => async (app) => {
  const tags = ['application'];
  app.get('/application', {
    schema: {
      operationId: 'getApplication', tags, summary: 'The calling application',
      description: 'Its name and environment (sandbox or live), what happens to data when consent ends, and its refresh settings.',
      response: { 200: ok(Application, 'The application'), ...problems() },
    },
  },
    async (req) => getApplicationSettings(core, tenantOf(req)));
  app.patch('/application', {
    schema: {
      operationId: 'updateApplication', tags, summary: "Change the application's settings",
      description: 'Changes only the fields sent. institutions is merged by institution id (null removes one); its settings can make refreshes rarer or slower than the institution allows, never more.',
      body: z.object({
        consentEndData: z.enum(['keep', 'purge']).optional(), refreshIntervalHours: z.number().int().min(1).max(720).optional(),
        institutions: z.record(z.string().min(1).max(64), InstitutionSetting.nullable())
          .describe('Merged into the current settings by institution id; null removes an institution\'s settings').optional(),
      }).strict(),
      response: { 200: ok(Application, 'The application as changed'), ...problems(400) },
    },
  }, async (req) => updateApplicationSettings(core, tenantOf(req), req.body));
};
