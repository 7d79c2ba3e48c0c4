/** Client tokens for the hosted pages, dashboard sign-in, and the dashboard's application-wide reads (issue 6). */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { CONNECTION_STATUSES } from '../../domain/types.js';
import { CLIENT_TOKEN_DEFAULT_SECONDS, CLIENT_TOKEN_MAX_SECONDS, clientTokenView, loginOperator, mintClientToken } from '../../services/access.js';
import type { Core } from '../../services/core.js';
import { getOverview, listAllConnections } from '../../services/overview.js';
import { tenantOf } from '../auth.js';
import { Connection, dateTime, id, ok, page, pageQuery, problems, UserParams } from '../schemas.js';

const Scopes = z.array(z.enum(['connect', 'manage'])).min(1).max(2);
const ClientToken = z.object({
  token: z.string().describe('ct_…: pass it to the hosted pages as ?token=, never to another user'),
  userId: z.string(), scopes: Scopes, redirectUri: z.string().nullable(), expiresAt: dateTime,
}).meta({ id: 'ClientToken', description: 'A token for the hosted pages, bound to one user and to scopes' });

const ConnectionWithUser = Connection.extend({
  user: z.object({ id: z.string(), externalId: z.string().nullable(), name: z.string().nullable(), email: z.string().nullable() })
    .describe('The user the connection belongs to'),
}).meta({ id: 'ConnectionWithUser', description: 'A connection with the user it belongs to' });

export const accessRoutes = (core: Core): FastifyPluginAsyncZod => async (app) => {
  app.post('/users/:userId/client-tokens', {
    schema: {
      operationId: 'createClientToken', tags: ['client tokens'], summary: 'Mint a client token for the hosted pages',
      description: "A short-lived token bound to this user and to scopes: `connect` (the connect widget at /connect) and `manage` (the user's page at /manage). It works only on that user's connect and manage calls. API keys and operators only (a client token reaches only the calls in http/auth.ts).",
      params: UserParams,
      body: z.object({
        scopes: Scopes.default(['connect', 'manage']),
        expiresInSeconds: z.number().int().min(60).max(CLIENT_TOKEN_MAX_SECONDS).default(CLIENT_TOKEN_DEFAULT_SECONDS),
        redirectUri: z.string().url().regex(/^https?:\/\//, 'must be an http(s) URL').max(2000).optional()
          .describe('Where the connect widget sends the user when done, with state, connectionId and jobId'),
      }).strict().default({ scopes: ['connect', 'manage'], expiresInSeconds: CLIENT_TOKEN_DEFAULT_SECONDS }),
      response: { 201: ok(ClientToken, 'The client token, shown this once'), ...problems(400, 401, 403, 404) },
    },
  }, async (req, reply) => reply.code(201).send(await mintClientToken(core, tenantOf(req), req.params.userId, req.body)));
  app.get('/client-token', {
    schema: {
      operationId: 'getClientToken', tags: ['client tokens'], summary: 'What the calling client token is for',
      description: 'Called by the hosted pages with their client token: its user, scopes, redirect and expiry, and the name of the application the user is linking for.',
      response: {
        200: ok(z.object({
          userId: z.string(), scopes: Scopes, redirectUri: z.string().nullable(), expiresAt: dateTime,
          application: z.object({ name: z.string(), environment: z.string() }),
        }), 'The client token and its application'), ...problems(401, 403),
      },
    },
  }, async (req) => clientTokenView(tenantOf(req)));
  app.post('/operator-sessions', {
    schema: {
      operationId: 'createOperatorSession', tags: ['dashboard'], summary: 'Sign an operator in to the dashboard', security: [],
      description: 'After 5 failed sign-ins for one email, or 20 from one client address, within 15 minutes, sign-in answers 429 `too_many_sign_in_attempts` with Retry-After (even with the right password) for 1 minute, doubling with each further failure up to 15 minutes. A successful sign-in clears the email\'s count.',
      body: z.object({ email: z.string().min(3).max(320), password: z.string().min(1).max(200) }).strict(),
      response: {
        201: ok(z.object({ token: z.string().describe('os_…: send it as Authorization: Bearer'), email: z.string(), expiresAt: dateTime }), 'Signed in: the session token'),
        ...problems(400, 'invalid_login', 'too_many_sign_in_attempts'),
      },
    },
  }, async (req, reply) => reply.code(201).send(await loginOperator(core, req.body.email, req.body.password, req.ip)));
  app.get('/connections', {
    schema: {
      operationId: 'listConnections', tags: ['dashboard'], summary: "Every connection of the application, by filter",
      description: 'Newest first, each with the user it belongs to (id, externalId, name, email). Page on with nextCursor.',
      querystring: pageQuery.extend({ status: z.enum(CONNECTION_STATUSES).optional(), institutionId: z.string().max(64).optional(), userId: id('usr').optional() }),
      response: { 200: ok(page(ConnectionWithUser), 'A page of connections'), ...problems(400, 401, 403) },
    },
  }, async (req) => {
    const { cursor, limit, ...filter } = req.query;
    return listAllConnections(core, tenantOf(req), filter, cursor ?? null, limit);
  });
  app.get('/overview', {
    schema: {
      operationId: 'getOverview', tags: ['dashboard'], summary: 'Counts for the dashboard: connections by status, jobs per hour and failures by reason over the last 24 hours',
      description: "The dashboard's charts: the application's connections by status now, and its jobs of the last 24 hours by hour and by failure reason.",
      response: {
        200: ok(z.object({
          since: dateTime, until: dateTime, connectionsByStatus: z.record(z.string(), z.number()),
          jobsPerHour: z.array(z.object({ hour: dateTime.describe('The start of the hour'), succeeded: z.number(), failed: z.number(), total: z.number() })),
          failuresByReason: z.array(z.object({ reason: z.string(), count: z.number() })),
        }), 'The counts'), ...problems(401, 403),
      },
    },
  }, async (req) => getOverview(core, tenantOf(req)));
};
