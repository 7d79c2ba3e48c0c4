/** End users of an application. Every query is scoped by application id. */
import { and, asc, eq, gt, ilike, or } from 'drizzle-orm';
import type { Db } from '../open.js';
import { users } from '../schema.js';

export type UserRow = typeof users.$inferSelect;

export async function insertUser(db: Db, row: typeof users.$inferInsert): Promise<UserRow> {
  const [created] = await db.insert(users).values(row).returning();
  return created!;
}

/** Reads a user without locking it; to lock one, `lockUser` (repos/locks.ts) in the order of db/transaction.ts. */
export async function findUser(db: Db, applicationId: string, id: string): Promise<UserRow | null> {
  const [row] = await db.select().from(users).where(and(eq(users.applicationId, applicationId), eq(users.id, id)));
  return row ?? null;
}

export async function findUserByExternalId(db: Db, applicationId: string, externalId: string): Promise<UserRow | null> {
  const [row] = await db.select().from(users).where(and(eq(users.applicationId, applicationId), eq(users.externalId, externalId)));
  return row ?? null;
}

export async function listUsers(db: Db, applicationId: string, after: string | null, limit: number, search?: string): Promise<UserRow[]> {
  // The search matches the id, externalId, email or name, anywhere and in any case (an operator looking someone up).
  const like = search ? `%${search.replace(/[\\%_]/g, (c) => `\\${c}`)}%` : null;
  return db.select().from(users)
    .where(and(
      eq(users.applicationId, applicationId), after ? gt(users.id, after) : undefined,
      like ? or(ilike(users.id, like), ilike(users.externalId, like), ilike(users.email, like), ilike(users.name, like)) : undefined,
    ))
    .orderBy(asc(users.id)).limit(limit);
}

export async function updateUser(db: Db, applicationId: string, id: string, patch: Partial<typeof users.$inferInsert>): Promise<UserRow | null> {
  const [row] = await db.update(users).set(patch).where(and(eq(users.applicationId, applicationId), eq(users.id, id))).returning();
  return row ?? null;
}
