/**
 * Zod schemas for the API: they validate requests, type the handlers and generate /openapi.json.
 * Response schemas document what the views in services/views.ts return.
 */
import { z } from 'zod';
import {
  ACCOUNT_TYPES, CONNECTION_ACTIONS, DELETION_OPERATIONS, CONNECTION_STATUSES, JOB_STATUSES, JOB_TRIGGERS, JOB_TYPES, METHODS, PRODUCTS,
  STATUS_REASONS, STEP_NAMES, STEP_STATUSES, TRANSACTION_STATUSES,
} from '../domain/types.js';
import { ERROR_CATALOGUE, type ErrorCode } from '../domain/errors.js';
import { problemExample } from './examples.js';

export const id = (prefix: string) => z.string().min(1).max(64).describe(`A ${prefix}_… id`);
/**
 * Dates and instants are checked for range as well as shape: PostgreSQL has no year 0, and a year
 * no bank data can have is a mistake to name, not a query to run.
 */
export const DATE_RANGE = { min: '1900-01-01', max: '9999-12-31' } as const;
export const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date as YYYY-MM-DD')
  .refine((v) => !Number.isNaN(Date.parse(`${v}T00:00:00Z`)) && new Date(`${v}T00:00:00Z`).toISOString().startsWith(v), 'must be a real calendar date')
  .refine((v) => v >= DATE_RANGE.min && v <= DATE_RANGE.max, `must be between ${DATE_RANGE.min} and ${DATE_RANGE.max}`)
  .meta({ format: 'date' });
/** An RFC 3339 date-time with its offset, from 1970 to the end of 9999, as a Date. */
export const instant = z.string().datetime({ offset: true })
  .refine((s) => { const t = Date.parse(s); return t >= 0 && t <= Date.parse('9999-12-31T23:59:59.999Z'); }, 'must be between 1970-01-01T00:00:00Z and 9999-12-31T23:59:59Z')
  .transform((s) => new Date(s)).describe('RFC 3339 date-time');
/** An instant in an answer: the document says format date-time (the views write toISOString()). */
export const dateTime = z.string().meta({ format: 'date-time', description: 'RFC 3339 date-time' });
/** A calendar date in an answer, YYYY-MM-DD. */
export const dateOnly = z.string().meta({ format: 'date', description: 'A date, YYYY-MM-DD' });

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
}).meta({ id: 'User', description: 'Someone whose banks the application connects' });

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
}).meta({ id: 'Institution', description: 'A bank or other institution a provider connects to' });

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
}).meta({ id: 'Connection', description: "A user's link to one institution, with its status and what may be done with it now" });

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
}).meta({ id: 'Job', description: "One run against the institution (create, refresh, repair, update_products, import) with its steps" });

export const LinkSession = z.object({
  url: z.string().describe('Where to send the user: the bank\'s consent page or the provider\'s link page'),
  reference: z.string().describe("The provider's reference for this link (Plaid's link_token)"),
  expiresAt: dateTime.describe('The link works until then'),
}).meta({ id: 'LinkSession', description: "Where the user finishes linking: the bank's consent page or the provider's link page" });

export const ConnectionAndJob = z.object({
  connection: Connection, job: Job.nullable(),
  authorizationUrl: z.string().nullable().optional().describe('openbanking and hosted: link.url'),
  link: LinkSession.nullable().optional().describe('openbanking and hosted: the link session the user finishes at the bank or the provider'),
}).meta({ id: 'ConnectionAndJob', description: 'A connection and the job that was started for it (null when none was)' });

export const Account = z.object({
  id: z.string(), connectionId: z.string(), userId: z.string(), name: z.string(), type: z.enum(ACCOUNT_TYPES), mask: z.string(), currency: z.string(),
  balances: z.object({
    current: z.number().int().describe('Minor units; negative when owed'), available: z.number().int().nullable(),
    limit: z.number().int().nullable(), updatedAt: dateTime,
  }),
  createdAt: dateTime, updatedAt: dateTime,
}).meta({ id: 'Account', description: 'An account a connection brought, with its balances in minor units' });

export const Transaction = z.object({
  id: z.string(), accountId: z.string(), connectionId: z.string(), status: z.enum(TRANSACTION_STATUSES),
  amount: z.number().int().describe('Minor units; negative is money out'), currency: z.string(), date: dateOnly,
  authorizedDate: dateOnly.nullable(), description: z.string(), merchantName: z.string().nullable(), category: z.string().nullable(),
  createdAt: dateTime, updatedAt: dateTime,
}).meta({ id: 'Transaction', description: 'A transaction of an account; amounts in minor units, negative is money out' });

export const TransactionsQuery = z.object({
  accountId: id('acc').optional(), from: isoDate.optional(), to: isoDate.optional(), status: z.enum(TRANSACTION_STATUSES).optional(),
  limit: limitQuery, cursor: z.string().max(512).optional(),
}).refine((q) => !q.from || !q.to || q.from <= q.to, { message: 'from must not be after to', path: ['from'] });

export const SyncQuery = z.object({ cursor: z.string().max(512).optional(), limit: z.coerce.number().int().min(1).max(500).default(100) });

export const SyncResponse = z.object({
  added: z.array(Transaction), modified: z.array(Transaction),
  removed: z.array(z.object({ id: z.string(), accountId: z.string() })),
  nextCursor: z.string(), hasMore: z.boolean(),
}).meta({ id: 'TransactionChanges', description: 'Transactions added, modified and removed since the cursor' });

export const Profile = z.object({
  connectionId: z.string(), updatedAt: dateTime.describe('When the profile last changed: a refresh that brings the same one leaves it'), masked: z.boolean(), names: z.array(z.string()),
  emails: z.array(z.object({ address: z.string(), primary: z.boolean() })),
  phones: z.array(z.object({ number: z.string(), type: z.string(), primary: z.boolean() })),
  addresses: z.array(z.object({ line1: z.string(), city: z.string(), region: z.string(), postalCode: z.string(), country: z.string(), primary: z.boolean() })),
}).meta({ id: 'IdentityProfile', description: 'Who the institution says holds the accounts; masked unless asked otherwise' });

const ERROR_CODES = Object.keys(ERROR_CATALOGUE) as [ErrorCode, ...ErrorCode[]];

/**
 * RFC 9457 problem details. The extension fields are those the codebase sets (AppError details);
 * they are loosely typed on purpose: this schema also serializes every error answer, and a detail
 * of an unexpected shape must never turn a 4xx into a 500.
 */
export const Problem = z.looseObject({
  type: z.string().meta({ format: 'uri-reference', description: 'Where the code is explained: /docs/errors#<code> on this server' }),
  title: z.string().describe("The code's title: the same for every problem with this code"),
  status: z.number().int().min(400).max(599).describe('The HTTP status of the answer'),
  detail: z.string().describe('What went wrong this time, and what to do about it'),
  instance: z.string().optional().describe('The path of the request'),
  code: z.enum(ERROR_CODES).describe('Stable: switch on it (never on title or detail). Each code is explained at /docs/errors#<code>'),
  requestId: z.string().optional().describe("The request's id, also in the X-Request-Id header: quote it when asking for help"),
  errors: z.array(z.object({ field: z.string().describe('body.email, querystring.limit, …'), message: z.string() })).optional()
    .describe('validation_failed and other field errors: each field and what is wrong with it'),
  connectionStatus: z.enum(CONNECTION_STATUSES).optional().describe("invalid_state, job_in_progress: the connection's status now"),
  allowedActions: z.array(z.enum(CONNECTION_ACTIONS)).optional().describe('invalid_state, job_in_progress: what the connection allows now'),
  jobId: z.string().optional().describe('job_in_progress: the job running'),
  jobStatus: z.string().optional().describe("job_not_awaiting_input: the job's status"),
  refreshBudget: z.object({ remainingToday: z.number().int(), nextRefreshAllowedAt: dateTime }).optional()
    .describe('refresh_budget_exhausted: what is left today and when the next refresh is allowed'),
  retryAfterSeconds: z.number().optional().describe('too_many_sign_in_attempts, provider_unavailable: seconds to wait (as Retry-After)'),
  limit: z.number().optional().describe('too_many_requests: requests a second allowed per credential'),
  burst: z.number().optional().describe('too_many_requests: the burst allowed'),
  requiredScopes: z.array(z.string()).optional().describe('client_token_not_allowed: the client token scopes that allow the call'),
  connectionId: z.string().optional().describe('provider_unavailable on a link: the connection waiting'),
  providerCode: z.string().optional().describe("provider_unavailable, invalid_setup_token: the provider's own error code"),
  providerRequestId: z.string().nullable().optional().describe("provider_unavailable: the provider's request id, for its support"),
  providerError: z.string().optional().describe("provider_unavailable: Causeway's reason code for the provider's error"),
}).meta({ id: 'Problem', description: 'RFC 9457 problem details, served as application/problem+json' });

export const Deletion = z.object({
  id: z.string(), userId: z.string(), connectionId: z.string().nullable(),
  operation: z.enum(DELETION_OPERATIONS),
  counts: z.record(z.string(), z.number().int()).describe('Rows deleted, by kind'),
  requestedBy: z.string().describe('api_key:<id> for an API call, system otherwise'), createdAt: dateTime,
}).meta({ id: 'Deletion', description: 'Evidence of a deletion: what, how many rows, when, who asked' });
export const DeletionParams = z.object({ deletionId: id('del') });
export const DeletionsQuery = pageQuery.extend({ userId: id('usr').optional(), connectionId: id('con').optional() });
export const DeleteConnectionQuery = z.object({
  data: z.enum(['keep', 'purge']).default('keep').describe('keep (default): the data stays readable; purge: deleted in the same call'),
});

export const page = <T extends z.ZodTypeAny>(item: T) => z.object({ data: z.array(item), nextCursor: z.string().nullable() });

/** A success answer with what it means (a bare schema would read "Default Response" in the document). */
export const ok = <T extends z.ZodType>(schema: T, description: string) => ({ description, content: { 'application/json': { schema } } });

/** The codes a status stands for when a route names the status alone. */
const STATUS_CODES: Record<number, { description: string; codes: ErrorCode[] }> = {
  400: { description: 'The request is not valid: fix it before sending it again', codes: ['validation_failed'] },
  401: { description: 'No valid credential: send Authorization: Bearer with an API key (or a client token where allowed)', codes: ['unauthenticated'] },
  403: { description: 'The credential may not make this call', codes: ['client_token_not_allowed'] },
  404: { description: 'Not found in this application', codes: ['not_found'] },
  409: { description: 'The call conflicts with the current state', codes: ['invalid_state'] },
  410: { description: 'Gone', codes: ['authorization_expired'] },
  413: { description: 'The body is too large', codes: ['payload_too_large'] },
  415: { description: 'The body is not of a type this call takes', codes: ['unsupported_media_type'] },
  422: { description: 'The Idempotency-Key was used with a different request', codes: ['idempotency_key_reused'] },
  429: { description: 'Too many requests: wait for Retry-After', codes: ['too_many_requests'] },
  500: { description: 'Something went wrong on our side: retry, and quote the requestId if it persists', codes: ['internal_error'] },
  502: { description: 'The provider or institution did not answer as it should: try again', codes: ['provider_unavailable'] },
  503: { description: 'The database was busy: retry after Retry-After', codes: ['try_again'] },
};

/**
 * The error answers of a route, as problem documents: name a status for its usual code, or a code
 * for itself (its status comes from the catalogue). Each code gets an example in the document.
 * What every call can answer besides (401, 403 and 429 with a credential, 500, 503, the refusals of
 * Idempotency-Key, …) openapi.ts adds.
 */
export const problems = (...specs: (number | ErrorCode)[]) => {
  const byStatus = new Map<number, Set<ErrorCode>>();
  const add = (code: ErrorCode) => {
    const status = ERROR_CATALOGUE[code].status;
    byStatus.set(status, (byStatus.get(status) ?? new Set()).add(code));
  };
  for (const spec of specs) {
    if (typeof spec === 'number') (STATUS_CODES[spec]?.codes ?? []).forEach(add);
    else add(spec);
  }
  return Object.fromEntries([...byStatus].sort(([a], [b]) => a - b).map(([status, codes]) => [status, {
    description: STATUS_CODES[status]?.description ?? ERROR_CATALOGUE[[...codes][0]!].title,
    content: {
      'application/problem+json': {
        schema: Problem,
        examples: Object.fromEntries([...codes].map((code) => [code, { summary: ERROR_CATALOGUE[code].title, value: problemExample(code) }])),
      },
    },
  }]));
};

export const WebhookAttempt = z.object({
  id: z.string(), attemptedAt: dateTime, statusCode: z.number().int().nullable(), durationMs: z.number().int(),
  error: z.string().nullable(), responseBody: z.string().nullable().describe('The first 1 KB of the answer'),
}).meta({ id: 'DeliveryAttempt', description: 'One attempt to deliver an event to an endpoint' });
export const WebhookDelivery = z.object({
  id: z.string(), endpointId: z.string(), eventId: z.string().describe('Also the webhook-id header, on every attempt'), eventType: z.string().nullable(),
  connectionId: z.string().nullable(), status: z.enum(['pending', 'succeeded', 'failed']), trigger: z.enum(['event', 'resend', 'replay', 'test']),
  attemptCount: z.number().int(), nextAttemptAt: dateTime.nullable(), lastStatusCode: z.number().int().nullable(), createdAt: dateTime,
  attempts: z.array(WebhookAttempt),
}).meta({ id: 'Delivery', description: 'An event sent to one endpoint, with every attempt' });
export const Event = z.object({
  id: z.string().describe('evt_…; also the webhook-id header of its deliveries'),
  type: z.string().describe('What happened: one of the event types under webhooks in this document'),
  timestamp: dateTime.describe('When it happened (the Standard Webhooks envelope field)'), createdAt: dateTime.describe('The same instant as timestamp'),
  applicationId: z.string(), userId: z.string().nullable(),
  connectionId: z.string().nullable(), data: z.record(z.string(), z.unknown()).describe("What the event says: its fields depend on type (see the event's schema)"),
}).meta({ id: 'Event', description: 'Something that happened, as webhooks deliver it' });

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
]).describe('status_change (connection.created, connection.status_changed), consent (consent.granted|expiring|expired|revoked, access.*), operation (connection.purged, …), job, webhook_delivery (of one of the connection\'s events)').meta({ id: 'TimelineEntry' });
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
