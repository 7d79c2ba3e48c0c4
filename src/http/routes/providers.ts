/**
 * Providers: the application's settings for each (GET, PUT, DELETE /v1/application/providers) and
 * the providers' webhooks in (POST /v1/providers/{provider}/webhooks: no API key, verified by the
 * provider's own signature over the exact bytes sent).
 */
import type { FastifyPluginAsyncZod, ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Core } from '../../services/core.js';
import { deleteProviderSettingsOf, listProviderSettingsViews, putProviderSettings } from '../../services/providers.js';
import { receiveProviderWebhook } from '../../services/provider-webhooks.js';
import { tenantOf } from '../auth.js';
import { ok, problems } from '../schemas.js';

const ProviderSettingsView = z.object({
  provider: z.string(), name: z.string(), methods: z.array(z.string()),
  configured: z.boolean().describe('This application can create connections through it'),
  source: z.enum(['application', 'deployment']).nullable().describe("Whose settings are used: the application's own, the deployment's (environment), or none"),
  fields: z.array(z.object({
    name: z.string(), secret: z.boolean(), required: z.boolean(), description: z.string(), values: z.array(z.string()).optional(),
    value: z.string().nullable().describe('The value; always null for a secret'),
    set: z.boolean(),
  })),
}).meta({ id: 'ProviderSettings', description: "A provider and this application's settings for it, without secrets" });

const params = z.object({ provider: z.string().min(1).max(40).regex(/^[a-z0-9_-]+$/) });

export const providerRoutes = (core: Core): FastifyPluginAsyncZod => async (app) => {
  const tags = ['application'];
  app.get('/application/providers', {
    schema: {
      operationId: 'listProviderSettings', tags, summary: "The providers and this application's settings for each, without secrets",
      description: 'Every provider this server has, whether this application can use it, and whose settings apply (its own or the deployment\'s). Secret values are never shown.',
      response: { 200: ok(z.object({ data: z.array(ProviderSettingsView) }), 'The providers'), ...problems() },
    },
  }, async (req) => ({ data: await listProviderSettingsViews(core, tenantOf(req)) }));
  app.put('/application/providers/:provider', {
    schema: {
      operationId: 'putProviderSettings', tags, summary: "Set this application's settings for a provider",
      description: 'Plaid: { clientId, secret, environment: sandbox|production }. Secrets are encrypted at rest and never shown again. Replaces the previous settings whole.',
      params, body: z.record(z.string().max(100), z.unknown()).meta({ examples: [{ clientId: '5f3a9c2e1b7d4a0012345678', secret: 'f1e2d3c4b5a6978877665544332211', environment: 'sandbox' }] }),
      response: { 200: ok(ProviderSettingsView, 'The provider with the new settings (secrets not shown)'), ...problems(400, 404) },
    },
  }, async (req) => putProviderSettings(core, tenantOf(req), req.params.provider, req.body));
  app.delete('/application/providers/:provider', {
    schema: {
      operationId: 'deleteProviderSettings', tags, summary: "Remove this application's own settings for a provider (the deployment's, if any, apply again)",
      description: "The application's own settings for the provider are deleted; connections through it use the deployment's settings from now on, if it has any.",
      params, response: { 204: z.null().describe('Removed'), ...problems(404) },
    },
  }, async (req, reply) => {
    await deleteProviderSettingsOf(core, tenantOf(req), req.params.provider);
    return reply.code(204).send(null);
  });

  // The signature covers the body's exact bytes: read it as a string, parse after verifying.
  await app.register(async (plain) => {
    const hooks = plain.withTypeProvider<ZodTypeProvider>();
    hooks.removeContentTypeParser('application/json');
    hooks.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: 1_048_576 }, (_req, body, done) => done(null, body));
    hooks.post('/providers/:provider/webhooks', {
      schema: {
        operationId: 'receiveProviderWebhook', tags: ['providers'], summary: "A provider's webhook", description: 'Called by the provider (Plaid), not by apps: verified by its own signature, answered 200 once handled.',
        params, response: {
          200: ok(z.object({ type: z.string(), connectionId: z.string().nullable(), action: z.string() }), 'Handled: what it was and what Causeway did'),
          ...problems(400, 'invalid_webhook_signature', 404, 502),
        },
      },
    }, async (req) => receiveProviderWebhook(core, req.params.provider, req.headers as Record<string, string | undefined>, typeof req.body === 'string' ? req.body : ''));
  });
};
