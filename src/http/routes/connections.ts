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
  ImportConnectionBody, Job, ok, page, pageQuery, problems, ProductsBody, RefreshBody, RepairBody, TimelineEntry, TimelineQuery, UserParams,
} from '../schemas.js';
import { importConnection } from '../../services/import.js';
import { connectionTimeline } from '../../services/timeline.js';

const PurgeResult = z.object({ connection: Connection, deletion: Deletion, job: Job.nullable().describe('the first sync or repair that was running, started again (then 202)') })
  .meta({ id: 'PurgeResult', description: 'The connection, the deletion record, and the job started again if one was running' });
const NewConnection = CreateConnectionBody.meta({ examples: [{ institutionId: 'ins_sandbox_web', method: 'web', credentials: { login: 'user_good', password: 'pass_good' }, products: ['accounts', 'balances', 'transactions'] }] });
const ImportBody = ImportConnectionBody.meta({ examples: [{ provider: 'plaid', accessToken: 'access-sandbox-8ab976e6-64bc-4b38-98f7-731e7a349970' }] });
const CREATE_CODES = ['unsupported_method', 'unsupported_product', 'credentials_required', 'credentials_not_allowed', 'setup_token_required', 'invalid_setup_token', 'no_provider', 'provider_not_configured'] as const;

export const connectionRoutes = (core: Core): FastifyPluginAsyncZod => async (app) => {
  const tags = ['connections'];
  app.post('/users/:userId/connections', {
    schema: {
      operationId: 'createConnection', tags, summary: 'Create a connection',
      description: "web: answers 202 with the first job. openbanking (the bank's consent page) and hosted (the provider's own link page, Plaid Hosted Link): answers 201 with a link { url, reference, expiresAt } to send the user to; they come back to /link/return and the first job starts.",
      params: UserParams, body: NewConnection,
      response: {
        201: ok(ConnectionAndJob, 'openbanking, hosted: the connection waits for the user at link.url'),
        202: ok(ConnectionAndJob, 'web, token: the connection and its first job, running'),
        ...problems(400, ...CREATE_CODES, 401, 403, 404, 'conflicting_connection', 502),
      },
    },
  }, async (req, reply) => {
    const result = await createConnection(core, tenantOf(req), req.params.userId, req.body);
    return reply.code(result.job ? 202 : 201).send(result);
  });
  app.post('/users/:userId/connections/import', {
    schema: {
      operationId: 'importConnection', tags, summary: 'Import an existing provider connection',
      description: "Brings in a link the app already holds at the provider without the user: { provider: 'plaid', accessToken: 'access-…' } (the institution is learned from the token), or { institutionId, accessToken } (the sandbox takes a token from POST /v1/sandbox/tokens). 202 with the import job, which fetches the data from the start (and points the provider's webhooks at Causeway when CAUSEWAY_PUBLIC_URL is set). The connection is init until the job ends: active, or failed / invalid_credentials for a token the provider does not know.",
      params: UserParams, body: ImportBody,
      response: { 202: ok(ConnectionAndJob, 'The connection (init) and its import job'), ...problems(400, 'unsupported_method', 'unsupported_product', 'import_not_supported', 'no_provider', 'provider_not_configured', 401, 404, 'conflicting_connection', 502) },
    },
  }, async (req, reply) => reply.code(202).send(await importConnection(core, tenantOf(req), req.params.userId, req.body)));
  app.get('/users/:userId/connections/:connectionId/timeline', {
    schema: {
      operationId: 'getConnectionTimeline', tags, summary: "A connection's timeline",
      description: 'Status changes (from, to, reason), jobs, consent events and operations (purge, unlink, delete, repair, products, import) in one list, newest first (order=asc: oldest first), with cursor pagination.',
      params: ConnectionParams, querystring: TimelineQuery, response: { 200: ok(page(TimelineEntry), 'A page of timeline entries'), ...problems(400, 401, 404) },
    },
  }, async (req) => connectionTimeline(core, tenantOf(req), req.params.userId, req.params.connectionId,
    { cursor: req.query.cursor ?? null, limit: req.query.limit, order: req.query.order }));
  app.get('/users/:userId/connections', {
    schema: {
      operationId: 'listUserConnections', tags, summary: "List a user's connections",
      description: "Each with its status, what the user should do about it (userAction), the actions allowed now and its refresh budget. A page at a time: pass nextCursor as cursor until it is null.",
      params: UserParams, querystring: pageQuery, response: { 200: ok(page(Connection), "A page of the user's connections"), ...problems(400, 401, 403, 404) },
    },
  }, async (req) => listUserConnections(core, tenantOf(req), req.params.userId, req.query.cursor ?? null, req.query.limit));
  app.get('/users/:userId/connections/:connectionId', {
    schema: {
      operationId: 'getConnection', tags, summary: 'Get a connection',
      description: 'Its status and statusReason, userAction, allowedActions, consent, refresh budget and the times of its last sync and next background refresh.',
      params: ConnectionParams, response: { 200: ok(Connection, 'The connection'), ...problems(401, 403, 404) },
    },
  }, async (req) => {
    const tenant = tenantOf(req);
    return presentConnection(core, tenant, await requireConnection(core, tenant, req.params.userId, req.params.connectionId));
  });
  app.post('/users/:userId/connections/:connectionId/refresh', {
    schema: {
      operationId: 'refreshConnection', tags, summary: 'Refresh a connection',
      description: 'Answers 202 with a new job, or 200 with the job already queued or running for this connection. 429 with Retry-After when the refresh budget is spent.',
      params: ConnectionParams, body: RefreshBody,
      response: {
        200: ok(ConnectionAndJob, 'A job was already queued or running for the connection: that one'),
        202: ok(ConnectionAndJob, 'A new refresh job'),
        ...problems(400, 'unsupported_product', 401, 403, 404, 409, 'refresh_budget_exhausted'),
      },
    },
  }, async (req, reply) => {
    const r = await refreshConnection(core, tenantOf(req), req.params.userId, req.params.connectionId, req.body?.products);
    return reply.code(r.created ? 202 : 200).send({ connection: r.connection, job: r.job });
  });
  app.post('/users/:userId/connections/refresh', {
    schema: {
      operationId: 'refreshUserConnections', tags, summary: "Refresh all of a user's connections", params: UserParams, body: RefreshBody,
      description: 'Starts a refresh of every connection of the user that may be refreshed now (or finds the one running); the others are listed in skipped with the code that says why.',
      response: {
        202: ok(z.object({
          data: z.array(z.object({ connectionId: z.string(), job: Job, created: z.boolean().describe('false: the job was already queued or running') })),
          skipped: z.array(z.object({ connectionId: z.string(), code: z.string().describe('A stable error code: invalid_state, refresh_budget_exhausted, …'), message: z.string() })),
        }), 'The jobs started or found, and the connections skipped'),
        ...problems(400, 401, 404),
      },
    },
  }, async (req, reply) => reply.code(202).send(await refreshAllConnections(core, tenantOf(req), req.params.userId, req.body?.products)));
  app.get('/users/:userId/connections/:connectionId/jobs', {
    schema: {
      operationId: 'listConnectionJobs', tags: ['jobs'], summary: "A connection's job history, newest first",
      description: 'Every job of the connection with its steps, a page at a time.',
      params: ConnectionParams, querystring: pageQuery, response: { 200: ok(page(Job), 'A page of jobs'), ...problems(400, 401, 403, 404) },
    },
  }, async (req) => listConnectionJobs(core, tenantOf(req), req.params.userId, req.params.connectionId, req.query.cursor ?? null, req.query.limit));
  app.post('/users/:userId/connections/:connectionId/purge', {
    schema: {
      operationId: 'purgeConnection', tags, summary: "Purge a connection's data",
      description: 'Deletes every account, transaction and identity profile that came through the connection, atomically, and answers the deletion record; the sync feed reports the transactions as removed. The connection stays; its next sync fetches the data again. A first sync or repair that was running starts again (202). 409 on a deleted connection.',
      params: ConnectionParams,
      response: { 200: ok(PurgeResult, 'Purged'), 202: ok(PurgeResult, 'Purged, and the first sync or repair that was running started again'), ...problems(401, 404, 409) },
    },
  }, async (req, reply) => {
    const r = await purgeConnection(core, tenantOf(req), req.params.userId, req.params.connectionId);
    return reply.code(r.job ? 202 : 200).send(r);
  });
  app.post('/users/:userId/connections/:connectionId/unlink', {
    schema: {
      operationId: 'unlinkConnection', tags, summary: 'Unlink a connection',
      description: 'unlinked: provider access revoked, no more refreshes; the data stays readable. Repair relinks it. Allowed from active, degraded and reconnect_required.',
      params: ConnectionParams,
      response: { 200: ok(z.object({ connection: Connection, cancelledJobId: z.string().nullable().describe('The job that was running, cancelled') }), 'The connection, unlinked'), ...problems(401, 403, 404, 409) },
    },
  }, async (req) => unlinkConnection(core, tenantOf(req), req.params.userId, req.params.connectionId));
  app.delete('/users/:userId/connections/:connectionId', {
    schema: {
      operationId: 'deleteConnection', tags, summary: 'Delete a connection',
      description: 'Irreversible: deleted, access revoked, never refreshed, repaired or purged again. data=keep (default) leaves the data readable; data=purge deletes it in the same transaction and answers the deletion record.',
      params: ConnectionParams, querystring: DeleteConnectionQuery,
      response: { 200: ok(z.object({ connection: Connection, deletion: Deletion.nullable().describe('data=purge: the deletion record') }), 'The connection, deleted'), ...problems(400, 401, 403, 404, 409) },
    },
  }, async (req) => deleteConnection(core, tenantOf(req), req.params.userId, req.params.connectionId, req.query.data));
  app.get('/deletions', {
    schema: {
      operationId: 'listDeletions', tags: ['deletions'], summary: 'Deletion records, newest first',
      description: 'Every purge and deletion of the application (or of one user or connection): what went, how many rows, when and who asked.',
      querystring: DeletionsQuery, response: { 200: ok(page(Deletion), 'A page of deletion records'), ...problems(400, 401) },
    },
  }, async (req) => listDeletionRecords(core, tenantOf(req), { userId: req.query.userId, connectionId: req.query.connectionId, cursor: req.query.cursor ?? null, limit: req.query.limit }));
  app.get('/deletions/:deletionId', {
    schema: {
      operationId: 'getDeletion', tags: ['deletions'], summary: 'A deletion record', description: 'What a purge or deletion removed, how many rows of each kind, when and who asked.',
      params: DeletionParams, response: { 200: ok(Deletion, 'The deletion record'), ...problems(401, 404) },
    },
  }, async (req) => getDeletion(core, tenantOf(req), req.params.deletionId));
  app.post('/users/:userId/connections/:connectionId/repair', {
    schema: {
      operationId: 'repairConnection', tags, summary: 'Repair a connection',
      description: 'Same connection, same account ids. web: new credentials, 202 with the repair job. openbanking: 200 with a new authorizationUrl; the job starts when the user approves and renews the consent. 409 while another job runs.',
      params: ConnectionParams, body: RepairBody,
      response: {
        200: ok(ConnectionAndJob, 'openbanking, hosted: the new link (authorizationUrl) the user approves'),
        202: ok(ConnectionAndJob, 'web, token: the repair job'),
        ...problems(400, 'credentials_required', 'credentials_not_allowed', 'setup_token_required', 'invalid_setup_token', 401, 403, 404, 409, 'job_in_progress', 502),
      },
    },
  }, async (req, reply) => {
    const r = await repairConnection(core, tenantOf(req), req.params.userId, req.params.connectionId, req.body ?? {});
    return reply.code(r.job ? 202 : 200).send(r);
  });
  app.post('/users/:userId/connections/:connectionId/products', {
    schema: {
      operationId: 'addConnectionProducts', tags, summary: 'Add products to a connection',
      description: 'On an active or degraded connection, 202 with a job that fetches them best-effort (a product that fails gives active + partial_data). Otherwise 200: the next sync fetches them.',
      params: ConnectionParams, body: ProductsBody,
      response: {
        200: ok(ConnectionAndJob, 'Noted: the next sync fetches them'),
        202: ok(ConnectionAndJob, 'The job fetching them'),
        ...problems(400, 'unsupported_product', 401, 403, 404, 409, 'products_already_linked', 'job_in_progress'),
      },
    },
  }, async (req, reply) => {
    const r = await updateProducts(core, tenantOf(req), req.params.userId, req.params.connectionId, req.body.products);
    return reply.code(r.job ? 202 : 200).send(r);
  });
};
