/**
 * Zod schemas for the API: they validate requests, type the handlers and generate /openapi.json.
 * Response schemas document what the views in services/views.ts return.
 */
import { z } from 'zod';
import {
  ACCOUNT_TYPES, CONNECTION_ACTIONS, DELETION_OPERATIONS, CONNECTION_STATUSES, JOB_STATUSES, JOB_TRIGGERS, JOB_TYPES, METHODS, PRODUCTS,
  STATUS_REASONS, STEP_NAMES, STEP_STATUSES, TRANSACTION_STATUSES,
} from '../domain/types.js';

export const id = (prefix: string) => z.string().min(1).max(64).describe(`A ${prefix}_… id`);
/**
 * Dates and instants are checked for range as well as shape: PostgreSQL has no year 0, and a year
 * no bank data can have is a mistake to name, not a query to run.
 */
export const DATE_RANGE = { min: '1900-01-01', max: '9999-12-31' } as const;
export const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date as YYYY-MM-DD')
  .refine((v) => !Number.isNaN(Date.parse(`${v}T00:00:00Z`)) && new Date(`${v}T00:00:00Z`).toISOString().startsWith(v), 'must be a real calendar date')
  .refine((v) => v >= DATE_RANGE.min && v <= DATE_RANGE.max, `must be between ${DATE_RANGE.min} and ${DATE_RANGE.max}`);
/** An RFC 3339 date-time with its offset, from 1970 to the end of 9999, as a Date. */
export const instant = z.string().datetime({ offset: true })
  .refine((s) => { const t = Date.parse(s); return t >= 0 && t <= Date.parse('9999-12-31T23:59:59.999Z'); }, 'must be between 1970-01-01T00:00:00Z and 9999-12-31T23:59:59Z')
  .transform((s) => new Date(s)).describe('RFC 3339 date-time');
const dateTime = z.string().describe('RFC 3339 date-time');

export const limitQuery = z.coerce.number().int().min(1).max(500).default(50);
export const pageQuery = z.object({ limit: limitQuery, cursor: z.string().max(512).optional() });
export const Product = z.enum(PRODUCTS);

export const UserParams = z.object({ userId: id('usr') });
export const ConnectionParams = z.object({ userId: id('usr'), connectionId: id('con') });
export const JobParams = z.object({ jobId: id('job') });

export const UserBody = z.object({
  externalId: z.string().min(1).max(255).nullish().describe("The application's own id for this user"),
  email: z.email().max(320).nullish(),
  name: z.string().min(1).max(255).nullish(),
  metadata: z.record(z.string().max(64), z.string().max(500)).optional(),
}).strict();

export const User = z.object({
  id: z.string(), externalId: z.string().nullable(), email: z.string().nullable(), name: z.string().nullable(),
  metadata: z.record(z.string(), z.string()), createdAt: dateTime, updatedAt: dateTime,
});

export const Institution = z.object({
  id: z.string(), provider: z.string().describe('The provider that serves it: sandbox, plaid…'),
  name: z.string(), country: z.string(), methods: z.array(z.enum(METHODS)), products: z.array(Product),
  mfa: z.boolean().describe('Always asks for a one-time code'),
  logo: z.string().nullable().describe('An https URL or a data: URI of the institution\'s logo, where the provider gives one'),
  primaryColor: z.string().nullable().describe('The institution\'s brand colour, #rrggbb'),
  url: z.string().nullable().describe('The institution\'s own site'),
  historyDays: z.number().int().nullable().describe('Days of transaction history the institution gives, where the provider says'),
  maxAccessDays: z.number().int().nullable().describe('The longest access (consent) the institution grants, in days, where the provider says; null: until the user disconnects'),
  limits: z.object({
    refreshesPerDay: z.number().int().describe('Refreshes of one connection a day'),
    minIntervalSeconds: z.number().int().describe('Seconds between two refreshes of one connection'),
    maxConcurrentRefreshes: z.number().int().describe("This application's refreshes running there at once"),
    refreshesPerMinute: z.number().describe("This application's refreshes started there per minute, evenly spaced"),
    refreshIntervalHours: z.number().describe('Hours between background refreshes of each connection there'),
  }).describe("The institution's limits as they apply to the calling application (its own settings can only make them stricter)"),
  health: z.object({ status: z.enum(['operational', 'degraded', 'outage']), since: dateTime.nullable() }),
  throttle: z.object({
    runningRefreshes: z.number().int(),
    slowedUntil: dateTime.nullable().describe('The institution answered 429: no call before this'),
    rateFactor: z.number().describe('1, or less while starts are slowed after a 429'),
  }),
});

export const CreateConnectionBody = z.object({
  institutionId: id('ins'),
  method: z.enum(METHODS),
  credentials: z.object({ login: z.string().min(1).max(255), password: z.string().min(1).max(255) }).strict().optional(),
  setupToken: z.string().min(1).max(4096).optional().describe('token: what the user pasted from the provider (a SimpleFIN setup token); claimed at once, so it works only once'),
  products: z.array(Product).min(1).max(PRODUCTS.length).refine((p) => new Set(p).size === p.length, 'must not repeat a product').optional(),
}).strict();

export const RefreshBody = z.object({
  products: z.array(Product).min(1).max(PRODUCTS.length).refine((p) => new Set(p).size === p.length, 'must not repeat a product').optional(),
}).strict().nullish().describe('Optional: send no body to refresh every product of the connection');

export const RepairBody = z.object({
  credentials: z.object({ login: z.string().min(1).max(255), password: z.string().min(1).max(255) }).strict().optional()
    .describe('web: the new credentials. openbanking: omit; the answer carries a new authorizationUrl'),
  setupToken: z.string().min(1).max(4096).optional().describe('token: a new setup token the user made at the provider (SimpleFIN)'),
}).strict().nullish();
export const ProductsBody = z.object({
  products: z.array(Product).min(1).max(PRODUCTS.length).refine((p) => new Set(p).size === p.length, 'must not repeat a product'),
}).strict();
export const MfaBody = z.object({ code: z.string().min(1).max(32) }).strict();

export const Connection = z.object({
  id: z.string(), userId: z.string(), institution: z.object({ id: z.string(), name: z.string() }), provider: z.string(),
  method: z.enum(METHODS), status: z.enum(CONNECTION_STATUSES), statusReason: z.enum(STATUS_REASONS).nullable(),
  userAction: z.enum(['reconnect', 'wait', 'none']).describe('What the end user should do about statusReason'),
  allowedActions: z.array(z.enum(CONNECTION_ACTIONS)), products: z.array(z.string()),
  revokeNotice: z.string().nullable().describe("Set when the provider has no revoke call (SimpleFIN): unlink and delete drop Causeway's access here only, and this sentence tells the user what to remove at the provider themselves"),
  refreshBudget: z.object({
    remainingToday: z.number().int(), nextRefreshAllowedAt: dateTime,
    providerScopes: z.array(z.object({ scope: z.string(), remaining: z.number().int(), resetAt: dateTime })).describe(
      "The provider's own call budget where it sets one (GoCardless: about four calls a day per account for balances and for transactions): per scope, the most calls any account has left, and when the first spent account's calls come back. A refresh reads only what has calls left; when nothing has, refresh answers 429 until then. Empty when the provider sets none."),
  }),
  consent: z.object({ grantedAt: dateTime.nullable(), expiresAt: dateTime.nullable() }).nullable(),
  accessExpiresAt: dateTime.nullable(), pausedUntil: dateTime.nullable(), createdAt: dateTime,
  nextScheduledRefreshAt: dateTime.nullable().describe('When the background refresh runs next (active and degraded connections only)'),
  firstSyncedAt: dateTime.nullable(), lastUsedAt: dateTime.nullable(), lastSuccessfulSyncAt: dateTime.nullable(),
});

export const Job = z.object({
  id: z.string(), connectionId: z.string(), userId: z.string(), type: z.enum(JOB_TYPES), trigger: z.enum(JOB_TRIGGERS),
  status: z.enum(JOB_STATUSES), products: z.array(z.string()),
  steps: z.array(z.object({
    name: z.enum(STEP_NAMES), status: z.enum(STEP_STATUSES), resultCode: z.string().nullable(),
    startedAt: dateTime.nullable(), finishedAt: dateTime.nullable(),
  })),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
  mfa: z.object({ prompt: z.string(), expiresAt: dateTime.nullable() }).nullable(),
  attempts: z.number().int(), createdAt: dateTime, startedAt: dateTime.nullable(), finishedAt: dateTime.nullable(),
});

export const LinkSession = z.object({
  url: z.string().describe('Where to send the user: the bank\'s consent page or the provider\'s link page'),
  reference: z.string().describe("The provider's reference for this link (Plaid's link_token)"),
  expiresAt: dateTime.describe('The link works until then'),
});

export const ConnectionAndJob = z.object({
  connection: Connection, job: Job.nullable(),
  authorizationUrl: z.string().nullable().optional().describe('openbanking and hosted: link.url'),
  link: LinkSession.nullable().optional().describe('openbanking and hosted: the link session the user finishes at the bank or the provider'),
});

export const Account = z.object({
  id: z.string(), connectionId: z.string(), userId: z.string(), name: z.string(), type: z.enum(ACCOUNT_TYPES), mask: z.string(), currency: z.string(),
  balances: z.object({
    current: z.number().int().describe('Minor units; negative when owed'), available: z.number().int().nullable(),
    limit: z.number().int().nullable(), updatedAt: dateTime,
  }),
  createdAt: dateTime, updatedAt: dateTime,
});

export const Transaction = z.object({
  id: z.string(), accountId: z.string(), connectionId: z.string(), status: z.enum(TRANSACTION_STATUSES),
  amount: z.number().int().describe('Minor units; negative is money out'), currency: z.string(), date: z.string(),
  authorizedDate: z.string().nullable(), description: z.string(), merchantName: z.string().nullable(), category: z.string().nullable(),
  createdAt: dateTime, updatedAt: dateTime,
});

export const TransactionsQuery = z.object({
  accountId: id('acc').optional(), from: isoDate.optional(), to: isoDate.optional(), status: z.enum(TRANSACTION_STATUSES).optional(),
  limit: limitQuery, cursor: z.string().max(512).optional(),
}).refine((q) => !q.from || !q.to || q.from <= q.to, { message: 'from must not be after to', path: ['from'] });

export const SyncQuery = z.object({ cursor: z.string().max(512).optional(), limit: z.coerce.number().int().min(1).max(500).default(100) });

export const SyncResponse = z.object({
  added: z.array(Transaction), modified: z.array(Transaction),
  removed: z.array(z.object({ id: z.string(), accountId: z.string() })),
  nextCursor: z.string(), hasMore: z.boolean(),
});

export const Profile = z.object({
  connectionId: z.string(), updatedAt: dateTime, masked: z.boolean(), names: z.array(z.string()),
  emails: z.array(z.object({ address: z.string(), primary: z.boolean() })),
  phones: z.array(z.object({ number: z.string(), type: z.string(), primary: z.boolean() })),
  addresses: z.array(z.object({ line1: z.string(), city: z.string(), region: z.string(), postalCode: z.string(), country: z.string(), primary: z.boolean() })),
});

export const Problem = z.object({
  type: z.string(), title: z.string(), status: z.number().int(), detail: z.string(), instance: z.string().optional(), code: z.string(),
  errors: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
  connectionStatus: z.enum(CONNECTION_STATUSES).optional(),
  allowedActions: z.array(z.enum(CONNECTION_ACTIONS)).optional(),
}).passthrough().describe('RFC 9457 problem details');

export const Deletion = z.object({
  id: z.string(), userId: z.string(), connectionId: z.string().nullable(),
  operation: z.enum(DELETION_OPERATIONS),
  counts: z.record(z.string(), z.number().int()).describe('Rows deleted, by kind'),
  requestedBy: z.string().describe('api_key:<id> for an API call, system otherwise'), createdAt: z.string(),
}).describe('Evidence of a deletion: what, how many rows, when, who asked');
export const DeletionParams = z.object({ deletionId: id('del') });
export const DeletionsQuery = pageQuery.extend({ userId: id('usr').optional(), connectionId: id('con').optional() });
export const DeleteConnectionQuery = z.object({
  data: z.enum(['keep', 'purge']).default('keep').describe('keep (default): the data stays readable; purge: deleted in the same call'),
});

export const page = <T extends z.ZodTypeAny>(item: T) => z.object({ data: z.array(item), nextCursor: z.string().nullable() });

/**
 * Common error responses, documented on every route that can give them. Every /v1 call can also be
 * refused 429 (the per-credential rate limit, or the sign-in throttle), so each route lists it.
 */
export const problems = (...statuses: number[]) => Object.fromEntries([...new Set([...statuses, 429])].map((s) => [s, Problem]));

export const WebhookAttempt = z.object({
  id: z.string(), attemptedAt: dateTime, statusCode: z.number().int().nullable(), durationMs: z.number().int(),
  error: z.string().nullable(), responseBody: z.string().nullable().describe('The first 1 KB of the answer'),
});
export const WebhookDelivery = z.object({
  id: z.string(), endpointId: z.string(), eventId: z.string().describe('Also the webhook-id header, on every attempt'), eventType: z.string().nullable(),
  connectionId: z.string().nullable(), status: z.enum(['pending', 'succeeded', 'failed']), trigger: z.enum(['event', 'resend', 'replay', 'test']),
  attemptCount: z.number().int(), nextAttemptAt: dateTime.nullable(), lastStatusCode: z.number().int().nullable(), createdAt: dateTime,
  attempts: z.array(WebhookAttempt),
});
export const Event = z.object({
  id: z.string(), type: z.string(), createdAt: dateTime, applicationId: z.string(), userId: z.string().nullable(),
  connectionId: z.string().nullable(), data: z.record(z.string(), z.unknown()),
});

const TimelineBase = { id: z.string(), at: dateTime, type: z.string(), actor: z.string().nullable().describe('api_key:<id>, system, or null when a job or the institution caused it') };
export const TimelineEntry = z.discriminatedUnion('kind', [
  z.object({
    ...TimelineBase, kind: z.literal('status_change'),
    from: z.enum(CONNECTION_STATUSES).nullable().describe('null when the connection was created'), to: z.enum(CONNECTION_STATUSES),
    reason: z.enum(STATUS_REASONS).nullable(), previousReason: z.enum(STATUS_REASONS).nullable(),
  }),
  z.object({ ...TimelineBase, kind: z.literal('consent'), grantedAt: dateTime.nullable(), expiresAt: dateTime.nullable() }),
  z.object({ ...TimelineBase, kind: z.literal('operation'), data: z.record(z.string(), z.unknown()) }),
  z.object({ ...TimelineBase, kind: z.literal('job'), job: Job }),
  z.object({ ...TimelineBase, kind: z.literal('webhook_delivery'), delivery: WebhookDelivery }),
]).describe('status_change (connection.created, connection.status_changed), consent (consent.granted|expiring|expired|revoked, access.*), operation (connection.purged, …), job, webhook_delivery (of one of the connection\'s events)');
export const TimelineQuery = pageQuery.extend({
  order: z.enum(['desc', 'asc']).default('desc').describe('desc (default): newest first; asc: from the connection\'s creation'),
});

export const ImportConnectionBody = z.object({
  provider: z.string().min(1).max(40).regex(/^[a-z0-9_-]+$/).optional().describe('The provider the token is from (plaid); required when institutionId is left out'),
  institutionId: id('ins').optional().describe('Optional where the provider can tell it from the token (Plaid)'),
  accessToken: z.string().min(1).max(2048).optional().describe("The provider's access token for an existing link (for the sandbox: a token it issued, as a Plaid access token would be)"),
  requisitionId: z.string().min(1).max(100).optional().describe('GoCardless: the id of a linked requisition (status LN) to adopt, in place of accessToken'),
  accessUrl: z.string().min(1).max(2048).optional().describe('SimpleFIN: the access URL a claimed setup token gave, in place of accessToken'),
  products: z.array(Product).min(1).max(PRODUCTS.length).refine((p) => new Set(p).size === p.length, 'must not repeat a product').optional(),
}).strict();
