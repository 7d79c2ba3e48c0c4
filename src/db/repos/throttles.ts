/**
 * Institution limits shared by every worker (domain/throttle.ts has the rules). A permit is taken
 * in one statement on the (application, institution) row: ON CONFLICT DO UPDATE locks the row and
 * evaluates the condition on its latest version, so two workers asking at once are served one after
 * the other and never both take the last place. The statement applies decidePermit's rule; the
 * throttle test runs both on the same cases.
 */
import { and, eq, sql } from 'drizzle-orm';
import { OPEN_THROTTLE, RESERVE_AHEAD_MS, spacingMs, type InstitutionCapacity, type ThrottleState } from '../../domain/throttle.js';
import type { Db } from '../open.js';
import { institutionThrottles } from '../schema.js';
import { ASYNC_COMMIT, withTransaction } from '../transaction.js';

export interface ThrottleKey { applicationId: string; institutionId: string }

const where = (k: ThrottleKey) => and(eq(institutionThrottles.applicationId, k.applicationId), eq(institutionThrottles.institutionId, k.institutionId));

type Row = typeof institutionThrottles.$inferSelect;
const stateOf = (row: Row): ThrottleState => ({ holders: row.holders, nextStartAt: row.nextStartAt, slowedUntil: row.slowedUntil, rateFactor: row.rateFactor, penaltyUntil: row.penaltyUntil });

export async function readThrottle(db: Db, k: ThrottleKey): Promise<ThrottleState> {
  const [row] = await db.select().from(institutionThrottles).where(where(k));
  return row ? stateOf(row) : OPEN_THROTTLE;
}

/** Every institution's state for one application, by institution id. */
export async function listThrottles(db: Db, applicationId: string): Promise<Map<string, ThrottleState>> {
  const rows = await db.select().from(institutionThrottles).where(eq(institutionThrottles.applicationId, applicationId));
  return new Map(rows.map((r) => [r.institutionId, stateOf(r)]));
}

/*
 * A permit's row is bookkeeping every job start of an institution waits on: its statements commit
 * without waiting for the disk (ASYNC_COMMIT), so the row is free again as soon as they end. A crash
 * may lose the last few of them, which costs nothing: the holders they named died with the process,
 * and a lost give-back lapses with its lease.
 */

/**
 * Takes a permit for `holder` (a job run's token) until now + leaseMs when decidePermit would grant
 * one; answers the moment its start was given (now, or a start reserved at most RESERVE_AHEAD_MS
 * ahead), or null when it was refused. `released`: holders given back since this process last wrote
 * the row (services/limits.ts): they are not counted, and a granted take removes them; a refused one
 * changes nothing, so its caller must give them back another way.
 */
export async function takePermit(
  db: Db, k: ThrottleKey, holder: string, capacity: InstitutionCapacity, now: Date, leaseMs: number, released: readonly string[] = [],
): Promise<Date | null> {
  const at = now.toISOString();
  const nowMs = now.getTime();
  const until = nowMs + leaseMs;
  const base = spacingMs(capacity, OPEN_THROTTLE, now);
  // The holders that still count: not lapsed, not the asker (a run asking again), not given back.
  const counted = sql`(e.value::text)::bigint > ${nowMs} and e.key <> ${holder} and e.key <> all(${sql.param(released)}::text[])`;
  // The row's spacing at `at`: the institution's, stretched while a 429's penalty lasts (domain/throttle.ts spacingMs).
  const spacing = sql`(${base} / case when t.penalty_until > ${at}::timestamptz then t.rate_factor else 1 end) * interval '1 millisecond'`;
  const result = (await db.execute(sql`
    with ${ASYNC_COMMIT}
    insert into institution_throttles as t (application_id, institution_id, holders, next_start_at)
    select ${k.applicationId}, ${k.institutionId}, jsonb_build_object(${holder}::text, ${until}::bigint), ${at}::timestamptz + ${base} * interval '1 millisecond'
    from async_commit
    on conflict (application_id, institution_id) do update set
      holders = (select coalesce(jsonb_object_agg(e.key, e.value), '{}'::jsonb) from jsonb_each(t.holders) e where ${counted})
                || jsonb_build_object(${holder}::text, ${until}::bigint),
      next_start_at = greatest(${at}::timestamptz, t.next_start_at) + ${spacing}
    where t.slowed_until <= ${at}::timestamptz and t.next_start_at <= ${at}::timestamptz + ${RESERVE_AHEAD_MS} * interval '1 millisecond'
      and (select count(*) from jsonb_each(t.holders) e where ${counted}) < ${capacity.maxConcurrentRefreshes}
    -- the start given: the new next start less one spacing (the penalty's columns are not changed here)
    returning (extract(epoch from t.next_start_at - ${spacing}) * 1000)::float8 as start_ms`)) as { rows: { start_ms: number | string }[] };
  const [row] = result.rows;
  return row ? new Date(Number(row.start_ms)) : null;
}

/** A running holder keeps its place for another lease (no new start is counted). */
export async function renewPermit(db: Db, k: ThrottleKey, holder: string, until: Date): Promise<void> {
  await db.update(institutionThrottles)
    .set({ holders: sql`jsonb_set(${institutionThrottles.holders}, array[${holder}::text], to_jsonb(${until.getTime()}::bigint))` })
    .where(and(where(k), sql`${institutionThrottles.holders} -> ${holder}::text is not null`));
}

/** Gives back the places of `holders` (without waiting for the disk, as a take: see above). */
export async function releasePermits(db: Db, k: ThrottleKey, holders: readonly string[]): Promise<void> {
  if (holders.length === 0) return;
  await db.execute(sql`
    with ${ASYNC_COMMIT}
    update institution_throttles t set holders = t.holders - ${sql.param(holders)}::text[]
    from async_commit
    where t.application_id = ${k.applicationId} and t.institution_id = ${k.institutionId}`);
}

/** Changes the row under its lock (a 429 is rare; the rule stays in the domain). */
export async function updateThrottle(db: Db, k: ThrottleKey, change: (s: ThrottleState) => ThrottleState): Promise<ThrottleState> {
  return withTransaction(db, async (tx) => {
    await tx.insert(institutionThrottles).values({ applicationId: k.applicationId, institutionId: k.institutionId }).onConflictDoNothing();
    const [row] = await tx.select().from(institutionThrottles).where(where(k)).for('update');
    const next = change(stateOf(row!));
    await tx.update(institutionThrottles).set({ slowedUntil: next.slowedUntil, rateFactor: next.rateFactor, penaltyUntil: next.penaltyUntil, nextStartAt: next.nextStartAt }).where(where(k));
    return next;
  });
}
