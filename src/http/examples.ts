/**
 * Examples for the API document: real answers of the sandbox (ids and times made uniform), put on
 * the named schemas by src/http/openapi.ts, and the problem document each error code gives. The
 * linters check each example against its schema, so a field renamed without its example fails
 * test/openapi.test.ts.
 */
import { ERROR_CATALOGUE, type ErrorCode } from '../domain/errors.js';

const USER = 'usr_01jq3v5w8x9y0z1a2b3c4d5e6f';
const CONNECTION = 'con_01jq3v6a7b8c9d0e1f2g3h4j5k';
const JOB = 'job_01jq3v6a7b8c9d0e1f2g3h4j5m';
const ACCOUNT = 'acc_01jq3v6c1d2e3f4g5h6j7k8m9n';
const ENDPOINT = 'whe_01jq3v7p8q9r0s1t2v3w4x5y6z';
const EVENT = 'evt_01jq3v6d9e0f1g2h3j4k5m6n7p';
const APPLICATION = 'app_01jq3v4a5b6c7d8e9f0g1h2j3k';
const AT = '2026-03-02T09:30:00.000Z';
const LATER = '2026-03-02T09:30:04.120Z';

const institution = {
  id: 'ins_sandbox_web', provider: 'sandbox', name: 'Sandbox Web Bank', country: 'AU', methods: ['web'],
  products: ['accounts', 'balances', 'transactions', 'identity'], mfa: false, logo: null, primaryColor: '#0b5fff', url: 'https://bank.example',
  historyDays: 730, maxAccessDays: null,
  limits: { refreshesPerDay: 20, minIntervalSeconds: 0, maxConcurrentRefreshes: 64, refreshesPerMinute: 60, refreshIntervalHours: 24 },
  health: { status: 'operational', since: null },
  throttle: { runningRefreshes: 0, slowedUntil: null, rateFactor: 1 },
};

const connection = {
  id: CONNECTION, userId: USER, institution: { id: 'ins_sandbox_web', name: 'Sandbox Web Bank' }, provider: 'sandbox', method: 'web',
  status: 'active', statusReason: null, userAction: 'none', allowedActions: ['refresh', 'update_products', 'purge', 'unlink', 'delete'],
  products: ['accounts', 'balances', 'transactions', 'identity'], revokeNotice: null,
  refreshBudget: { remainingToday: 19, nextRefreshAllowedAt: LATER, providerScopes: [] },
  consent: null, accessExpiresAt: null, pausedUntil: null, createdAt: AT, nextScheduledRefreshAt: '2026-03-03T09:30:04.120Z',
  firstSyncedAt: LATER, lastUsedAt: AT, lastSuccessfulSyncAt: LATER,
};

const step = (name: string, startedAt: string, finishedAt: string) => ({ name, status: 'success', resultCode: 'ok', startedAt, finishedAt });
const job = {
  id: JOB, connectionId: CONNECTION, userId: USER, type: 'create', trigger: 'api', status: 'succeeded',
  products: ['accounts', 'balances', 'transactions', 'identity'],
  steps: [
    step('verify-credentials', '2026-03-02T09:30:00.210Z', '2026-03-02T09:30:00.950Z'),
    step('retrieve-accounts', '2026-03-02T09:30:00.950Z', '2026-03-02T09:30:01.800Z'),
    step('retrieve-transactions', '2026-03-02T09:30:01.800Z', '2026-03-02T09:30:03.900Z'),
    step('retrieve-identity', '2026-03-02T09:30:03.900Z', LATER),
  ],
  error: null, mfa: null, attempts: 1, createdAt: AT, startedAt: '2026-03-02T09:30:00.210Z', finishedAt: LATER,
};

const transaction = {
  id: 'txn_01jq3v6e2f3g4h5j6k7m8n9p0q', accountId: ACCOUNT, connectionId: CONNECTION, status: 'posted', amount: -1928, currency: 'AUD',
  date: '2026-03-01', authorizedDate: '2026-02-28', description: 'TRANSPORTFORNSW OPAL', merchantName: 'Transport for NSW',
  category: 'public_transport', createdAt: LATER, updatedAt: LATER,
};

const delivery = {
  id: 'whd_01jq3v8a9b0c1d2e3f4g5h6j7k', endpointId: ENDPOINT, eventId: EVENT, eventType: 'job.completed', connectionId: CONNECTION,
  status: 'succeeded', trigger: 'event', attemptCount: 1, nextAttemptAt: null, lastStatusCode: 200, createdAt: LATER,
  attempts: [{ id: 'wha_01jq3v8b0c1d2e3f4g5h6j7k8m', attemptedAt: '2026-03-02T09:30:04.300Z', statusCode: 200, durationMs: 84, error: null, responseBody: '{"ok":true}' }],
};

const importFailure = {
  row: 2, user: 'jo@example.com', code: 'validation_failed', message: 'Plaid does not recognise this access token (INVALID_ACCESS_TOKEN).',
};
const importBatch = {
  id: 'imp_01jq3w0a1b2c3d4e5f6g7h8j9k', status: 'completed', provider: 'plaid', source: 'api',
  counts: { total: 2, imported: 1, skipped: 0, failed: 1, pending: 0 }, waitUntil: null,
  createdAt: AT, startedAt: '2026-03-02T09:30:00.400Z', finishedAt: '2026-03-02T09:30:03.100Z',
};

/** Examples by component name (the `id` in the schema's `.meta`). */
export const SCHEMA_EXAMPLES: Record<string, unknown> = {
  User: {
    id: USER, externalId: 'cust_8842', email: 'jo@example.com', name: 'Jo Bloggs', metadata: { plan: 'pro' },
    createdAt: '2026-03-02T09:29:41.512Z', updatedAt: '2026-03-02T09:29:41.512Z',
  },
  Institution: institution,
  Connection: connection,
  Job: job,
  LinkSession: { url: 'https://auth.bank.example/consent?request=9f3kq2', reference: 'link-sandbox-4f1c2a', expiresAt: '2026-03-02T10:00:00.000Z' },
  Account: {
    id: ACCOUNT, connectionId: CONNECTION, userId: USER, name: 'Everyday Access', type: 'transaction', mask: '6197', currency: 'AUD',
    balances: { current: 208651, available: 188429, limit: null, updatedAt: LATER }, createdAt: LATER, updatedAt: LATER,
  },
  Transaction: transaction,
  WebhookEndpoint: {
    id: ENDPOINT, url: 'https://hooks.example.com/causeway', description: 'Production receiver', eventTypes: [], enabled: true,
    disabledReason: null, failingSince: null, secretRotation: null, createdAt: AT, updatedAt: AT,
    secret: 'whsec_EXAMPLEexampleEXAMPLEexample00',
  },
  Delivery: delivery,
  Event: {
    id: EVENT, type: 'job.completed', timestamp: LATER, createdAt: LATER, applicationId: APPLICATION, userId: USER, connectionId: CONNECTION,
    data: { jobId: JOB, type: 'create', trigger: 'api', status: 'succeeded', errorCode: null },
  },
  Deletion: {
    id: 'del_01jq3v9a0b1c2d3e4f5g6h7j8k', userId: USER, connectionId: CONNECTION, operation: 'purge',
    counts: { accounts: 4, identities: 1, transactions: 805 }, requestedBy: 'api_key:key_01jq3v4b5c6d7e8f9g0h1j2k3m', createdAt: '2026-03-02T11:02:17.138Z',
  },
  Application: {
    id: APPLICATION, name: 'Acme Budgeting', environment: 'sandbox', consentEndData: 'keep', refreshIntervalHours: 24,
    institutions: { ins_sandbox_web: { refreshIntervalHours: 48 } }, createdAt: '2026-03-01T08:00:00.000Z',
  },
  Import: importBatch,
  ImportWithFailures: { ...importBatch, failures: { data: [importFailure], nextCursor: null } },
  ImportFailure: importFailure,
  ImportRow: {
    row: 1, user: 'cust_8842', userId: USER, status: 'imported', connectionId: CONNECTION, error: null,
  },
  ClientToken: {
    token: 'ct_EXAMPLEexampleEXAMPLEexampleEXAMPLEexample0', userId: USER, scopes: ['connect', 'manage'],
    redirectUri: 'https://app.example.com/banks/done', expiresAt: '2026-03-02T10:00:00.000Z',
  },
};

/** What a problem of each code says in these examples, where more than its title helps. */
const DETAILS: Partial<Record<ErrorCode, { detail: string; instance?: string; extra?: Record<string, unknown> }>> = {
  validation_failed: {
    detail: 'Fix these fields: body.email Invalid email address.', instance: '/v1/users',
    extra: { errors: [{ field: 'body.email', message: 'Invalid email address' }] },
  },
  unauthenticated: { detail: 'Send your API key as Authorization: Bearer sk_… .', instance: '/v1/users' },
  not_found: { detail: `No user with id ${USER} exists in this application.`, instance: `/v1/users/${USER}` },
  external_id_taken: {
    detail: 'Another user of this application already has externalId cust_8842. Fetch that user instead, or use another externalId.', instance: '/v1/users',
    extra: { errors: [{ field: 'body.externalId', message: 'already used by another user' }] },
  },
  invalid_state: {
    detail: 'A connection that is unlinked cannot refresh. Allowed now: repair, purge, delete.',
    extra: { connectionStatus: 'unlinked', allowedActions: ['repair', 'purge', 'delete'] },
  },
  job_in_progress: {
    detail: `Job ${JOB} is running for this connection; wait for it to finish (GET /v1/jobs/${JOB}), then try again.`,
    extra: { jobId: JOB, connectionStatus: 'active', allowedActions: ['refresh', 'update_products', 'purge', 'unlink', 'delete'] },
  },
  job_not_awaiting_input: { detail: `Job ${JOB} is succeeded; only a job that is awaiting_input takes an MFA code.`, extra: { jobStatus: 'succeeded' } },
  idempotency_key_reused: { detail: 'This Idempotency-Key was first used for another request (another method, path or body). Use a new key for a new request.' },
  idempotency_key_in_use: { detail: 'The first request with this Idempotency-Key is still running. Retry in a moment.' },
  refresh_budget_exhausted: {
    detail: 'This connection may be refreshed again at 2026-03-03T00:00:00.000Z (0 left today). Background refreshes keep it fresh meanwhile.',
    extra: { refreshBudget: { remainingToday: 0, nextRefreshAllowedAt: '2026-03-03T00:00:00.000Z' } },
  },
  too_many_requests: { detail: 'This credential made more than 50 requests a second (bursts up to 100). Retry after 1 s, and spread requests out.', extra: { limit: 50, burst: 100 } },
  too_many_sign_in_attempts: { detail: 'Too many failed sign-ins for this email or from this address. Wait 60 s before trying again.', instance: '/v1/operator-sessions', extra: { retryAfterSeconds: 60 } },
  client_token_not_allowed: { detail: 'This call needs a client token with the scope manage; this one has connect.', extra: { requiredScopes: ['manage'] } },
  provider_unavailable: {
    detail: 'Plaid could not check the token (INTERNAL_SERVER_ERROR): try again shortly.',
    extra: { providerCode: 'INTERNAL_SERVER_ERROR', providerRequestId: 'Hk3jT9xP2q', providerError: 'institution_unavailable' },
  },
  internal_error: { detail: 'Something went wrong on our side. Retry the request; if it keeps failing, quote request id req_8f2k1m9q3z.' },
  try_again: { detail: 'The database was busy with a conflicting change. Retry the request in a moment.' },
};

/** The problem document an error code gives, as an example (the request id and path made up). */
export function problemExample(code: ErrorCode): Record<string, unknown> {
  const entry = ERROR_CATALOGUE[code];
  const known = DETAILS[code];
  return {
    type: `/docs/errors#${code}`, title: entry.title, status: entry.status, detail: known?.detail ?? `${entry.title}.`,
    instance: known?.instance ?? `/v1/users/${USER}/connections/${CONNECTION}`, code, requestId: 'req_8f2k1m9q3z', ...known?.extra,
  };
}
