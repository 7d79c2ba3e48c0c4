/**
 * Deleting what came through a connection or belongs to a user, and the record that proves it.
 * Callers run these inside a transaction that holds the user and the connection(s) locked, in the
 * order of db/transaction.ts, and has already cancelled the live job, so no job run can write while
 * the rows go. Both statements write the user's row (change_seq, or the delete): its lock comes first.
 */
import { and, desc, eq, lt, sql } from 'drizzle-orm';
import type { Db } from '../open.js';
import { deletions } from '../schema.js';

export type DeletionRow = typeof deletions.$inferSelect;

async function counted(db: Db, query: ReturnType<typeof sql>): Promise<Record<string, number>> {
  const result = (await db.execute(query)) as { rows: Record<string, unknown>[] };
  return Object.fromEntries(Object.entries(result.rows[0] ?? {}).map(([k, v]) => [k, Number(v)]));
}

/**
 * Deletes the connection's transactions, accounts and identity profile; answers how many of each.
 * Each transaction leaves its id in transaction_removals for the sync feed: a live one at a new
 * feed position (reserved on the user's counter, as ingestion does), one already removed at the
 * position that reported it, so a client behind that position still learns of it.
 */
export async function deleteConnectionData(db: Db, connectionId: string, now: Date): Promise<Record<string, number>> {
  return counted(db, sql`
    with gone as (
      select id, application_id, user_id, account_id, created_seq, change_seq, removed_at is null as live,
        row_number() over (partition by removed_at is null order by change_seq, id) as n
      from transactions where connection_id = ${connectionId}),
    bump as (
      update users set change_seq = change_seq + (select count(*) from gone where live)
      where id = (select user_id from connections where id = ${connectionId}) returning change_seq),
    tombs as (
      insert into transaction_removals (id, application_id, user_id, connection_id, account_id, created_seq, change_seq, removed_at)
      select g.id, g.application_id, g.user_id, ${connectionId}, g.account_id, g.created_seq,
        case when g.live then b.change_seq - (select count(*) from gone where live) + g.n else g.change_seq end,
        ${now.toISOString()}::timestamptz
      from gone g cross join bump b
      returning 1),
    t as (delete from transactions where connection_id = ${connectionId} returning 1),
    a as (delete from accounts where connection_id = ${connectionId} returning 1),
    i as (delete from identities where connection_id = ${connectionId} returning 1)
    select (select count(*) from a)::int as accounts, (select count(*) from t)::int as transactions,
      (select count(*) from i)::int as identities`); // tombs runs whether or not it is read: PostgreSQL completes every data-modifying WITH
}

/**
 * Deletes the user, locked by the caller (`for update`) with its connections; the foreign keys
 * cascade to connections, jobs, accounts and profiles, and the accounts' trigger to their
 * transactions (schema.ts, transactions). No run can hold one of those rows meanwhile: each run
 * write locks the user first. Answers the counts.
 */
export async function deleteUserAndData(db: Db, applicationId: string, userId: string): Promise<Record<string, number>> {
  const counts = await counted(db, sql`
    select (select count(*) from connections where user_id = ${userId})::int as connections,
      (select count(*) from jobs where user_id = ${userId})::int as jobs,
      (select count(*) from accounts where user_id = ${userId})::int as accounts,
      (select count(*) from transactions where user_id = ${userId})::int as transactions,
      (select count(*) from identities where user_id = ${userId})::int as identities`);
  await db.execute(sql`delete from users where id = ${userId} and application_id = ${applicationId}`);
  return counts;
}

export async function insertDeletion(db: Db, row: typeof deletions.$inferInsert): Promise<DeletionRow> {
  const [created] = await db.insert(deletions).values(row).returning();
  return created!;
}

export async function findDeletion(db: Db, applicationId: string, id: string): Promise<DeletionRow | null> {
  const [row] = await db.select().from(deletions).where(and(eq(deletions.applicationId, applicationId), eq(deletions.id, id)));
  return row ?? null;
}

export async function listDeletions(
  db: Db, applicationId: string, f: { userId?: string; connectionId?: string; before: string | null; limit: number },
): Promise<DeletionRow[]> {
  return db.select().from(deletions).where(and(
    eq(deletions.applicationId, applicationId),
    f.userId ? eq(deletions.userId, f.userId) : undefined,
    f.connectionId ? eq(deletions.connectionId, f.connectionId) : undefined,
    f.before ? lt(deletions.id, f.before) : undefined,
  )).orderBy(desc(deletions.id)).limit(f.limit);
}
