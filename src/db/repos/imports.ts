/**
 * Import batches and their rows (tables/imports.ts). Every query is scoped by application id or by
 * a batch the caller already read through one. A row ends in one statement that also counts it on
 * the batch (`finishRow`), so the counts are the rows' statuses whatever crashes when.
 */
import { and, asc, desc, eq, gt, inArray, isNull, lt, lte, ne, or, sql } from 'drizzle-orm';
import type { Db } from '../open.js';
import { users } from '../schema.js';
import { importBatches, importRows } from '../tables/imports.js';
import { filterOnly } from '../predicates.js';

export type ImportBatchRow = typeof importBatches.$inferSelect;
export type ImportRowRow = typeof importRows.$inferSelect;
export type RowStatus = ImportRowRow['status'];

/** Rows per INSERT: 500 rows of 10 columns stay far below PostgreSQL's 65,535 parameters. */
const INSERT_CHUNK = 500;

/** The batch and all its rows; `db` should be a transaction, so a batch is never seen half-written. */
export async function insertBatch(db: Db, batch: typeof importBatches.$inferInsert, rows: (typeof importRows.$inferInsert)[]): Promise<ImportBatchRow> {
  const [created] = await db.insert(importBatches).values(batch).returning();
  for (let i = 0; i < rows.length; i += INSERT_CHUNK) await db.insert(importRows).values(rows.slice(i, i + INSERT_CHUNK));
  return created!;
}

export async function findBatch(db: Db, applicationId: string, id: string): Promise<ImportBatchRow | null> {
  const [row] = await db.select().from(importBatches).where(and(eq(importBatches.applicationId, applicationId), eq(importBatches.id, id)));
  return row ?? null;
}

/** A batch by id alone, for the worker that runs it (its message names only the batch). */
export async function findBatchForRun(db: Db, id: string): Promise<ImportBatchRow | null> {
  const [row] = await db.select().from(importBatches).where(eq(importBatches.id, id));
  return row ?? null;
}

/** The newest unfinished CLI batch of this file's content, for a second run to resume. */
export async function findUnfinishedCliBatch(db: Db, applicationId: string, provider: string, contentHash: string): Promise<ImportBatchRow | null> {
  const [row] = await db.select().from(importBatches).where(and(
    eq(importBatches.applicationId, applicationId), eq(importBatches.provider, provider), eq(importBatches.contentHash, contentHash),
    ne(importBatches.status, 'completed'), eq(importBatches.source, 'cli'),
  )).orderBy(desc(importBatches.id)).limit(1);
  return row ?? null;
}

/** Newest first; `before` is the last id of the previous page. */
export async function listBatches(db: Db, applicationId: string, before: string | null, limit: number): Promise<ImportBatchRow[]> {
  return db.select().from(importBatches)
    .where(and(eq(importBatches.applicationId, applicationId), before ? lt(importBatches.id, before) : undefined))
    .orderBy(desc(importBatches.id)).limit(limit);
}

/** A batch's rows in order, after row `afterRow`, optionally of some statuses only. */
export async function listRows(db: Db, batchId: string, f: { statuses?: RowStatus[]; afterRow: number; limit: number }): Promise<ImportRowRow[]> {
  return db.select().from(importRows)
    .where(and(eq(importRows.batchId, batchId), f.statuses ? inArray(importRows.status, f.statuses) : undefined, gt(importRows.rowNumber, f.afterRow)))
    .orderBy(asc(importRows.rowNumber)).limit(f.limit);
}

/** queued → running (and when it first started); a finished batch is left as it is. */
export async function markBatchRunning(db: Db, id: string, at: Date, wallNow: Date): Promise<ImportBatchRow | null> {
  const [row] = await db.update(importBatches)
    .set({ status: 'running', startedAt: sql`coalesce(${importBatches.startedAt}, ${at})`, updatedAt: wallNow, waitUntil: null })
    .where(and(eq(importBatches.id, id), filterOnly(ne(importBatches.status, 'completed')))).returning();
  return row ?? null;
}

/** The row is being tried now (the first time is kept), for the user it resolved to. */
export async function markRowAttempted(db: Db, batchId: string, rowNumber: number, userId: string, at: Date): Promise<Date> {
  const [row] = await db.update(importRows)
    .set({ userId, attemptedAt: sql`coalesce(${importRows.attemptedAt}, ${at})`, updatedAt: at })
    .where(and(eq(importRows.batchId, batchId), eq(importRows.rowNumber, rowNumber)))
    .returning({ attemptedAt: importRows.attemptedAt });
  return row?.attemptedAt ?? at;
}

export interface RowOutcome {
  status: Exclude<RowStatus, 'pending'>;
  userId: string | null;
  connectionId: string | null;
  errorCode: string | null;
  errorMessage: string | null;
}

export interface BatchCounts { total: number; imported: number; skipped: number; failed: number }

/**
 * Ends a pending row and counts it on its batch, in one statement: a row ends once (a second
 * run's answer for a row already ended changes nothing) and the counts never drift from the rows.
 * The batch's counts after it, or null when the row was no longer pending.
 */
export async function finishRow(db: Db, batchId: string, rowNumber: number, o: RowOutcome, at: Date, wallNow: Date): Promise<BatchCounts | null> {
  const result = (await db.execute(sql`
    with r as (
      update import_rows set status = ${o.status}, user_id = coalesce(${o.userId}, user_id), connection_id = ${o.connectionId},
        error_code = ${o.errorCode}, error_message = ${o.errorMessage}, updated_at = ${at}
      where batch_id = ${batchId} and row_number = ${rowNumber} and status = 'pending'
      returning status)
    update import_batches set
      imported = imported + (select count(*) from r where status = 'imported')::int,
      skipped = skipped + (select count(*) from r where status = 'skipped')::int,
      failed = failed + (select count(*) from r where status = 'failed')::int,
      updated_at = ${wallNow}
    where id = ${batchId} and exists (select 1 from r)
    returning total, imported, skipped, failed`)) as unknown as { rows: BatchCounts[] };
  const row = result.rows[0];
  return row ? { total: Number(row.total), imported: Number(row.imported), skipped: Number(row.skipped), failed: Number(row.failed) } : null;
}

/** running → completed once no row is pending; the batch either way. */
export async function completeBatchIfDone(db: Db, id: string, at: Date, wallNow: Date): Promise<ImportBatchRow> {
  const [done] = await db.update(importBatches).set({ status: 'completed', finishedAt: at, updatedAt: wallNow, waitUntil: null })
    .where(and(eq(importBatches.id, id), filterOnly(ne(importBatches.status, 'completed')),
      sql`not exists (select 1 from import_rows r where r.batch_id = ${id} and r.status = 'pending')`))
    .returning();
  return done ?? (await findBatchForRun(db, id))!;
}

/** The provider asked to wait this long: the run hands on to a later one (API batches) and says until when. */
export async function setBatchWait(db: Db, id: string, until: Date, queueJobId: string | null, wallNow: Date): Promise<void> {
  await db.update(importBatches).set({ waitUntil: until, updatedAt: wallNow, ...(queueJobId ? { queueJobId } : {}) }).where(eq(importBatches.id, id));
}

/**
 * API batches whose run stopped moving (no row ended since `before`, no wait for the provider
 * pending): their delivery was lost, or the worker gave up retrying. Taken with a new queue job id
 * in one statement each, so two workers' sweeps do not both send it.
 */
export async function takeStalledBatches(db: Db, before: Date, wallNow: Date, newJobId: () => string, limit = 50): Promise<ImportBatchRow[]> {
  const stalled = await db.select({ id: importBatches.id }).from(importBatches).where(and(
    eq(importBatches.source, 'api'), ne(importBatches.status, 'completed'), lt(importBatches.updatedAt, before),
    or(isNull(importBatches.waitUntil), lte(importBatches.waitUntil, wallNow)),
  )).limit(limit);
  const taken: ImportBatchRow[] = [];
  for (const { id } of stalled) {
    const [row] = await db.update(importBatches).set({ queueJobId: newJobId(), updatedAt: wallNow, waitUntil: null })
      .where(and(eq(importBatches.id, id), lt(importBatches.updatedAt, before), filterOnly(ne(importBatches.status, 'completed')))).returning();
    if (row) taken.push(row);
  }
  return taken;
}

/** The application's first user with this email (any case), oldest first: a bulk import's way to find someone it created before. */
export async function findUserByEmail(db: Db, applicationId: string, email: string) {
  const [row] = await db.select().from(users)
    .where(and(eq(users.applicationId, applicationId), sql`lower(${users.email}) = lower(${email})`))
    .orderBy(asc(users.id)).limit(1);
  return row ?? null;
}
