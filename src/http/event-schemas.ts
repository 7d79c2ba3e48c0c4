/**
 * The events Causeway emits, as zod schemas: the body of every webhook delivery and every item of
 * GET /v1/events. One schema per event type (EVENT_SCHEMAS), each the whole envelope with its `type`
 * fixed and its `data` described exactly, so the OpenAPI document can list them under `webhooks`.
 *
 * Where each event is written, and so where its `data` comes from:
 *   connection.created|status_changed|activated|access_expiring_soon|new_accounts_available,
 *   job.completed|failed, webhook_endpoint.disabled   database triggers (db/migrations/0005_webhooks.sql)
 *   accounts.updated, transactions.updated           db/repos/data.ts, in the statement that writes the data
 *   consent.*, access.*                              services/consent.ts, services/sync/run.ts, sync/grant.ts
 *   connection.purged|unlinked|deleted, user.deleted services/lifecycle.ts (purged also services/consent.ts)
 *   everything else                                  the service named by the event (users, link, repair, import,
 *                                                    provider-webhooks, webhooks)
 * The schemas are strict: a field added to an event without its schema fails test/event-schemas.test.ts.
 */
import { z } from 'zod';
import { EVENT_TYPES, type EventType } from '../domain/webhooks.js';
import { CONNECTION_STATUSES, JOB_TRIGGERS, JOB_TYPES, METHODS, STATUS_REASONS } from '../domain/types.js';
import { Product } from './schemas.js';

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
const instant = (description: string) => z.string()
  .refine((s) => RFC3339.test(s) && !Number.isNaN(Date.parse(s)), 'must be an RFC 3339 date-time')
  .meta({ format: 'date-time', description });
const count = (description: string) => z.int().min(0).describe(description);
const jobId = z.string().nullable().describe('The job whose run caused the event, if one did');

/** Which of the envelope's ids an event carries: connection events name both, user events the user, application events neither. */
type Scope = 'connection' | 'user' | 'application';

const envelopeFields = {
  id: z.string().describe('The event id (evt_…); also the webhook-id header of every delivery of it, so receivers can deduplicate'),
  type: z.enum(EVENT_TYPES).describe('What happened'),
  timestamp: instant('When the event happened, on the application\'s clock (the Standard Webhooks envelope field)'),
  createdAt: instant('When the event happened; the same instant as timestamp'),
  applicationId: z.string().describe('The application the event belongs to'),
  userId: z.string().nullable().describe('The user it concerns; null for events about the application itself'),
  connectionId: z.string().nullable().describe('The connection it concerns; null for user and application events'),
};

/** What every event has in common; `data` depends on `type` (see EVENT_SCHEMAS). */
export const WebhookEnvelope = z.strictObject({
  ...envelopeFields,
  data: z.record(z.string(), z.unknown()).describe('What the event says; its fields depend on type'),
}).meta({
  id: 'WebhookEnvelope',
  description: 'A Causeway event: the JSON body of a webhook delivery (signed as Standard Webhooks says) and an item of GET /v1/events',
});
export type WebhookEnvelope = z.infer<typeof WebhookEnvelope>;

const scoped = {
  connection: { userId: z.string().describe('The user whose connection it is'), connectionId: z.string().describe('The connection it concerns') },
  user: { userId: z.string().describe('The user it concerns'), connectionId: z.null() },
  application: { userId: z.null(), connectionId: z.null() },
} as const;

function event<T extends EventType, D extends z.ZodType>(type: T, scope: Scope, data: D, description: string) {
  const name = type.split(/[._]/).map((w) => w[0]!.toUpperCase() + w.slice(1)).join('');
  return z.strictObject({ ...envelopeFields, ...scoped[scope], type: z.literal(type), data })
    .meta({ id: `${name}Event`, title: type, description });
}

const ConnectionDataCounts = z.strictObject({
  accounts: count('Accounts deleted'), transactions: count('Transactions deleted'), identities: count('Identity profiles deleted'),
}).describe('Rows deleted, by kind');
const UserDataCounts = ConnectionDataCounts.extend({
  connections: count('Connections deleted'), jobs: count('Jobs deleted'),
}).describe('Rows deleted with the user, by kind');

const StatusData = z.strictObject({
  from: z.enum(CONNECTION_STATUSES).nullable().describe('The status before; null when the connection was created'),
  previousReason: z.enum(STATUS_REASONS).nullable().describe('The reason before'),
  to: z.enum(CONNECTION_STATUSES).describe('The status now'),
  reason: z.enum(STATUS_REASONS).nullable().describe('The reason now'),
  method: z.enum(METHODS), institutionId: z.string(),
});

const ConsentGranted = z.strictObject({
  grantedAt: instant('When the user granted access'), expiresAt: instant('When the access ends, if it does').nullable(),
  renewed: z.boolean().describe('A consent that replaces an earlier one (a repair)'),
  imported: z.boolean().describe('Came with a connection imported from the provider'), jobId,
});
const ConsentChange = z.strictObject({
  grantedAt: instant('When the access was granted').nullable(), expiresAt: instant('When the access ends or ended').nullable(),
  jobId: z.string().optional().describe('Present when a job\'s run found the change'),
});

const JobEnd = <S extends z.ZodType>(status: S, errorCode: z.ZodType) => z.strictObject({
  jobId: z.string(), type: z.enum(JOB_TYPES), trigger: z.enum(JOB_TRIGGERS), status, errorCode,
});

/** One schema per event type; each describes the whole envelope with that type. */
export const EVENT_SCHEMAS = {
  'user.created': event('user.created', 'user', z.strictObject({ externalId: z.string().nullable() }), 'A user was created.'),
  'user.deleted': event('user.deleted', 'user', z.strictObject({ deletionId: z.string(), counts: UserDataCounts }),
    'A user was deleted with every connection and all their data; deletionId names the deletion record.'),
  'connection.created': event('connection.created', 'connection', StatusData, 'A connection was created (from is null).'),
  'connection.activated': event('connection.activated', 'connection', StatusData,
    'A connection became active: its first sync succeeded, or it recovered. Also sent as connection.status_changed.'),
  'connection.status_changed': event('connection.status_changed', 'connection', StatusData,
    'A connection\'s status or status reason changed.'),
  'connection.access_expiring_soon': event('connection.access_expiring_soon', 'connection', StatusData,
    'The connection\'s consent or access ends within seven days: ask the user to renew it (repair).'),
  'connection.new_accounts_available': event('connection.new_accounts_available', 'connection', StatusData,
    'The institution has accounts the connection does not share yet: a repair lets the user add them.'),
  'connection.unlinked': event('connection.unlinked', 'connection', z.strictObject({ cancelledJobId: z.string().nullable() }),
    'The connection was unlinked: no more syncing, access revoked, data kept.'),
  'connection.purged': event('connection.purged', 'connection', z.union([
    z.strictObject({ deletionId: z.string(), counts: ConnectionDataCounts, cancelledJobId: z.string().nullable() })
      .describe('Purged on request'),
    z.strictObject({ deletionId: z.string(), counts: ConnectionDataCounts, because: z.enum(['consent_expired', 'consent_revoked']) })
      .describe('Purged when the consent ended, as the application\'s consentEndData setting asks'),
  ]), 'The connection\'s data was deleted; the connection stays.'),
  'connection.deleted': event('connection.deleted', 'connection', z.strictObject({
    data: z.enum(['keep', 'purge']), deletionId: z.string().nullable(), counts: ConnectionDataCounts.nullable(),
    cancelledJobId: z.string().nullable(),
  }), 'The connection was deleted for good; its data kept or purged as asked.'),
  'connection.imported': event('connection.imported', 'connection', z.strictObject({ institutionId: z.string(), provider: z.string() }),
    'A link made directly with the provider was imported as a connection.'),
  'connection.repair_requested': event('connection.repair_requested', 'connection',
    z.strictObject({ method: z.enum(METHODS), jobId }), 'A repair of the connection was asked for.'),
  'connection.products_updated': event('connection.products_updated', 'connection', z.strictObject({
    added: z.array(Product), products: z.array(Product).describe('Every product the connection now has'), jobId,
  }), 'Products were added to the connection.'),
  'connection.duplicate_link': event('connection.duplicate_link', 'connection', z.strictObject({ existingConnectionId: z.string() }),
    'The user linked, at the provider, a bank they had already connected; this connection failed with duplicate_connection.'),
  'provider.webhook': event('provider.webhook', 'connection', z.strictObject({
    provider: z.string(), type: z.string().describe('The provider\'s own webhook type'),
  }), 'The provider sent a webhook about the connection, and Causeway acted on it.'),
  'job.completed': event('job.completed', 'connection', JobEnd(z.literal('succeeded'), z.null()), 'A job succeeded.'),
  'job.failed': event('job.failed', 'connection', JobEnd(z.enum(['failed', 'cancelled']), z.string().nullable()),
    'A job failed or was cancelled; errorCode says why.'),
  'accounts.updated': event('accounts.updated', 'connection', z.strictObject({
    accounts: count('Accounts written'), added: count('Of which new'), jobId,
  }), 'Accounts and balances were fetched.'),
  'transactions.updated': event('transactions.updated', 'connection', z.strictObject({
    added: count('New transactions'), modified: count('Changed'), removed: count('Removed'), jobId,
  }), 'Transactions changed: read them from the sync feed.'),
  'consent.granted': event('consent.granted', 'connection', ConsentGranted, 'The user granted (or renewed) consent at the bank or provider.'),
  'consent.expiring': event('consent.expiring', 'connection', ConsentChange, 'The consent ends within seven days: ask the user to renew it (repair).'),
  'consent.expired': event('consent.expired', 'connection', ConsentChange, 'The consent has ended: the connection needs the user (repair).'),
  'consent.revoked': event('consent.revoked', 'connection', ConsentChange, 'The consent was revoked at the institution: the connection needs the user (repair).'),
  'access.expiring': event('access.expiring', 'connection', ConsentChange, 'A web login\'s access ends within seven days.'),
  'access.expired': event('access.expired', 'connection', ConsentChange, 'A web login\'s access has ended: the connection needs the user (repair).'),
  'access.revoked': event('access.revoked', 'connection', ConsentChange, 'A web login\'s access was revoked: the connection needs the user (repair).'),
  'webhook_endpoint.disabled': event('webhook_endpoint.disabled', 'application', z.strictObject({
    endpointId: z.string(), url: z.string(), reason: z.enum(['gone', 'failing']).describe('gone: it answered 410; failing: every attempt failed for five days'),
  }), 'Causeway disabled a webhook endpoint.'),
  'webhook_endpoint.test': event('webhook_endpoint.test', 'application', z.strictObject({ endpointId: z.string() }),
    'A test event, sent to one endpoint when asked.'),
} satisfies Record<EventType, z.ZodType>;

/** Any event, told apart by `type`. */
export const AnyEvent = z.discriminatedUnion('type', Object.values(EVENT_SCHEMAS) as [
  (typeof EVENT_SCHEMAS)[EventType], ...(typeof EVENT_SCHEMAS)[EventType][],
]);
