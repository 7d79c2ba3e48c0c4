/**
 * The one Drizzle schema for PGlite and PostgreSQL: the core tables here, webhooks and page access
 * in tables/ (db/open.ts joins them; drizzle.config.ts reads all). Every tenant-owned table carries
 * `application_id`, and repositories always filter on it: another application's ids answer 404.
 * Ids are prefixed, time-ordered strings (src/domain/ids.ts), so ordering by id is creation order.
 */
import { sql } from 'drizzle-orm';
import {
  bigint, boolean, date, doublePrecision, index, integer, jsonb, pgTable, primaryKey, text, uniqueIndex,
} from 'drizzle-orm/pg-core';
import type { DeletionOperation, InstitutionSetting, JobStep } from '../domain/types.js';

import { money, ts } from './columns.js';
import { liveJob } from './predicates.js';

export const applications = pgTable('applications', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  /** `sandbox` applications use the sandbox provider and may call /v1/sandbox/*. */
  environment: text('environment').notNull().default('sandbox'),
  /** Sandbox test clock: how far this application's time is ahead of the wall clock. */
  clockOffsetMs: bigint('clock_offset_ms', { mode: 'number' }).notNull().default(0),
  isDefault: boolean('is_default').notNull().default(false),
  /** What happens to a connection's data when its consent ends (expires or is revoked): `keep` or `purge`. */
  consentEndData: text('consent_end_data').$type<'keep' | 'purge'>().notNull().default('keep'),
  /** Hours between background refreshes of each connection (institutions may make it longer). */
  refreshIntervalHours: integer('refresh_interval_hours').notNull().default(24),
  /** Sandbox control: institutions this application has put in a simulated outage. */
  sandboxOutages: text('sandbox_outages').array().notNull().default(sql`'{}'::text[]`),
  /** Sandbox control: institutions answering this application with 429, and the Retry-After (seconds) they send. */
  sandboxRateLimits: jsonb('sandbox_rate_limits').$type<Record<string, number>>().notNull().default({}),
  /** Per institution: a longer refresh interval, fewer refreshes at once or per minute than the institution allows (never more). */
  institutionSettings: jsonb('institution_settings').$type<Record<string, InstitutionSetting>>().notNull().default({}),
  createdAt: ts('created_at').notNull(),
});

export const apiKeys = pgTable('api_keys', {
  id: text('id').primaryKey(),
  applicationId: text('application_id').notNull().references(() => applications.id, { onDelete: 'cascade' }),
  name: text('name').notNull(),
  /** The first characters of the key, shown in lists so a key can be recognised. */
  prefix: text('prefix').notNull(),
  /** SHA-256 of the whole key: keys are long random secrets, so a fast hash is enough. */
  hash: text('hash').notNull(),
  createdAt: ts('created_at').notNull(),
  lastUsedAt: ts('last_used_at'),
  revokedAt: ts('revoked_at'),
}, (t) => [uniqueIndex('api_keys_hash_idx').on(t.hash), index('api_keys_app_idx').on(t.applicationId)]);

export const users = pgTable('users', {
  id: text('id').primaryKey(),
  applicationId: text('application_id').notNull().references(() => applications.id, { onDelete: 'cascade' }),
  /** The application's own reference for this user. */
  externalId: text('external_id'),
  email: text('email'),
  name: text('name'),
  metadata: jsonb('metadata').$type<Record<string, string>>().notNull().default({}),
  /**
   * Counter for the transactions sync feed. Ingestion bumps it with `UPDATE … RETURNING`, which
   * locks the user row until commit, so feed positions commit in order for each user.
   */
  changeSeq: bigint('change_seq', { mode: 'number' }).notNull().default(0),
  createdAt: ts('created_at').notNull(),
  updatedAt: ts('updated_at').notNull(),
}, (t) => [
  index('users_app_idx').on(t.applicationId, t.id),
  uniqueIndex('users_app_external_idx').on(t.applicationId, t.externalId),
]);

export const connections = pgTable('connections', {
  id: text('id').primaryKey(),
  applicationId: text('application_id').notNull().references(() => applications.id, { onDelete: 'cascade' }),
  userId: text('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
  institutionId: text('institution_id').notNull(),
  /** The provider that serves it (providers/registry.ts), for every call made for it. */
  provider: text('provider').notNull(),
  /** The provider's own id for the institution (null on rows from before the catalogue: the sandbox's ids are its own). */
  providerInstitutionId: text('provider_institution_id'),
  /** The provider's id for the link (Plaid's item_id): its webhooks name it. */
  itemId: text('item_id'),
  /**
   * Sync state for providers that sync by cursor: the cursor after the last page set fully applied,
   * written in the same statement as the rows it covers (db/repos/data.ts applyTransactionPlan).
   */
  providerCursor: text('provider_cursor'),
  /** The provider's reference for the link session in progress (Plaid's link_token), encrypted. */
  linkReferenceEnc: text('link_reference_enc'),
  method: text('method').notNull(),
  status: text('status').notNull(),
  statusReason: text('status_reason'),
  products: text('products').array().notNull(),
  /** AES-256-GCM ciphertext of the provider access (credentials or token), with its key version. */
  accessEnc: text('access_enc'),
  /** Web: keyed hash of (institution, login), to notice two live connections with the same credentials. */
  loginHash: text('login_hash'),
  /** Openbanking: SHA-256 of the `state` sent to the institution, and when that attempt lapses. */
  authStateHash: text('auth_state_hash'),
  authExpiresAt: ts('auth_expires_at'),
  consentGrantedAt: ts('consent_granted_at'),
  consentExpiresAt: ts('consent_expires_at'),
  accessExpiresAt: ts('access_expires_at'),
  pausedUntil: ts('paused_until'),
  createdAt: ts('created_at').notNull(),
  updatedAt: ts('updated_at').notNull(),
  firstSyncedAt: ts('first_synced_at'),
  lastUsedAt: ts('last_used_at'),
  lastSuccessfulSyncAt: ts('last_successful_sync_at'),
  /** Sync state: the last day whose transactions were fully applied. Committed with the data. */
  transactionsSyncedThrough: date('transactions_synced_through', { mode: 'string' }),
  /** Refreshes spent today (UTC day in refreshDay): the refresh budget. */
  refreshDay: date('refresh_day', { mode: 'string' }),
  refreshesToday: integer('refreshes_today').notNull().default(0),
  lastRefreshAt: ts('last_refresh_at'),
  /** Background refresh (domain/schedule.ts): the connection's fixed place in every interval, from a sequence. */
  scheduleSlot: bigint('schedule_slot', { mode: 'number' }).notNull().default(sql`nextval('connection_schedule_slot')`),
  /**
   * When the scheduler refreshes it next (application clock); only active and degraded connections
   * are taken. Copied by a trigger into refresh_schedule, the narrow table the scheduler claims from.
   */
  nextScheduledRefreshAt: ts('next_scheduled_refresh_at'),
  /** Failed refreshes in a row: the backoff, and continued_failures from the fifth. */
  consecutiveFailures: integer('consecutive_failures').notNull().default(0),
}, (t) => [
  index('connections_user_idx').on(t.applicationId, t.userId, t.id),
  index('connections_app_idx').on(t.applicationId, t.id),
  // The consent page finds its connection by the hash of the state it was sent.
  index('connections_auth_state_idx').on(t.authStateHash),
  // The duplicate-credentials pause compares logins across the whole application (issue 11 item 13).
  index('connections_login_idx').on(t.applicationId, t.institutionId, t.loginHash),
  // A provider's webhook names its link; the link's connection is found through this.
  index('connections_item_idx').on(t.provider, t.itemId),
]);

/**
 * The background refresh schedule, one narrow row per scheduled connection, kept in step with
 * connections.next_scheduled_refresh_at by a trigger (migration 0006). The scheduler's tick claims
 * from here through the (application_id, next_at) index, so its work follows what is due and each claim rewrites a
 * 3-column row with 2 indexes, not a connection row with 5 (a third of the time at 1,000,000).
 */
export const refreshSchedule = pgTable('refresh_schedule', {
  connectionId: text('connection_id').primaryKey().references(() => connections.id, { onDelete: 'cascade' }),
  applicationId: text('application_id').notNull(),
  /** 'infinity' parks a connection that is not active or degraded until a job schedules it again. */
  nextAt: ts('next_at').notNull(),
}, (t) => [index('refresh_schedule_due_idx').on(t.applicationId, t.nextAt)]);

/**
 * Institution limits (domain/throttle.ts), one row per application and institution, shared by every
 * worker: who holds a permit to run a refresh there now, when the next may start, and how a 429
 * slowed it. Taken and given back in single statements (db/repos/throttles.ts).
 */
export const institutionThrottles = pgTable('institution_throttles', {
  applicationId: text('application_id').notNull().references(() => applications.id, { onDelete: 'cascade' }),
  institutionId: text('institution_id').notNull(),
  /** Job id → until when (epoch ms) its permit holds. */
  holders: jsonb('holders').$type<Record<string, number>>().notNull().default({}),
  nextStartAt: ts('next_start_at').notNull().default(sql`'epoch'::timestamptz`),
  slowedUntil: ts('slowed_until').notNull().default(sql`'epoch'::timestamptz`),
  rateFactor: doublePrecision('rate_factor').notNull().default(1),
  penaltyUntil: ts('penalty_until').notNull().default(sql`'epoch'::timestamptz`),
}, (t) => [primaryKey({ columns: [t.applicationId, t.institutionId] })]);

export const jobs = pgTable('jobs', {
  id: text('id').primaryKey(),
  applicationId: text('application_id').notNull().references(() => applications.id, { onDelete: 'cascade' }),
  userId: text('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
  connectionId: text('connection_id').notNull().references(() => connections.id, { onDelete: 'cascade' }),
  type: text('type').notNull(),
  trigger: text('trigger').notNull(),
  status: text('status').notNull(),
  products: text('products').array().notNull(),
  steps: jsonb('steps').$type<JobStep[]>().notNull(),
  /** Why the job failed: a stable code and a sentence. */
  errorCode: text('error_code'),
  errorMessage: text('error_message'),
  /** The encrypted one-time code the user sent for an awaiting_input step. */
  mfaCodeEnc: text('mfa_code_enc'),
  mfaPrompt: text('mfa_prompt'),
  mfaExpiresAt: ts('mfa_expires_at'),
  attempts: integer('attempts').notNull().default(0),
  /** Fencing token of the run that owns the job; a superseded run's writes match no row. */
  runToken: text('run_token'),
  /** The pg-boss job that delivers this job to a worker. */
  queueJobId: text('queue_job_id').notNull(),
  createdAt: ts('created_at').notNull(),
  startedAt: ts('started_at'),
  finishedAt: ts('finished_at'),
  updatedAt: ts('updated_at').notNull(),
}, (t) => [
  index('jobs_connection_idx').on(t.connectionId, t.id),
  index('jobs_app_status_idx').on(t.status, t.createdAt),
  // One live job per connection, whatever the queue does. Its queries name the live statuses the same way (liveJob).
  uniqueIndex('jobs_one_live_per_connection').on(t.connectionId).where(liveJob(sql`status`)),
]);

export const accounts = pgTable('accounts', {
  id: text('id').primaryKey(),
  applicationId: text('application_id').notNull().references(() => applications.id, { onDelete: 'cascade' }),
  userId: text('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
  connectionId: text('connection_id').notNull().references(() => connections.id, { onDelete: 'cascade' }),
  providerAccountId: text('provider_account_id').notNull(),
  name: text('name').notNull(),
  type: text('type').notNull(),
  mask: text('mask').notNull(),
  currency: text('currency').notNull(),
  balanceCurrent: money('balance_current').notNull(),
  balanceAvailable: money('balance_available'),
  balanceLimit: money('balance_limit'),
  balancesUpdatedAt: ts('balances_updated_at').notNull(),
  createdAt: ts('created_at').notNull(),
  updatedAt: ts('updated_at').notNull(),
}, (t) => [
  uniqueIndex('accounts_provider_idx').on(t.connectionId, t.providerAccountId),
  index('accounts_user_idx').on(t.applicationId, t.userId, t.id),
]);

/**
 * A transaction belongs to its account, and to the account's own connection, user and application.
 * Migration 0017 holds that as a foreign key would, with triggers instead of a constraint: a
 * foreign key checks each inserted row on its own (`select … for key share` on the account, run once
 * a row): 4.6 µs of the database's CPU a row, where COPY of a first sync's rows costs 11–13 µs
 * without it. The triggers check a statement's rows once, against their few accounts, for about
 * 0.7 µs a row (bench/account-check.ts):
 *   - insert (statement, with its new rows): every account named must exist with the same
 *     connection, user and application; they are locked `for key share` until commit, as a foreign
 *     key's check locks them, so an account cannot be deleted under rows being written to it;
 *   - update of those four columns (per row, only when one changes): the same check;
 *   - an account deleted: its transactions go with it (the cascade);
 *   - an account's id, connection, user or application changed while transactions name it: refused.
 * A failed check raises foreign_key_violation (23503) naming `transactions_account_fk`, as the
 * constraint did.
 */
export const transactions = pgTable('transactions', {
  id: text('id').primaryKey(),
  applicationId: text('application_id').notNull(),
  userId: text('user_id').notNull(),
  connectionId: text('connection_id').notNull(),
  accountId: text('account_id').notNull(),
  /** The provider's current id for this transaction (the posted id once a pending one posts). */
  providerTransactionId: text('provider_transaction_id').notNull(),
  /** The provider's id of the pending transaction this one was while pending. */
  providerPendingId: text('provider_pending_id'),
  status: text('status').notNull(),
  amount: money('amount').notNull(),
  currency: text('currency').notNull(),
  date: date('date', { mode: 'string' }).notNull(),
  authorizedDate: date('authorized_date', { mode: 'string' }),
  description: text('description').notNull(),
  merchantName: text('merchant_name'),
  category: text('category'),
  /** Sync feed positions: when the row was added, and when it last changed (add, modify, remove). */
  createdSeq: bigint('created_seq', { mode: 'number' }).notNull(),
  changeSeq: bigint('change_seq', { mode: 'number' }).notNull(),
  removedAt: ts('removed_at'),
  createdAt: ts('created_at').notNull(),
  updatedAt: ts('updated_at').notNull(),
}, (t) => [
  uniqueIndex('transactions_provider_idx').on(t.connectionId, t.providerTransactionId),
  index('transactions_user_date_idx').on(t.applicationId, t.userId, t.date, t.id),
  index('transactions_account_date_idx').on(t.accountId, t.date),
  index('transactions_feed_idx').on(t.userId, t.changeSeq),
  // A refresh reads only its window of a connection's history, and its live pending rows.
  index('transactions_connection_date_idx').on(t.connectionId, t.date),
  index('transactions_live_pending_idx').on(t.connectionId, t.date).where(sql`${t.status} = 'pending' and ${t.removedAt} is null`),
]);

/**
 * What is left of a purged transaction: its id, for the sync feed's `removed`, so a client that
 * mirrors the feed drops its copy (the refetch brings new ids). No amounts, no descriptions.
 */
export const transactionRemovals = pgTable('transaction_removals', {
  id: text('id').primaryKey(),
  applicationId: text('application_id').notNull(),
  userId: text('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
  connectionId: text('connection_id').notNull(),
  accountId: text('account_id').notNull(),
  createdSeq: bigint('created_seq', { mode: 'number' }).notNull(),
  changeSeq: bigint('change_seq', { mode: 'number' }).notNull(),
  removedAt: ts('removed_at').notNull(),
}, (t) => [index('transaction_removals_feed_idx').on(t.userId, t.changeSeq)]);

export const identities = pgTable('identities', {
  connectionId: text('connection_id').primaryKey().references(() => connections.id, { onDelete: 'cascade' }),
  applicationId: text('application_id').notNull(),
  userId: text('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
  /** Encrypted JSON of the provider's identity profile: it is PII. */
  dataEnc: text('data_enc').notNull(),
  /** A keyed hash of that JSON (Cipher.fingerprint): a refresh that brings the same profile writes nothing. */
  digest: text('digest'),
  /** When the profile last changed (a refresh that brings the same one leaves it). */
  updatedAt: ts('updated_at').notNull(),
});

/** Every provider call, so an operator can see why a connection broke (ENGINEERING.md habit 4). */
export const providerCalls = pgTable('provider_calls', {
  id: text('id').primaryKey(),
  applicationId: text('application_id').notNull(),
  connectionId: text('connection_id').notNull().references(() => connections.id, { onDelete: 'cascade' }),
  jobId: text('job_id'),
  operation: text('operation').notNull(),
  outcome: text('outcome').notNull(),
  errorCode: text('error_code'),
  providerCode: text('provider_code'),
  /** The provider that was called, and its id for the request (Plaid's request_id), to quote to its support. */
  provider: text('provider'),
  requestId: text('request_id'),
  /** What the provider asked for on a 429, in seconds. */
  retryAfterSeconds: integer('retry_after_seconds'),
  durationMs: integer('duration_ms').notNull(),
  createdAt: ts('created_at').notNull(),
}, (t) => [
  index('provider_calls_connection_idx').on(t.connectionId, t.id),
  // Institution health reads the last minutes of calls: without this it would scan the whole journal.
  index('provider_calls_created_idx').on(t.createdAt),
  // Health is read per application: one tenant's busy journal must not lengthen another's walk (issue 11).
  index('provider_calls_app_created_idx').on(t.applicationId, t.createdAt),
]);

/** Stored answers for `Idempotency-Key`, replayed for 24 hours. */
export const idempotencyKeys = pgTable('idempotency_keys', {
  applicationId: text('application_id').notNull(),
  key: text('key').notNull(),
  requestHash: text('request_hash').notNull(),
  statusCode: integer('status_code'),
  /**
   * The stored answer, `{ contentType, body }` as JSON, sealed like credentials (AES-256-GCM): answers
   * can carry secrets shown once (a webhook endpoint's `whsec_`, a client token's `ct_`).
   */
  answerEnc: text('answer_enc'),
  /** While the first request runs: its lease, renewed as it goes. A request that died lets its key go when this passes. */
  lockedUntil: ts('locked_until'),
  createdAt: ts('created_at').notNull(),
}, (t) => [uniqueIndex('idempotency_keys_pk').on(t.applicationId, t.key), index('idempotency_keys_created_idx').on(t.createdAt)]);

/**
 * Evidence of a deletion (PRODUCT.md §3 purge, delete user): what was deleted, how many rows,
 * when and who asked. No foreign keys to the user or connection: the record outlives them.
 */
export const deletions = pgTable('deletions', {
  id: text('id').primaryKey(),
  applicationId: text('application_id').notNull().references(() => applications.id, { onDelete: 'cascade' }),
  userId: text('user_id').notNull(),
  connectionId: text('connection_id'),
  operation: text('operation').$type<DeletionOperation>().notNull(),
  /** Rows deleted, by kind: accounts, transactions, identities (and connections, jobs for a user). */
  counts: jsonb('counts').$type<Record<string, number>>().notNull(),
  /** `api_key:<id>` for an API call, `system` otherwise. */
  requestedBy: text('requested_by').notNull(),
  createdAt: ts('created_at').notNull(),
}, (t) => [
  index('deletions_app_idx').on(t.applicationId, t.id),
  index('deletions_connection_idx').on(t.connectionId),
  index('deletions_user_idx').on(t.userId),
]);

/**
 * Immutable records of what happened (PRODUCT.md §4), written in the same transaction as the change
 * they record. Status changes are written by the `connections_status_event` trigger (migration
 * 0004): every path that changes a connection's status or reason, the one-statement job ending
 * included, records it without having to remember to. Everything else is written by the services
 * (db/repos/events.ts). `created_at` is on the application's clock; `seq` orders events written in
 * the same millisecond.
 */
export const events = pgTable('events', {
  id: text('id').primaryKey(),
  seq: bigint('seq', { mode: 'number' }).generatedAlwaysAsIdentity(),
  applicationId: text('application_id').notNull().references(() => applications.id, { onDelete: 'cascade' }),
  /** null for events about the application itself (webhook endpoints). */
  userId: text('user_id'),
  connectionId: text('connection_id'),
  type: text('type').notNull(),
  data: jsonb('data').$type<Record<string, unknown>>().notNull(),
  /** `api_key:<id>`, `system`, or null when a job or the institution caused it. */
  actor: text('actor'),
  createdAt: ts('created_at').notNull(),
}, (t) => [
  index('events_connection_idx').on(t.connectionId, t.createdAt, t.seq),
  index('events_app_idx').on(t.applicationId, t.createdAt, t.seq),
]);
