/**
 * Idempotency keys (http/idempotency.ts): one row per (application, key). A row is either in flight
 * (no status yet, held by a lease the running request renews) or answered (status and the sealed
 * answer). Claiming is one statement, so two requests with the same key never both run.
 */
import { and, eq, isNull, sql } from 'drizzle-orm';
import type { Db } from '../open.js';
import { idempotencyKeys } from '../schema.js';

export type IdempotencyRow = typeof idempotencyKeys.$inferSelect;

const keyOf = (applicationId: string, key: string) => and(eq(idempotencyKeys.applicationId, applicationId), eq(idempotencyKeys.key, key));

/**
 * Takes the key for this request (true): a new key; one past its time to live (any request); or one whose
 * first request died in flight (its lease lapsed) for the same request. Answers false when the key is
 * held or answered: read it with `findIdempotencyKey` to decide between a replay, 409 and 422.
 */
export async function claimIdempotencyKey(db: Db, k: {
  applicationId: string; key: string; requestHash: string; now: Date; lockedUntil: Date; expiredBefore: Date;
}): Promise<boolean> {
  const rows = await db.insert(idempotencyKeys)
    .values({ applicationId: k.applicationId, key: k.key, requestHash: k.requestHash, createdAt: k.now, lockedUntil: k.lockedUntil })
    .onConflictDoUpdate({
      target: [idempotencyKeys.applicationId, idempotencyKeys.key],
      set: { requestHash: k.requestHash, createdAt: k.now, lockedUntil: k.lockedUntil, statusCode: null, answerEnc: null },
      setWhere: sql`${idempotencyKeys.createdAt} < ${k.expiredBefore.toISOString()}::timestamptz
        or (${idempotencyKeys.statusCode} is null and ${idempotencyKeys.lockedUntil} < ${k.now.toISOString()}::timestamptz
            and ${idempotencyKeys.requestHash} = ${k.requestHash})`,
    })
    .returning({ key: idempotencyKeys.key });
  return rows.length > 0;
}

export async function findIdempotencyKey(db: Db, applicationId: string, key: string): Promise<IdempotencyRow | null> {
  const [row] = await db.select().from(idempotencyKeys).where(keyOf(applicationId, key));
  return row ?? null;
}

/** Which claim a write belongs to: a key re-claimed after its lease lapsed has a new claim time, so a stale request's writes miss. */
export interface ClaimRef { applicationId: string; key: string; requestHash: string; claimedAt: Date }

const heldBy = (c: ClaimRef) => and(
  keyOf(c.applicationId, c.key), isNull(idempotencyKeys.statusCode), eq(idempotencyKeys.requestHash, c.requestHash), eq(idempotencyKeys.createdAt, c.claimedAt),
);

/** Extends a running request's lease (nothing when the key is no longer this claim's). */
export async function renewIdempotencyLease(db: Db, claim: ClaimRef, lockedUntil: Date): Promise<void> {
  await db.update(idempotencyKeys).set({ lockedUntil }).where(heldBy(claim));
}

export async function storeIdempotentAnswer(db: Db, claim: ClaimRef, statusCode: number, answerEnc: string) {
  await db.update(idempotencyKeys).set({ statusCode, answerEnc, lockedUntil: null }).where(heldBy(claim));
}

/** Lets the key go (the request failed on our side: nothing was decided, so a retry runs again). */
export async function releaseIdempotencyKey(db: Db, claim: ClaimRef) {
  await db.delete(idempotencyKeys).where(heldBy(claim));
}

/** The sweep: keys past their time to live, at most `limit` a call (through the created_at index). */
export async function deleteExpiredIdempotencyKeys(db: Db, before: Date, limit = 5000): Promise<number> {
  const result = (await db.execute(sql`with gone as (
      delete from idempotency_keys where ctid in (
        select ctid from idempotency_keys where created_at < ${before.toISOString()}::timestamptz limit ${limit})
      returning 1)
    select count(*)::int as n from gone`)) as unknown as { rows: { n: number }[] };
  return result.rows[0]?.n ?? 0;
}
