import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Core } from '../../services/core.js';
import { answerMfa, getJob } from '../../services/jobs.js';
import { tenantOf } from '../auth.js';
import { Job, JobParams, MfaBody, ok, problems } from '../schemas.js';

export const jobRoutes = (core: Core): FastifyPluginAsyncZod => async (app) => {
  const tags = ['jobs'];
  app.get('/jobs/:jobId', {
    schema: {
      operationId: 'getJob', tags, summary: 'Get a job with its steps',
      description: 'Poll it until its status is no longer queued or running (or follow the job.completed and job.failed webhooks). awaiting_input: the user must answer mfa.prompt (POST /v1/jobs/{jobId}/mfa).',
      params: JobParams, response: { 200: ok(Job, 'The job'), ...problems(401, 404) },
    },
  },
    async (req) => getJob(core, tenantOf(req), req.params.jobId));
  app.post('/jobs/:jobId/mfa', {
    schema: {
      operationId: 'answerJobMfa', tags, summary: 'Answer the MFA prompt of a job that is awaiting_input',
      description: 'The one-time code the user was sent; the job carries on (202). A job that is not awaiting input, or whose prompt has run out, is refused 409 job_not_awaiting_input.',
      params: JobParams, body: MfaBody.meta({ examples: [{ code: '123456' }] }), response: { 202: ok(Job, 'The job, running again'), ...problems(400, 401, 404, 'job_not_awaiting_input') },
    },
  }, async (req, reply) => reply.code(202).send(await answerMfa(core, tenantOf(req), req.params.jobId, req.body.code)));
};
