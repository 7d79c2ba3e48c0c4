/** Webhook endpoints, their delivery log, resend, replay and test (PRODUCT.md §4, §6), and the events they carry. */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { EVENT_TYPES } from '../../domain/webhooks.js';
import type { Core } from '../../services/core.js';
import { getEvent, listApplicationEvents } from '../../services/events.js';
import {
  createEndpoint, DEFAULT_ROTATION_GRACE_SECONDS, endpointDeliveries, getEndpoint, listAllEndpoints, patchEndpoint, removeEndpoint,
  replayEvents, resendDelivery, rotateSecret, sendTestEvent,
} from '../../services/webhooks.js';
import { tenantOf } from '../auth.js';
import { dateTime, Event, instant, ok, page, pageQuery, problems, WebhookDelivery as Delivery } from '../schemas.js';

const EventType = z.enum(EVENT_TYPES);
const EndpointParams = z.object({ endpointId: z.string().min(1).max(64) });

const Endpoint = z.object({
  id: z.string(), url: z.string(), description: z.string().nullable(),
  eventTypes: z.array(z.string()).describe('The event types sent here; empty: all'), enabled: z.boolean(),
  disabledReason: z.string().nullable().describe('gone: the receiver answered 410; failing: every attempt failed for 5 days'),
  failingSince: dateTime.nullable(),
  secretRotation: z.object({ previousSecretExpiresAt: dateTime }).nullable().describe('While set, deliveries carry signatures by both secrets'),
  createdAt: dateTime, updatedAt: dateTime,
  secret: z.string().optional().describe('whsec_…: shown only when the endpoint is created and when its secret is rotated'),
}).meta({ id: 'WebhookEndpoint', description: 'Where Causeway sends events, signed with its secret' });
const EndpointBody = z.object({
  url: z.string().min(1).max(2048).describe('http(s); private and loopback addresses only when the operator allows them'),
  description: z.string().max(500).nullable().optional(),
  eventTypes: z.array(EventType).max(EVENT_TYPES.length).refine((t) => new Set(t).size === t.length, 'must not repeat a type').optional()
    .describe('Only these types; omit or [] for every type'),
  enabled: z.boolean().optional(),
}).strict();

export const webhookRoutes = (core: Core): FastifyPluginAsyncZod => async (app) => {
  const tags = ['webhooks'];
  app.post('/webhook-endpoints', {
    schema: {
      operationId: 'createWebhookEndpoint', tags, summary: 'Create a webhook endpoint',
      description: 'Answers the endpoint with its signing secret (whsec_…), shown this once. Deliveries follow the Standard Webhooks specification.',
      body: EndpointBody.meta({ examples: [{ url: 'https://hooks.example.com/causeway', description: 'Production receiver', eventTypes: ['connection.status_changed', 'transactions.updated'] }] }),
      response: { 201: ok(Endpoint, 'The endpoint with its signing secret, shown this once'), ...problems(400, 'webhook_url_not_allowed') },
    },
  }, async (req, reply) => reply.code(201).send(await createEndpoint(core, tenantOf(req), req.body)));
  app.get('/webhook-endpoints', {
    schema: {
      operationId: 'listWebhookEndpoints', tags, summary: 'List webhook endpoints', description: 'Every endpoint of the application (secrets not shown), a page at a time.',
      querystring: pageQuery, response: { 200: ok(page(Endpoint), 'A page of endpoints'), ...problems(400) },
    },
  },
    async (req) => listAllEndpoints(core, tenantOf(req), req.query.cursor ?? null, req.query.limit));
  app.get('/webhook-endpoints/:endpointId', {
    schema: {
      operationId: 'getWebhookEndpoint', tags, summary: 'Get a webhook endpoint', description: 'The endpoint: its URL, event types, whether it is enabled (and why not), and any secret rotation in progress.',
      params: EndpointParams, response: { 200: ok(Endpoint, 'The endpoint'), ...problems(404) },
    },
  },
    async (req) => getEndpoint(core, tenantOf(req), req.params.endpointId));
  app.patch('/webhook-endpoints/:endpointId', {
    schema: {
      operationId: 'updateWebhookEndpoint', tags, summary: 'Change a webhook endpoint', description: 'enabled: true switches back on an endpoint Causeway disabled, and clears its failure run.',
      params: EndpointParams, body: EndpointBody.partial().strict().meta({ examples: [{ enabled: true }] }),
      response: { 200: ok(Endpoint, 'The endpoint as changed'), ...problems(400, 'webhook_url_not_allowed', 404) },
    },
  }, async (req) => patchEndpoint(core, tenantOf(req), req.params.endpointId, req.body));
  app.delete('/webhook-endpoints/:endpointId', {
    schema: {
      operationId: 'deleteWebhookEndpoint', tags, summary: 'Delete a webhook endpoint and its delivery log', description: 'Nothing more is sent to it; deliveries still pending are dropped with the log.',
      params: EndpointParams, response: { 200: ok(z.object({ id: z.string(), deleted: z.literal(true) }), 'Deleted'), ...problems(404) },
    },
  }, async (req) => removeEndpoint(core, tenantOf(req), req.params.endpointId));
  app.post('/webhook-endpoints/:endpointId/rotate-secret', {
    schema: {
      operationId: 'rotateWebhookEndpointSecret', tags, summary: "Rotate an endpoint's signing secret",
      description: 'Answers the new secret, shown this once. For graceSeconds (default 24 h) every delivery carries signatures by the old and the new secret, so receivers can switch without losing one.',
      params: EndpointParams,
      body: z.object({ graceSeconds: z.number().int().min(0).max(7 * 86400).default(DEFAULT_ROTATION_GRACE_SECONDS) }).strict().default({ graceSeconds: DEFAULT_ROTATION_GRACE_SECONDS }),
      response: { 200: ok(Endpoint, 'The endpoint with its new secret, shown this once'), ...problems(400, 404) },
    },
  }, async (req) => rotateSecret(core, tenantOf(req), req.params.endpointId, req.body.graceSeconds));
  app.get('/webhook-endpoints/:endpointId/deliveries', {
    schema: {
      operationId: 'listWebhookDeliveries', tags, summary: "An endpoint's delivery log, newest first", description: 'Every delivery with every attempt: when, the status code, how long it took, the error, the first 1 KB of the answer. Filter by status and event type; the body sent is the event (GET /events/{eventId}).',
      params: EndpointParams,
      querystring: pageQuery.extend({
        status: Delivery.shape.status.optional().describe('Only deliveries with this outcome'),
        eventType: EventType.optional().describe('Only deliveries of events of this type'),
      }),
      response: { 200: ok(page(Delivery), 'A page of deliveries'), ...problems(400, 404) },
    },
  }, async (req) => {
    const { cursor, limit, status, eventType } = req.query;
    return endpointDeliveries(core, tenantOf(req), req.params.endpointId, cursor ?? null, limit, { status, eventType });
  });
  app.post('/webhook-deliveries/:deliveryId/resend', {
    schema: {
      operationId: 'resendWebhookDelivery', tags, summary: 'Send a delivery again now', description: 'A new delivery of the same event, with the same webhook-id, on a fresh retry schedule. Refused 409 while the endpoint is disabled.',
      params: z.object({ deliveryId: z.string().min(1).max(64) }), response: { 202: ok(Delivery, 'The new delivery, pending'), ...problems(404, 'webhook_endpoint_disabled') },
    },
  }, async (req, reply) => reply.code(202).send(await resendDelivery(core, tenantOf(req), req.params.deliveryId)));
  app.post('/webhook-endpoints/:endpointId/replay', {
    schema: {
      operationId: 'replayWebhookEvents', tags, summary: 'Deliver the events of a time range again',
      description: 'Every event created in [from, to] that the endpoint takes (at most 10,000), oldest first, each with its own webhook-id.',
      params: EndpointParams, body: z.object({ from: instant, to: instant }).strict().meta({ examples: [{ from: '2026-03-01T00:00:00Z', to: '2026-03-02T00:00:00Z' }] }),
      response: {
        202: ok(z.object({ endpointId: z.string(), deliveries: z.number().int().describe('Deliveries made'), from: dateTime, to: dateTime }), 'The deliveries are made; they are sent from now'),
        ...problems(400, 'replay_too_large', 404, 'webhook_endpoint_disabled'),
      },
    },
  }, async (req, reply) => reply.code(202).send(await replayEvents(core, tenantOf(req), req.params.endpointId, req.body)));
  app.post('/webhook-endpoints/:endpointId/test', {
    schema: {
      operationId: 'testWebhookEndpoint', tags, summary: 'Send a test event to this endpoint',
      description: 'A webhook_endpoint.test event, delivered (and signed) as every event is: check a receiver end to end. Refused 409 while the endpoint is disabled.',
      params: EndpointParams, response: { 202: ok(Delivery, 'The delivery of the test event, pending'), ...problems(404, 'webhook_endpoint_disabled') },
    },
  }, async (req, reply) => reply.code(202).send(await sendTestEvent(core, tenantOf(req), req.params.endpointId)));

  app.get('/events', {
    schema: {
      operationId: 'listEvents', tags: ['events'], summary: 'Events, newest first',
      description: 'Every event of the application, as webhooks deliver them, filtered by type, user, connection and time, a page at a time: a receiver that was down can catch up here.',
      querystring: z.object({
        type: z.string().max(1000).optional().describe('One type, or several separated by commas'),
        userId: z.string().max(64).optional(), connectionId: z.string().max(64).optional(),
        from: instant.optional(), to: instant.optional(),
        limit: pageQuery.shape.limit, cursor: pageQuery.shape.cursor,
      }),
      response: { 200: ok(page(Event), 'A page of events'), ...problems(400) },
    },
  }, async (req) => {
    const q = req.query;
    return listApplicationEvents(core, tenantOf(req), {
      types: q.type ? q.type.split(',').map((t) => t.trim()).filter(Boolean) : undefined, userId: q.userId, connectionId: q.connectionId,
      from: q.from, to: q.to, limit: q.limit, cursor: q.cursor,
    });
  });
  app.get('/events/:eventId', {
    schema: {
      operationId: 'getEvent', tags: ['events'], summary: 'An event', description: 'The event as its webhook deliveries carry it.',
      params: z.object({ eventId: z.string().min(1).max(64) }), response: { 200: ok(Event, 'The event'), ...problems(404) },
    },
  }, async (req) => getEvent(core, tenantOf(req), req.params.eventId));
};
