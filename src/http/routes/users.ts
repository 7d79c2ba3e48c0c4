import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Core } from '../../services/core.js';
import { deleteUserEverywhere } from '../../services/lifecycle.js';
import { createUser, getUser, listAllUsers, updateUser } from '../../services/users.js';
import { tenantOf } from '../auth.js';
import { Deletion, ok, page, pageQuery, problems, User, UserBody, UserParams } from '../schemas.js';

const NewUser = UserBody.meta({ examples: [{ externalId: 'cust_8842', email: 'jo@example.com', name: 'Jo Bloggs', metadata: { plan: 'pro' } }] });

export const userRoutes = (core: Core): FastifyPluginAsyncZod => async (app) => {
  const tags = ['users'];
  app.post('/users', {
    schema: {
      operationId: 'createUser', tags, summary: 'Create a user',
      description: "Every field is optional. externalId (your own id for the user) is unique in the application: a second user with it is refused 409 external_id_taken, so sending the same create twice never makes two users.",
      body: NewUser.nullish(), response: { 201: ok(User, 'The new user'), ...problems(400, 401, 'external_id_taken') },
    },
  },
    async (req, reply) => reply.code(201).send(await createUser(core, tenantOf(req), req.body ?? {})));
  app.get('/users', {
    schema: {
      operationId: 'listUsers', tags, summary: 'List users',
      description: 'Newest first, a page at a time: pass nextCursor as cursor for the next page, until it is null. search finds users by part of their id, externalId, email or name.',
      querystring: pageQuery.extend({ search: z.string().min(1).max(200).optional().describe('Part of the id, externalId, email or name (any case)') }),
      response: { 200: ok(page(User), 'A page of users'), ...problems(400, 401, 'invalid_cursor') },
    },
  }, async (req) => listAllUsers(core, tenantOf(req), req.query.cursor ?? null, req.query.limit, req.query.search));
  app.get('/users/:userId', {
    schema: {
      operationId: 'getUser', tags, summary: 'Get a user', description: 'The user with their externalId, email, name and metadata.',
      params: UserParams, response: { 200: ok(User, 'The user'), ...problems(401, 404) },
    },
  },
    async (req) => getUser(core, tenantOf(req), req.params.userId));
  app.patch('/users/:userId', {
    schema: {
      operationId: 'updateUser', tags, summary: 'Update a user',
      description: 'Changes only the fields sent; null clears one. metadata replaces the whole map. An externalId another user has is refused 409 external_id_taken.',
      params: UserParams, body: NewUser, response: { 200: ok(User, 'The user as changed'), ...problems(400, 401, 404, 'external_id_taken') },
    },
  },
    async (req) => updateUser(core, tenantOf(req), req.params.userId, req.body));
  app.delete('/users/:userId', {
    schema: {
      operationId: 'deleteUser', tags, summary: 'Delete a user with every connection and all their data',
      description: "Revokes each connection's access and answers the deletion record (also at GET /v1/deletions/{id}).",
      params: UserParams, response: { 200: ok(z.object({ id: z.string(), deleted: z.literal(true), deletion: Deletion }), 'The user is gone; the deletion record says what went'), ...problems(401, 404) },
    },
  }, async (req) => ({ id: req.params.userId, deleted: true as const, deletion: await deleteUserEverywhere(core, tenantOf(req), req.params.userId) }));
};
