/**
 * GET /link/return: where every provider sends the user back after linking (Plaid Hosted Link's
 * completion_redirect_uri, a GoCardless requisition's redirect). `state` ties it to the connection;
 * the provider reads the rest of the address itself (services/link.ts). A page for people: HTML.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AppError } from '../../domain/errors.js';
import type { Core } from '../../services/core.js';
import { completeLinkSession } from '../../services/link.js';
import { linkResultPage } from '../pages/link.js';

export const linkPageRoutes = (core: Core): FastifyPluginAsyncZod => async (app) => {
  app.get('/link/return', {
    schema: { hide: true, querystring: z.object({ state: z.string().min(10).max(200) }).catchall(z.string().max(4000)) },
  }, async (req, reply) => {
    const { state, ...params } = req.query as Record<string, string>;
    reply.type('text/html; charset=utf-8');
    try {
      const outcome = await completeLinkSession(core, state!, params);
      return reply.send(linkResultPage({ result: outcome.result, connectionId: outcome.connection.id, status: outcome.connection.status, message: outcome.message }));
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      const status = err.code === 'authorization_expired' ? 410 : err.code === 'provider_unavailable' ? 502 : 404;
      return reply.code(status).send(linkResultPage({ result: 'error', connectionId: null, status: null, message: err.message }));
    }
  });
};
