import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { createConnection, listUserConnections, presentConnection, refreshAllConnections, refreshConnection, requireConnection } from '../../services/connections.js';
import type { Core } from '../../services/core.js';
import { listConnectionJobs } from '../../services/jobs.js';
import { tenantOf } from '../auth.js';
import { deleteConnection, getDeletion, listDeletionRecords, purgeConnection, unlinkConnection } from '../../services/lifecycle.js';
import { repairConnection, updateProducts } from '../../services/repair.js';
import {
  Connection, ConnectionAndJob, ConnectionParams, CreateConnectionBody, DeleteConnectionQuery, Deletion, DeletionParams, DeletionsQuery,
  ImportConnectionBody, Job, page, pageQuery, problems, ProductsBody, RefreshBody, RepairBody, TimelineEntry, TimelineQuery, UserParams,
} from '../schemas.js';
import { importConnection } from '../../services/import.js';
import { connectionTimeline } from '../../services/timeline.js';

const PurgeResult = z.object({ connection: Connection, deletion: Deletion, job: Job.nullable().describe('the first sync or repair that was running, started again (then 202)') });

export const connectionRoutes = (core: Core): FastifyPluginAsyncZod => async (app) => {
  const tags = ['connections'];
  app.post('/users/:userId/connections', {
    schema: {
      tags, summary: 'Create a connection',
      description: "web: answers 202 with the first job. openbanking (the bank's consent page) and hosted (the provider's own link page, Plaid Hosted Link): answers 201 with a link { url, reference, expiresAt } to send the user to; they come back to /link/return and the first job starts.",
      params: UserParams, body: CreateConnectionBody, response: { 201: ConnectionAndJob, 202: ConnectionAndJob, ...problems(400, 401, 404, 409, 502) },
    },
  }, async (req, reply) => {
    const result = await createConnection(core, tenantOf(req), req.params.userId, req.body);
    return reply.code(result.job ? 202 : 201).send(result);
  });
  app.post('/users/:userId/connections/import', {
    schema: {
      tags, summary: 'Import an existing provider connection',
      description: "Brings in a link the app already holds at the provider without the user: { provider: 'plaid', accessToken: 'access-…' } (the institution is learned from the token), or { institutionId, accessToken } (the sandbox takes a token from POST /v1/sandbox/tokens). 202 with the import job, which fetches the data from the start (and points the provider's webhooks at Causeway when CAUSEWAY_PUBLIC_URL is set). The connection is init until the job ends: active, or failed / invalid_credentials for a token the provider does not know.",
      params: UserParams, body: ImportConnectionBody, response: { 202: ConnectionAndJob, ...problems(400, 401, 404, 409, 502) },
    },
  }, async (req, reply) => reply.code(202).send(await importConnection(core, tenantOf(req), req.params.userId, req.body)));
  app.get('/users/:userId/connections/:connectionId/timeline', {
    schema: {
      tags, summary: "A connection's timeline",
      description: 'Status changes (from, to, reason), jobs, consent events and operations (purge, unlink, delete, repair, products, import) in one list, newest first (order=asc: oldest first), with cursor pagination.',
      params: ConnectionParams, querystring: TimelineQuery, response: { 200: page(TimelineEntry), ...problems(400, 401, 404) },
    },
  }, async (req) => connectionTimeline(core, tenantOf(req), req.params.userId, req.params.connectionId,
    { cursor: req.query.cursor ?? null, limit: req.query.limit, order: req.query.order }));
  app.get('/users/:userId/connections', {
    schema: { tags, summary: "List a user's connections", params: UserParams, querystring: pageQuery, response: { 200: page(Connection), ...problems(400, 401, 404) } },
  }, async (req) => listUserConnections(core, tenantOf(req), req.params.userId, req.query.cursor ?? null, req.query.limit));
  app.get('/users/:userId/connections/:connectionId', {
    schema: { tags, summary: 'Get a connection', params: ConnectionParams, response: { 200: Connection, ...problems(401, 404) } },
  }, async (req) => {
    const tenant = tenantOf(req);
    return presentConnection(core, tenant, await requireConnection(core, tenant, req.params.userId, req.params.connectionId));
  });
  app.post('/users/:userId/connections/:connectionId/refresh', {
    schema: {
      tags, summary: 'Refresh a connection',
      description: 'Answers 202 with a new job, or 200 with the job already queued or running for this connection. 429 with Retry-After when the refresh budget is spent.',
      params: ConnectionParams, body: RefreshBody, response: { 200: ConnectionAndJob, 202: ConnectionAndJob, ...problems(400, 401, 404, 409, 429) },
    },
  }, async (req, reply) => {
    const r = await refreshConnection(core, tenantOf(req), req.params.userId, req.params.connectionId, req.body?.products);
    return reply.code(r.created ? 202 : 200).send({ connection: r.connection, job: r.job });
  });
  app.post('/users/:userId/connections/refresh', {
    schema: {
      tags, summary: "Refresh all of a user's connections", params: UserParams, body: RefreshBody,
      response: {
        202: z.object({
          data: z.array(z.object({ connectionId: z.string(), job: Job, created: z.boolean() })),
          skipped: z.array(z.object({ connectionId: z.string(), code: z.string(), message: z.string() })),
        }),
        ...problems(400, 401, 404),
      },
    },
  }, async (req, reply) => reply.code(202).send(await refreshAllConnections(core, tenantOf(req), req.params.userId, req.body?.products)));
  app.get('/users/:userId/connections/:connectionId/jobs', {
    schema: { tags: ['jobs'], summary: "A connection's job history, newest first", params: ConnectionParams, querystring: pageQuery, response: { 200: page(Job), ...problems(400, 401, 404) } },
  }, async (req) => listConnectionJobs(core, tenantOf(req), req.params.userId, req.params.connectionId, req.query.cursor ?? null, req.query.limit));
  app.post('/users/:userId/connections/:connectionId/purge', {
    schema: {
      tags, summary: "Purge a connection's data",
      description: 'Deletes every account, transaction and identity profile that came through the connection, atomically, and answers the deletion record; the sync feed reports the transactions as removed. The connection stays; its next sync fetches the data again. A first sync or repair that was running starts again (202). 409 on a deleted connection.',
      params: ConnectionParams, response: { 200: PurgeResult, 202: PurgeResult, ...problems(401, 404, 409) },
    },
  }, async (req, reply) => {
    const r = await purgeConnection(core, tenantOf(req), req.params.userId, req.params.connectionId);
    return reply.code(r.job ? 202 : 200).send(r);
  });
  app.post('/users/:userId/connections/:connectionId/unlink', {
    schema: {
      tags, summary: 'Unlink a connection',
      description: 'unlinked: provider access revoked, no more refreshes; the data stays readable. Repair relinks it. Allowed from active, degraded and reconnect_required.',
      params: ConnectionParams, response: { 200: z.object({ connection: Connection, cancelledJobId: z.string().nullable() }), ...problems(401, 404, 409) },
    },
  }, async (req) => unlinkConnection(core, tenantOf(req), req.params.userId, req.params.connectionId));
  app.delete('/users/:userId/connections/:connectionId', {
    schema: {
      tags, summary: 'Delete a connection',
      description: 'Irreversible: deleted, access revoked, never refreshed, repaired or purged again. data=keep (default) leaves the data readable; data=purge deletes it in the same transaction and answers the deletion record.',
      params: ConnectionParams, querystring: DeleteConnectionQuery,
      response: { 200: z.object({ connection: Connection, deletion: Deletion.nullable() }), ...problems(400, 401, 404, 409) },
    },
  }, async (req) => deleteConnection(core, tenantOf(req), req.params.userId, req.params.connectionId, req.query.data));
  app.get('/deletions', {
    schema: { tags: ['deletions'], summary: 'Deletion records, newest first', querystring: DeletionsQuery, response: { 200: page(Deletion), ...problems(400, 401) } },
  }, async (req) => listDeletionRecords(core, tenantOf(req), { userId: req.query.userId, connectionId: req.query.connectionId, cursor: req.query.cursor ?? null, limit: req.query.limit }));
  app.get('/deletions/:deletionId', {
    schema: { tags: ['deletions'], summary: 'A deletion record', params: DeletionParams, response: { 200: Deletion, ...problems(401, 404) } },
  }, async (req) => getDeletion(core, tenantOf(req), req.params.deletionId));
  app.post('/users/:userId/connections/:connectionId/repair', {
    schema: {
      tags, summary: 'Repair a connection',
      description: 'Same connection, same account ids. web: new credentials, 202 with the repair job. openbanking: 200 with a new authorizationUrl; the job starts when the user approves and renews the consent. 409 while another job runs.',
      params: ConnectionParams, body: RepairBody, response: { 200: ConnectionAndJob, 202: ConnectionAndJob, ...problems(400, 401, 404, 409) },
    },
  }, async (req, reply) => {
    const r = await repairConnection(core, tenantOf(req), req.params.userId, req.params.connectionId, req.body ?? {});
    return reply.code(r.job ? 202 : 200).send(r);
  });
  app.post('/users/:userId/connections/:connectionId/products', {
    schema: {
      tags, summary: 'Add products to a connection',
      description: 'On an active or degraded connection, 202 with a job that fetches them best-effort (a product that fails gives active + partial_data). Otherwise 200: the next sync fetches them.',
      params: ConnectionParams, body: ProductsBody, response: { 200: ConnectionAndJob, 202: ConnectionAndJob, ...problems(400, 401, 404, 409) },
    },
  }, async (req, reply) => {
    const r = await updateProducts(core, tenantOf(req), req.params.userId, req.params.connectionId, req.body.products);
    return reply.code(r.job ? 202 : 200).send(r);
  });
};
