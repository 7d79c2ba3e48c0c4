/** Client tokens and operators (issue 6): bearer credentials for the hosted pages, stored hashed. */
import { and, eq, gt, lt } from 'drizzle-orm';
import type { Db } from '../open.js';
import { applications } from '../schema.js';
import { clientTokens, operatorSessions, operators } from '../tables/access.js';

export async function insertClientToken(db: Db, row: typeof clientTokens.$inferInsert) {
  const [created] = await db.insert(clientTokens).values(row).returning();
  return created!;
}

/** The unexpired client token with this hash, with its application. */
export async function findClientToken(db: Db, hash: string, now: Date) {
  const [row] = await db.select({ token: clientTokens, application: applications }).from(clientTokens)
    .innerJoin(applications, eq(applications.id, clientTokens.applicationId))
    .where(and(eq(clientTokens.hash, hash), gt(clientTokens.expiresAt, now)));
  return row ?? null;
}

export async function insertOperator(db: Db, row: typeof operators.$inferInsert) {
  const [created] = await db.insert(operators).values(row).returning();
  return created!;
}

export async function findOperatorByEmail(db: Db, email: string) {
  const [row] = await db.select().from(operators).where(eq(operators.email, email));
  return row ?? null;
}

export async function insertOperatorSession(db: Db, row: typeof operatorSessions.$inferInsert) {
  await db.insert(operatorSessions).values(row);
}

/** The unexpired session with this hash, with its operator and application. */
export async function findOperatorSession(db: Db, hash: string, now: Date) {
  const [row] = await db.select({ session: operatorSessions, operator: operators, application: applications }).from(operatorSessions)
    .innerJoin(operators, eq(operators.id, operatorSessions.operatorId))
    .innerJoin(applications, eq(applications.id, operators.applicationId))
    .where(and(eq(operatorSessions.hash, hash), gt(operatorSessions.expiresAt, now)));
  return row ?? null;
}

/** Forgets client tokens and operator sessions that expired before `before` (they can never be used again). */
export async function deleteExpiredAccess(db: Db, before: Date): Promise<void> {
  await db.delete(clientTokens).where(lt(clientTokens.expiresAt, before));
  await db.delete(operatorSessions).where(lt(operatorSessions.expiresAt, before));
}
