import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Core } from '../../services/core.js';
import { getAccount, getProfile, listAccounts, listUserTransactions, syncTransactions } from '../../services/data.js';
import { tenantOf } from '../auth.js';
import { Account, ConnectionParams, ok, page, problems, Profile, SyncQuery, SyncResponse, Transaction, TransactionsQuery, UserParams } from '../schemas.js';

export const dataRoutes = (core: Core): FastifyPluginAsyncZod => async (app) => {
  app.get('/users/:userId/accounts', {
    schema: {
      operationId: 'listUserAccounts', tags: ['accounts'], summary: "A user's accounts",
      description: 'Every account of every connection of the user (or of one connection), with balances in minor units.',
      params: UserParams, querystring: z.object({ connectionId: z.string().max(64).optional().describe('Only the accounts of this connection') }),
      response: { 200: ok(page(Account), "The user's accounts (one page: nextCursor is always null)"), ...problems(400, 401, 404) },
    },
  }, async (req) => listAccounts(core, tenantOf(req), req.params.userId, req.query.connectionId));
  app.get('/users/:userId/accounts/:accountId', {
    schema: {
      operationId: 'getAccount', tags: ['accounts'], summary: 'Get an account', description: 'The account with its balances (minor units) as last fetched.',
      params: UserParams.extend({ accountId: z.string().max(64) }), response: { 200: ok(Account, 'The account'), ...problems(401, 404) },
    },
  }, async (req) => getAccount(core, tenantOf(req), req.params.userId, req.params.accountId));
  app.get('/users/:userId/transactions', {
    schema: {
      operationId: 'listUserTransactions', tags: ['transactions'], summary: "A user's transactions, newest first",
      description: 'Filtered by account, date range (from and to, inclusive) and status, a page at a time. To keep a copy in step, use the sync feed instead.',
      params: UserParams, querystring: TransactionsQuery, response: { 200: ok(page(Transaction), 'A page of transactions'), ...problems(400, 401, 404) },
    },
  }, async (req) => listUserTransactions(core, tenantOf(req), req.params.userId, req.query));
  app.get('/users/:userId/transactions/sync', {
    schema: {
      operationId: 'syncUserTransactions', tags: ['transactions'], summary: 'Transaction changes since a cursor',
      description: 'Start without a cursor; keep the nextCursor you get and call again while hasMore is true.',
      params: UserParams, querystring: SyncQuery, response: { 200: ok(SyncResponse, 'The changes, and the cursor to ask from next'), ...problems(400, 401, 404) },
    },
  }, async (req) => syncTransactions(core, tenantOf(req), req.params.userId, req.query.cursor, req.query.limit));
  app.get('/users/:userId/connections/:connectionId/profile', {
    schema: {
      operationId: 'getConnectionProfile', tags: ['identity'], summary: 'The identity profile a connection brought (PII masked unless unmasked=true)',
      description: 'Names, emails, phones and addresses as the institution gave them. Masked by default; unmasked=true shows them whole.',
      params: ConnectionParams, querystring: z.object({ unmasked: z.enum(['true', 'false']).default('false').describe('true: the values whole') }),
      response: { 200: ok(Profile, 'The identity profile'), ...problems(400, 401, 404) },
    },
  }, async (req) => getProfile(core, tenantOf(req), req.params.userId, req.params.connectionId, req.query.unmasked === 'true'));
};
