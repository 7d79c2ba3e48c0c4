/**
 * Row locks in the one order (db/transaction.ts): the user, then the connection(s) by id, then the
 * job. Each helper takes the earlier locks itself, so a caller cannot get the order wrong.
 */
import { and, asc, eq, sql, type SQL } from 'drizzle-orm';
import type { Db } from '../open.js';
import { connections, users } from '../schema.js';

export type UserLock = 'no key update' | 'update';

/**
 * A filter that locks the user `userIdSql` names before the row it filters is locked: a row's lock
 * is taken only once its filter has passed. `no key update` lets foreign-key checks (`key share`)
 * through; `update` (to delete the user) holds them off.
 */
export function userLockedFirst(userIdSql: SQL, mode: UserLock = 'no key update'): SQL {
  return sql`exists (select 1 from users lu where lu.id = ${userIdSql} for ${sql.raw(mode)})`;
}

/**
 * A filter that locks the connection `connectionIdSql` names (step 2) before the row it filters
 * (a job, step 3) is locked, `for no key update`; with `userFirst` it locks that connection's user
 * before the connection (steps 1 and 2), through `userLockedFirst` on `lc.user_id`.
 */
export function connectionLockedFirst(connectionIdSql: SQL, opts: { userFirst?: boolean } = {}): SQL {
  const user = opts.userFirst ? sql` and ${userLockedFirst(sql`lc.user_id`)}` : sql``;
  return sql`exists (select 1 from connections lc where lc.id = ${connectionIdSql}${user} for no key update)`;
}

/** Locks the user row (step 1 of the order); null when there is no such user. */
export async function lockUser(db: Db, applicationId: string, userId: string, mode: UserLock = 'no key update') {
  const q = db.select().from(users).where(and(eq(users.applicationId, applicationId), eq(users.id, userId)));
  const [row] = await q.for(mode);
  return row ?? null;
}

/**
 * Locks a connection and, first, its user (steps 1 and 2), in one statement; null when it does not
 * exist (or is not `userId`'s).
 */
export async function lockConnection(db: Db, applicationId: string, connectionId: string, userId?: string) {
  const [row] = await db.select().from(connections).where(and(
    eq(connections.applicationId, applicationId), eq(connections.id, connectionId),
    userId ? eq(connections.userId, userId) : undefined,
    userLockedFirst(sql`${connections.userId}`),
  )).for('no key update');
  return row ?? null;
}

/** Every connection of a user the caller holds locked (step 2), in id order, `for update`: they are about to be deleted. */
export async function lockUserConnections(db: Db, applicationId: string, userId: string) {
  return db.select().from(connections).where(and(eq(connections.applicationId, applicationId), eq(connections.userId, userId)))
    .orderBy(asc(connections.id)).for('update');
}
