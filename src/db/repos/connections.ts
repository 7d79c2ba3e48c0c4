/** Connections. Status changes are decided by the domain machine (domain/status.ts); `stateOf` reads a row for it. */
import { and, asc, eq, gt, inArray, ne, notInArray, or, sql } from 'drizzle-orm';
import type { ConnectionState } from '../../domain/status.js';
import { type ConnectionStatus, type Method, type StatusReason } from '../../domain/types.js';
import type { Db } from '../open.js';
import { ASYNC_COMMIT } from '../transaction.js';
import { liveJob } from '../predicates.js';
import { connections, jobs } from '../schema.js';
import { appTimeSql } from './app-clock.js';
import type { JobRow } from './jobs.js';
import { lockConnection, lockUser, userLockedFirst } from './locks.js';

export type ConnectionRow = typeof connections.$inferSelect;

/** The row as the status machine sees it. */
export function stateOf(c: ConnectionRow): ConnectionState {
  return { status: c.status as ConnectionStatus, reason: c.statusReason as StatusReason | null, method: c.method as Method, everSynced: c.firstSyncedAt !== null };
}

export async function insertConnection(db: Db, row: typeof connections.$inferInsert): Promise<ConnectionRow> {
  const [created] = await db.insert(connections).values(row).returning();
  return created!;
}

/** The connection; with `forUpdate`, locked with its user first (locks.ts `lockConnection`, the order of db/transaction.ts). */
export async function findConnection(db: Db, applicationId: string, id: string, opts: { userId?: string; forUpdate?: boolean } = {}): Promise<ConnectionRow | null> {
  if (opts.forUpdate) return lockConnection(db, applicationId, id, opts.userId);
  const [row] = await db.select().from(connections).where(and(
    eq(connections.applicationId, applicationId), eq(connections.id, id),
    opts.userId ? eq(connections.userId, opts.userId) : undefined,
  ));
  return row ?? null;
}

/** The connection with its live job if it has one, locked (its user first) for the rest of the transaction. */
export async function lockConnectionWithLiveJob(db: Db, applicationId: string, id: string, userId: string): Promise<{ connection: ConnectionRow; live: JobRow | null } | null> {
  const [row] = await db.select({ connection: connections, live: jobs }).from(connections)
    .leftJoin(jobs, and(eq(jobs.connectionId, connections.id), liveJob(jobs.status)))
    .where(and(eq(connections.applicationId, applicationId), eq(connections.id, id), eq(connections.userId, userId),
      userLockedFirst(sql`${connections.userId}`)))
    .for('no key update', { of: connections });
  return row ?? null;
}

/**
 * The connections a new one would clash with (PRODUCT.md §3 create), among those that are not
 * failed, unlinked or deleted: the user's one to the same institution by the other method, and one
 * with the same login there (the keyed hash, never the login): the user's own (`sameLogin`) and,
 * unless `acrossUsers` is false, another user's in the same application (`sameLoginElsewhere`):
 * one bank login is one lockout risk whoever enters it. Never across applications. Locks the
 * user's row (`for no key update`) for the rest of the transaction, then the login (below); null when the user does not
 * exist (deleted meanwhile).
 */
export async function findClashes(
  db: Db, c: { applicationId: string; userId: string; institutionId: string; method: string; loginHash: string | null; excludeId?: string; acrossUsers?: boolean },
) {
  // The user's row lock orders two creates for one user: the second sees the first's connection.
  // `no key update` conflicts with itself, so they still queue, but lets foreign-key checks through
  // (a client token minted for the user meanwhile does not wait for this whole transaction).
  const user = await lockUser(db, c.applicationId, c.userId, 'no key update');
  if (!user) return null;
  const rows = await db.select({ id: connections.id, method: connections.method, loginHash: connections.loginHash })
    .from(connections).where(and(
      eq(connections.applicationId, c.applicationId), eq(connections.userId, c.userId), eq(connections.institutionId, c.institutionId),
      c.excludeId ? ne(connections.id, c.excludeId) : undefined,
      notInArray(connections.status, ['failed', 'unlinked', 'deleted']),
      or(ne(connections.method, c.method), c.loginHash ? eq(connections.loginHash, c.loginHash) : undefined),
    ));
  const sameLogin = c.loginHash ? rows.find((r) => r.loginHash === c.loginHash) ?? null : null;
  let sameLoginElsewhere: { id: string } | null = null;
  if (c.loginHash && !sameLogin && c.acrossUsers !== false) {
    // Two users entering one login at once each hold only their own user's lock: a lock on the
    // login (application, institution, hash) makes the second wait and see the first's connection.
    // Taken right after the user's row and before any connection's (db/transaction.ts), by nothing else.
    await db.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`login ${c.applicationId} ${c.institutionId} ${c.loginHash}`}, 0))`);
    // Through connections_login_idx (application_id, institution_id, login_hash).
    [sameLoginElsewhere = null] = await db.select({ id: connections.id }).from(connections).where(and(
      eq(connections.applicationId, c.applicationId), eq(connections.institutionId, c.institutionId), eq(connections.loginHash, c.loginHash),
      ne(connections.userId, c.userId), c.excludeId ? ne(connections.id, c.excludeId) : undefined,
      notInArray(connections.status, ['failed', 'unlinked', 'deleted']),
    )).limit(1);
  }
  return { otherMethod: rows.find((r) => r.method !== c.method) ?? null, sameLogin, sameLoginElsewhere };
}

export async function findConnectionByAuthState(db: Db, stateHash: string, opts: { forUpdate?: boolean } = {}): Promise<ConnectionRow | null> {
  const q = db.select().from(connections).where(and(eq(connections.authStateHash, stateHash),
    opts.forUpdate ? userLockedFirst(sql`${connections.userId}`) : undefined));
  const [row] = opts.forUpdate ? await q.for('no key update') : await q;
  return row ?? null;
}

/** The connection a provider's link belongs to (its webhooks name the link). The newest, should a link have been imported twice over time. */
export async function findConnectionByItem(db: Db, provider: string, itemId: string): Promise<ConnectionRow | null> {
  const [row] = await db.select().from(connections).where(and(eq(connections.provider, provider), eq(connections.itemId, itemId)))
    .orderBy(sql`${connections.id} desc`).limit(1);
  return row ?? null;
}

/** The user's other live connections at an institution, with their accounts' masks (the duplicate-link check). */
export async function findLiveConnectionsAt(db: Db, applicationId: string, userId: string, institutionId: string, excludeId: string): Promise<(ConnectionRow & { accountMasks: string[] })[]> {
  // Qualified by hand: in a one-table select drizzle writes ${connections.id} as a bare "id", which inside
  // the subquery would be the account's own id, and no connection would ever have masks.
  const rows = await db.select({ c: connections, masks: sql<string[] | null>`(select array_agg(a.mask) from accounts a where a.connection_id = ${connections}.id)` })
    .from(connections)
    .where(and(eq(connections.applicationId, applicationId), eq(connections.userId, userId), eq(connections.institutionId, institutionId),
      sql`${connections.id} <> ${excludeId}`, inArray(connections.status, ['active', 'degraded', 'reconnect_required'])));
  return rows.map((r) => ({ ...r.c, accountMasks: r.masks ?? [] }));
}

export async function listConnections(db: Db, applicationId: string, userId: string, after: string | null, limit: number): Promise<ConnectionRow[]> {
  return db.select().from(connections)
    .where(and(eq(connections.applicationId, applicationId), eq(connections.userId, userId), after ? gt(connections.id, after) : undefined))
    .orderBy(asc(connections.id)).limit(limit);
}

export async function updateConnection(db: Db, id: string, patch: Partial<typeof connections.$inferInsert>): Promise<ConnectionRow> {
  const [row] = await db.update(connections).set(patch).where(eq(connections.id, id)).returning();
  return row!;
}

/**
 * The scheduler's claim: up to `limit` connections whose background refresh is due on their
 * application's clock, from refresh_schedule through its next_at index, taken past other workers
 * (skip locked) and moved to `holdMs` from now in the same statement, so two workers never take the
 * same one and a worker that dies after the claim leaves it to be taken again then. The job that
 * follows sets the real next time. A connection no longer active or degraded is parked (infinity)
 * until a job schedules it again, and not answered. The claim commits without waiting for the disk
 * (ASYNC_COMMIT), so a tick does not queue behind a checkpoint's writes: a claim lost in a crash of
 * the server is a connection due again, and the refresh it started, committed after it, is lost with it.
 */
export async function claimDueConnections(db: Db, f: { wallNow: Date; holdMs: number; limit: number; applicationId: string | null }) {
  const result = (await db.execute(sql`
    with ${ASYNC_COMMIT},
    due as (
      -- Each application's due rows through the (application_id, next_at) index, on its own clock: one
      -- application's test clock far ahead must not make the others' claims read its future, and its
      -- offset is bounded (app-clock.ts) so that no stored value can make the statement fail for all.
      select d.connection_id, d.next_at, a.clock_offset_ms from async_commit, applications a
      cross join lateral (
        select s.connection_id, s.next_at from refresh_schedule s
        where s.application_id = a.id and s.next_at <= ${appTimeSql(f.wallNow, sql`a.clock_offset_ms`)}
        order by s.next_at limit ${f.limit}
        for update of s skip locked) d
      ${f.applicationId ? sql`where a.id = ${f.applicationId}` : sql``}
      order by d.next_at
      limit ${f.limit}),
    claimed as (
      update refresh_schedule s set next_at = case when c.status in ('active', 'degraded')
          then ${appTimeSql(f.wallNow, sql`due.clock_offset_ms`, f.holdMs)} else 'infinity'::timestamptz end
      from due join connections c on c.id = due.connection_id
      where s.connection_id = due.connection_id
      returning c.id, c.application_id, c.user_id, c.institution_id, c.schedule_slot, c.status, due.next_at)
    select id, application_id, user_id, institution_id, schedule_slot, next_at from claimed where status in ('active', 'degraded')`)) as {
    rows: { id: string; application_id: string; user_id: string; institution_id: string; schedule_slot: string | number; next_at: Date | string }[];
  };
  return result.rows.map((r) => ({
    id: r.id, applicationId: r.application_id, userId: r.user_id, institutionId: r.institution_id, slot: Number(r.schedule_slot),
    /** When it fell due, on the application's clock (the scheduler's lag is measured from it). */
    dueAt: new Date(r.next_at),
  }));
}

export async function setNextScheduledRefresh(db: Db, id: string, at: Date): Promise<void> {
  await db.update(connections).set({ nextScheduledRefreshAt: at }).where(eq(connections.id, id));
}
