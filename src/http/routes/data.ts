import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Core } from '../../services/core.js';
import { getAccount, getProfile, listAccounts, listUserTransactions, syncTransactions } from '../../services/data.js';
import { tenantOf } from '../auth.js';
import { Account, ConnectionParams, page, problems, Profile, SyncQuery, SyncResponse, Transaction, TransactionsQuery, UserParams } from '../schemas.js';

export const dataRoutes = (core: Core): FastifyPluginAsyncZod => async (app) => {
  app.get('/users/:userId/accounts', {
    schema: { tags: ['accounts'], summary: "A user's accounts", params: UserParams, querystring: z.object({ connectionId: z.string().max(64).optional() }), response: { 200: page(Account), ...problems(401, 404) } },
  }, async (req) => listAccounts(core, tenantOf(req), req.params.userId, req.query.connectionId));
  app.get('/users/:userId/accounts/:accountId', {
    schema: { tags: ['accounts'], summary: 'Get an account', params: UserParams.extend({ accountId: z.string().max(64) }), response: { 200: Account, ...problems(401, 404) } },
  }, async (req) => getAccount(core, tenantOf(req), req.params.userId, req.params.accountId));
  app.get('/users/:userId/transactions', {
    schema: { tags: ['transactions'], summary: "A user's transactions, newest first", params: UserParams, querystring: TransactionsQuery, response: { 200: page(Transaction), ...problems(400, 401, 404) } },
  }, async (req) => listUserTransactions(core, tenantOf(req), req.params.userId, req.query));
  app.get('/users/:userId/transactions/sync', {
    schema: {
      tags: ['transactions'], summary: 'Transaction changes since a cursor',
      description: 'Start without a cursor; keep the nextCursor you get and call again while hasMore is true.',
      params: UserParams, querystring: SyncQuery, response: { 200: SyncResponse, ...problems(400, 401, 404) },
    },
  }, async (req) => syncTransactions(core, tenantOf(req), req.params.userId, req.query.cursor, req.query.limit));
  app.get('/users/:userId/connections/:connectionId/profile', {
    schema: {
      tags: ['identity'], summary: 'The identity profile a connection brought (PII masked unless unmasked=true)',
      params: ConnectionParams, querystring: z.object({ unmasked: z.enum(['true', 'false']).default('false') }), response: { 200: Profile, ...problems(401, 404) },
    },
  }, async (req) => getProfile(core, tenantOf(req), req.params.userId, req.params.connectionId, req.query.unmasked === 'true'));
};
