import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Core } from '../../services/core.js';
import { deleteUserEverywhere } from '../../services/lifecycle.js';
import { createUser, getUser, listAllUsers, updateUser } from '../../services/users.js';
import { tenantOf } from '../auth.js';
import { Deletion, page, pageQuery, problems, User, UserBody, UserParams } from '../schemas.js';

export const userRoutes = (core: Core): FastifyPluginAsyncZod => async (app) => {
  const tags = ['users'];
  app.post('/users', { schema: { tags, summary: 'Create a user', body: UserBody.nullish(), response: { 201: User, ...problems(400, 401) } } },
    async (req, reply) => reply.code(201).send(await createUser(core, tenantOf(req), req.body ?? {})));
  app.get('/users', {
    schema: {
      tags, summary: 'List users',
      querystring: pageQuery.extend({ search: z.string().min(1).max(200).optional().describe('Part of the id, externalId, email or name (any case)') }),
      response: { 200: page(User), ...problems(400, 401) },
    },
  }, async (req) => listAllUsers(core, tenantOf(req), req.query.cursor ?? null, req.query.limit, req.query.search));
  app.get('/users/:userId', { schema: { tags, summary: 'Get a user', params: UserParams, response: { 200: User, ...problems(401, 404) } } },
    async (req) => getUser(core, tenantOf(req), req.params.userId));
  app.patch('/users/:userId', { schema: { tags, summary: 'Update a user', params: UserParams, body: UserBody, response: { 200: User, ...problems(400, 401, 404) } } },
    async (req) => updateUser(core, tenantOf(req), req.params.userId, req.body));
  app.delete('/users/:userId', {
    schema: {
      tags, summary: 'Delete a user with every connection and all their data',
      description: "Revokes each connection's access and answers the deletion record (also at GET /v1/deletions/{id}).",
      params: UserParams, response: { 200: z.object({ id: z.string(), deleted: z.literal(true), deletion: Deletion }), ...problems(401, 404) },
    },
  }, async (req) => ({ id: req.params.userId, deleted: true as const, deletion: await deleteUserEverywhere(core, tenantOf(req), req.params.userId) }));
};
