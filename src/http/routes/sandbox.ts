/**
 * Sandbox-only calls (refused for live applications) and the sandbox institutions' consent page,
 * where a user approves or denies an openbanking connection.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { boundedOffset } from '../../domain/clock.js';
import { AppError } from '../../domain/errors.js';
import { completeLinkSession } from '../../services/link.js';
import { tenantClock, type Core } from '../../services/core.js';
import { tenantOf } from '../auth.js';
import { Connection, dateTime, ok, problems } from '../schemas.js';
import { advanceClock, createSandboxToken, setInstitutionOutage, setInstitutionRateLimit, SIMULATED_EVENTS, simulateEvent } from '../../services/sandbox.js';
import { OPENBANKING_PERSONAS } from '../../providers/sandbox/provider.js';
import { consentPage, consentResultPage } from '../pages/consent.js';

const Clock = z.object({ now: dateTime.describe("The application's time now"), offsetMs: z.number().int().describe('How far ahead of real time, in milliseconds') })
  .meta({ id: 'SandboxClock', description: "A sandbox application's test clock" });

export const sandboxApiRoutes = (core: Core): FastifyPluginAsyncZod => async (app) => {
  const tags = ['sandbox'];
  // onRequest (after authentication): a live application is refused before validation or an Idempotency-Key is looked at.
  app.addHook('onRequest', async (req) => {
    if (req.tenant?.application.environment !== 'sandbox') throw new AppError('sandbox_only', 'Sandbox calls are refused for live applications; use a sandbox API key.');
  });
  app.get('/sandbox/clock', {
    schema: {
      operationId: 'getSandboxClock', tags, summary: "This application's test clock",
      description: "The time the application's connections, jobs and sandbox data see, and how far it is ahead of real time.",
      response: { 200: ok(Clock, 'The test clock') },
    },
  }, async (req) => {
    const tenant = tenantOf(req);
    return { now: tenantClock(core, tenant.application).now().toISOString(), offsetMs: boundedOffset(tenant.application.clockOffsetMs) };
  });
  app.post('/sandbox/clock', {
    schema: {
      operationId: 'advanceSandboxClock', tags, summary: "Move this application's test clock forward",
      description: 'Time moves for the calling application only: its connections, jobs and sandbox data see the new time, and what became due (consent expiry, abandoned authorisations, paused connections, background refreshes) happens before the answer. The clock runs at most 10 years (P3650D) ahead of real time in all: a move past that answers 400 and changes nothing.',
      body: z.object({ advanceBy: z.string().max(32).describe('ISO 8601 duration, e.g. P30D or PT6H; the total stays within 10 years (P3650D)') }).strict(),
      response: { 200: ok(Clock, 'The test clock, moved'), ...problems(400) },
    },
  }, async (req) => advanceClock(core, tenantOf(req), req.body.advanceBy));
  app.post('/sandbox/connections/:connectionId/simulate', {
    schema: {
      operationId: 'simulateSandboxEvent', tags, summary: 'Simulate an event on a connection',
      description: 'login_required (reconnect_required / invalid_credentials), consent_expiring, consent_expired, consent_revoked (openbanking), new_accounts (active / new_accounts_available). 409 when the status does not allow the event.',
      params: z.object({ connectionId: z.string().min(1).max(64) }),
      body: z.object({ event: z.enum(SIMULATED_EVENTS) }).strict(),
      response: { 200: ok(Connection, 'The connection after the event'), ...problems(400, 404, 409) },
    },
  }, async (req) => simulateEvent(core, tenantOf(req), req.params.connectionId, req.body.event));
  app.post('/sandbox/institutions/:institutionId/outage', {
    schema: {
      operationId: 'setSandboxOutage', tags, summary: 'Switch an institution outage on or off',
      description: "For the calling application only: while on, every call to the institution answers institution_unavailable (a first link fails, a refresh of a synced connection leaves it degraded). Off restores it.",
      params: z.object({ institutionId: z.string().min(1).max(64) }),
      body: z.object({ enabled: z.boolean().describe('true: outage on; false: off') }).strict(),
      response: { 200: ok(z.object({ institutionId: z.string(), outage: z.boolean() }), 'The outage as set'), ...problems(400, 404) },
    },
  }, async (req) => setInstitutionOutage(core, tenantOf(req), req.params.institutionId, req.body.enabled));
  app.post('/sandbox/institutions/:institutionId/rate-limit', {
    schema: {
      operationId: 'setSandboxRateLimit', tags, summary: 'Make an institution answer 429',
      description: "For the calling application only: while on, every call to the institution answers 429 (rate_limited) with the given Retry-After. Causeway slows that institution down for every worker: no call before the Retry-After has passed, then starts at half the rate for 10 minutes.",
      params: z.object({ institutionId: z.string().min(1).max(64) }),
      body: z.object({
        enabled: z.boolean().describe('true: answer 429; false: answer normally'),
        retryAfterSeconds: z.number().int().min(1).max(3600).default(30).describe('The Retry-After the institution sends'),
      }).strict(),
      response: { 200: ok(z.object({ institutionId: z.string(), rateLimited: z.boolean(), retryAfterSeconds: z.number().int().nullable() }), 'The rate limit as set'), ...problems(400, 404) },
    },
  }, async (req) => setInstitutionRateLimit(core, tenantOf(req), req.params.institutionId, req.body.enabled ? req.body.retryAfterSeconds : null));
  app.post('/sandbox/tokens', {
    schema: {
      operationId: 'createSandboxToken', tags, summary: 'Issue an access token to import',
      description: "A token as the sandbox bank's consent would issue it, without the consent page: it stands in for a link an app already holds elsewhere (a Plaid access token, say). Import it with POST /v1/users/{userId}/connections/import.",
      body: z.object({
        institutionId: z.string().min(1).max(64),
        persona: z.enum(OPENBANKING_PERSONAS).default('user_good').describe('The sandbox customer whose data the token opens'),
      }).strict(),
      response: {
        201: ok(z.object({ accessToken: z.string(), institutionId: z.string(), persona: z.string(), expiresAt: dateTime }), 'The access token, to import'),
        ...problems(400, 'unsupported_method', 404),
      },
    },
  }, async (req, reply) => reply.code(201).send(await createSandboxToken(core, tenantOf(req), req.body.institutionId, req.body.persona)));
};

/** The consent page is for end users in a browser: HTML, no API key (the `state` in the URL is the secret). */
export const sandboxPageRoutes = (core: Core): FastifyPluginAsyncZod => async (app) => {
  const params = z.object({ state: z.string().min(10).max(200) });
  app.get('/sandbox/consent/:state', { schema: { hide: true, params } }, async (req, reply) =>
    reply.type('text/html; charset=utf-8').send(consentPage(req.params.state)));
  app.post('/sandbox/consent/:state', {
    schema: { hide: true, params, body: z.object({ decision: z.enum(['approve', 'deny']), persona: z.string().max(64).default('user_good') }) },
  }, async (req, reply) => {
    try {
      const { connection, result } = await completeLinkSession(core, req.params.state, { decision: req.body.decision, persona: req.body.persona });
      return reply.type('text/html; charset=utf-8').send(consentResultPage(result === 'granted', connection.id));
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      return reply.code(err.code === 'authorization_expired' ? 410 : err.code === 'provider_unavailable' ? 502 : 404).type('text/html; charset=utf-8').send(consentResultPage(false, null, err.message));
    }
  });
};
