import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Core } from '../../services/core.js';
import { answerMfa, getJob } from '../../services/jobs.js';
import { tenantOf } from '../auth.js';
import { Job, JobParams, MfaBody, problems } from '../schemas.js';

export const jobRoutes = (core: Core): FastifyPluginAsyncZod => async (app) => {
  const tags = ['jobs'];
  app.get('/jobs/:jobId', { schema: { tags, summary: 'Get a job with its steps', params: JobParams, response: { 200: Job, ...problems(401, 404) } } },
    async (req) => getJob(core, tenantOf(req), req.params.jobId));
  app.post('/jobs/:jobId/mfa', {
    schema: { tags, summary: 'Answer the MFA prompt of a job that is awaiting_input', params: JobParams, body: MfaBody, response: { 202: Job, ...problems(400, 401, 404, 409) } },
  }, async (req, reply) => reply.code(202).send(await answerMfa(core, tenantOf(req), req.params.jobId, req.body.code)));
};
