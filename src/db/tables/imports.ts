/**
 * Bulk migration (services/imports.ts): a batch of provider tokens to import, one row each.
 *
 *   import_batches  1 ──< import_rows   (row_number: the line in the CSV, or the position in the API's rows)
 *
 * A row goes pending ─► imported | skipped | failed once, in the same transaction as the batch's
 * count for it, so the counts are always the rows' statuses. Tokens are kept encrypted (they open
 * the user's bank data) with a keyed fingerprint; never in clear.
 */
import { sql } from 'drizzle-orm';
import { doublePrecision, index, integer, pgTable, primaryKey, text } from 'drizzle-orm/pg-core';
import { ts } from '../columns.js';
import { applications } from '../schema.js';

export const importBatches = pgTable('import_batches', {
  id: text('id').primaryKey(),
  applicationId: text('application_id').notNull().references(() => applications.id, { onDelete: 'cascade' }),
  provider: text('provider').notNull(),
  /** `queued` (created, no run yet), `running`, `completed` (no row pending). */
  status: text('status').$type<'queued' | 'running' | 'completed'>().notNull(),
  /** `api`: run by the worker on the queue. `cli`: run by `causeway import` in its own process. */
  source: text('source').$type<'api' | 'cli'>().notNull(),
  /** CLI: SHA-256 of the file's bytes, so a second run of the same file resumes its unfinished batch. */
  contentHash: text('content_hash'),
  /** Who asked (`api_key:<id>`, `operator:<id>`), recorded as the actor of each import; null from the CLI. */
  actor: text('actor'),
  /** The pace: rows started per second (0: no limit) and rows in flight at once. */
  rowsPerSecond: doublePrecision('rows_per_second').notNull(),
  concurrency: integer('concurrency').notNull(),
  total: integer('total').notNull(),
  imported: integer('imported').notNull().default(0),
  skipped: integer('skipped').notNull().default(0),
  failed: integer('failed').notNull().default(0),
  /** API batches: the pg-boss job that delivers the run (a new one when a run hands on after a long Retry-After). */
  queueJobId: text('queue_job_id'),
  /** The provider asked to slow down: no row starts before this. */
  waitUntil: ts('wait_until'),
  createdAt: ts('created_at').notNull(),
  /** Bumped by every row that ends: a run that stopped moving for minutes is started again (runtime sweep). */
  updatedAt: ts('updated_at').notNull(),
  startedAt: ts('started_at'),
  finishedAt: ts('finished_at'),
}, (t) => [
  index('import_batches_app_idx').on(t.applicationId, t.id),
  // The CLI finds the unfinished batch of a file; the sweep finds API batches that stopped.
  index('import_batches_unfinished_idx').on(t.applicationId, t.provider, t.contentHash).where(sql`${t.status} <> 'completed'`),
]);

export const importRows = pgTable('import_rows', {
  batchId: text('batch_id').notNull().references(() => importBatches.id, { onDelete: 'cascade' }),
  applicationId: text('application_id').notNull(),
  rowNumber: integer('row_number').notNull(),
  /** The user as the file or request named them: a usr_… id, the application's external id, or an email. */
  userRef: text('user_ref').notNull(),
  /** The Causeway user it resolved to (found or created), once processed. */
  userId: text('user_id'),
  tokenEnc: text('token_enc').notNull(),
  /** Keyed hash of the token (services/crypto.ts fingerprint): equal tokens compare equal without decrypting. */
  tokenFingerprint: text('token_fingerprint').notNull(),
  institutionId: text('institution_id'),
  /** `pending`, `imported` (a connection made for it), `skipped` (the token was already imported for the user), `failed`. */
  status: text('status').$type<'pending' | 'imported' | 'skipped' | 'failed'>().notNull().default('pending'),
  connectionId: text('connection_id'),
  errorCode: text('error_code'),
  errorMessage: text('error_message'),
  /**
   * When a run first started this row: a connection with its token made since then was made by this
   * row (a run killed between the connection's commit and the row's), one made before was already there.
   */
  attemptedAt: ts('attempted_at'),
  updatedAt: ts('updated_at').notNull(),
}, (t) => [
  primaryKey({ columns: [t.batchId, t.rowNumber] }),
  index('import_rows_status_idx').on(t.batchId, t.status, t.rowNumber),
]);
