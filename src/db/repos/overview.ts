/** What the operator dashboard reads across an application: connections by filter, and the overview's counts. */
import { and, desc, eq, gt, inArray, lt, sql } from 'drizzle-orm';
import type { Db } from '../open.js';
import { connections, jobs, users } from '../schema.js';

export interface ConnectionFilter { status?: string; institutionId?: string; userId?: string }

/** Newest first (ids grow with time); `before`: the last id of the previous page. */
export async function listApplicationConnections(db: Db, applicationId: string, f: ConnectionFilter, before: string | null, limit: number) {
  return db.select().from(connections).where(and(
    eq(connections.applicationId, applicationId), before ? lt(connections.id, before) : undefined,
    f.status ? eq(connections.status, f.status) : undefined,
    f.institutionId ? eq(connections.institutionId, f.institutionId) : undefined,
    f.userId ? eq(connections.userId, f.userId) : undefined,
  )).orderBy(desc(connections.id)).limit(limit);
}

/** Who these users are (name, email, external id), for lists that show connections across users. */
export async function usersByIds(db: Db, applicationId: string, ids: string[]) {
  if (ids.length === 0) return [];
  return db.select({ id: users.id, externalId: users.externalId, email: users.email, name: users.name }).from(users)
    .where(and(eq(users.applicationId, applicationId), inArray(users.id, [...new Set(ids)])));
}

/** Connections by status; jobs per hour since `since`; failed jobs by error code since `since`. */
export async function overviewCounts(db: Db, applicationId: string, since: Date) {
  const [byStatus, perHour, failures] = await Promise.all([
    db.select({ status: connections.status, count: sql<number>`count(*)`.mapWith(Number) }).from(connections)
      .where(eq(connections.applicationId, applicationId)).groupBy(connections.status),
    db.select({
      hour: sql<string>`to_char(date_trunc('hour', ${jobs.createdAt} at time zone 'UTC'), 'YYYY-MM-DD"T"HH24:00:00"Z"')`,
      succeeded: sql<number>`count(*) filter (where ${jobs.status} = 'succeeded')`.mapWith(Number),
      failed: sql<number>`count(*) filter (where ${jobs.status} = 'failed')`.mapWith(Number),
      total: sql<number>`count(*)`.mapWith(Number),
    }).from(jobs).where(and(eq(jobs.applicationId, applicationId), gt(jobs.createdAt, since))).groupBy(sql`1`).orderBy(sql`1`),
    db.select({ reason: sql<string>`coalesce(${jobs.errorCode}, 'unknown')`, count: sql<number>`count(*)`.mapWith(Number) }).from(jobs)
      .where(and(eq(jobs.applicationId, applicationId), eq(jobs.status, 'failed'), gt(jobs.createdAt, since))).groupBy(sql`1`).orderBy(sql`2 desc`),
  ]);
  return { byStatus, perHour, failures };
}
