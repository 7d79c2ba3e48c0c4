/**
 * Jobs and their steps. `run_token` fences a run: every write of a run names its token, so a run
 * that was superseded (its worker presumed dead and the job handed to another) writes nothing.
 */
import { and, desc, eq, inArray, isNotNull, isNull, lt, notInArray, sql } from 'drizzle-orm';
import type { JobStep } from '../../domain/types.js';
import type { Db } from '../open.js';
import { appTimeSql, boundedOffsetSql } from './app-clock.js';
import { patchKeys, patchPlaceholders, patchValues, preparedPer, preparedShapes } from '../prepared.js';
import { connectionLockedFirst } from './locks.js';
import { journalInsertOf, type ProviderCallInsert } from './provider-calls.js';
import { RetryTransaction } from '../transaction.js';
import { accounts, applications, connections, identities, jobs, transactions } from '../schema.js';
import { filterOnly, liveJob } from '../predicates.js';

export type JobRow = typeof jobs.$inferSelect;

/** The conflict target of `jobs_one_live_per_connection`: one queued, running or awaiting_input job per connection. */
const ONE_LIVE_JOB = { target: jobs.connectionId, where: liveJob(sql`status`) };

export async function findLiveJob(db: Db, connectionId: string): Promise<JobRow | null> {
  const [row] = await db.select().from(jobs)
    .where(and(eq(jobs.connectionId, connectionId), liveJob(jobs.status)));
  return row ?? null;
}

/**
 * Inserts a job unless the connection already has a live one; answers which. The partial unique
 * index `jobs_one_live_per_connection` decides, so two racing requests cannot both create one.
 */
export async function insertJobUnlessLive(db: Db, row: typeof jobs.$inferInsert): Promise<{ job: JobRow; created: boolean }> {
  const inserted = await db.insert(jobs).values(row)
    .onConflictDoNothing(ONE_LIVE_JOB)
    .returning();
  if (inserted[0]) return { job: inserted[0], created: true };
  const live = await findLiveJob(db, row.connectionId);
  if (!live) throw new Error('A live job blocked the insert but could not be read back');
  return { job: live, created: false };
}

/** A live job was committed for the connection after the caller's read: the transaction runs again (withTransaction) and sees it. */
export class LiveJobRaceError extends RetryTransaction {
  constructor(connectionId: string) {
    super(`Connection ${connectionId} got a live job after it was read`);
    this.name = 'LiveJobRaceError';
  }
}

/**
 * Inserts a job for a connection the caller holds locked and has seen without a live job, and
 * updates that connection in the same statement. Throws LiveJobRaceError (the caller rolls back
 * and retries) when a live job exists after all: a lock taken by waiting returns the row as it is
 * now, but the rest of that statement (the live-job read) saw the database from before the wait.
 */
export async function insertJobUpdatingConnection(db: Db, row: typeof jobs.$inferInsert, patch: Partial<typeof connections.$inferInsert>): Promise<JobRow> {
  const touch = db.$with('touch', { id: connections.id }).as(sql`${db.update(connections).set(patch)
    .where(eq(connections.id, row.connectionId)).returning({ id: connections.id }).getSQL()}`);
  const [job] = await db.with(touch).insert(jobs).values(row)
    .onConflictDoNothing(ONE_LIVE_JOB)
    .returning();
  if (!job) throw new LiveJobRaceError(row.connectionId);
  return job;
}

/**
 * Cancels the connection's live job, if any, for an operation that takes the connection away from
 * it (purge, unlink, delete): the job ends `cancelled` and loses its run token, so the run still
 * working on it writes nothing more. Waits for a write the run has in flight (its fence holds the
 * job row). Answers the job as it was.
 */
export async function cancelLiveJob(db: Db, connectionId: string, now: Date, reason: string): Promise<JobRow | null> {
  const [live] = await db.select().from(jobs)
    .where(and(eq(jobs.connectionId, connectionId), liveJob(jobs.status))).for('update');
  if (!live) return null;
  const steps = live.steps.map((s) => (s.status === 'pending' || s.status === 'in_progress' || s.status === 'awaiting_input'
    ? { ...s, status: 'skipped' as const, resultCode: 'cancelled', finishedAt: now.toISOString() }
    : s));
  await db.update(jobs).set({
    status: 'cancelled', steps, runToken: null, mfaCodeEnc: null, mfaPrompt: null, mfaExpiresAt: null,
    errorCode: 'cancelled', errorMessage: reason, finishedAt: now, updatedAt: now,
  }).where(eq(jobs.id, live.id));
  return live;
}

export async function findJob(db: Db, applicationId: string, id: string): Promise<JobRow | null> {
  const [row] = await db.select().from(jobs).where(and(eq(jobs.applicationId, applicationId), eq(jobs.id, id)));
  return row ?? null;
}

/**
 * Everything a run starts from, in one round trip: the job, its application (for the clock), its
 * connection, the connection's accounts (provider id → id), the date of its oldest live pending
 * transaction (the refresh window must reach back to it) and the digest of its stored identity.
 */
export async function findJobForRun(db: Db, id: string) {
  const [row] = await jobForRun(db).execute({ id });
  if (!row) return null;
  return { ...row, accounts: new Map((row.accounts ?? []).map((a) => [a.pid, a.id])) };
}

const jobForRun = preparedPer((db) => db.select({
  job: jobs, application: applications, connection: connections,
  accounts: sql<{ id: string; pid: string }[] | null>`(select json_agg(json_build_object('id', a.id, 'pid', a.provider_account_id))
    from ${accounts} a where a.connection_id = ${jobs.connectionId})`,
  oldestPending: sql<string | null>`(select min(t.date)::text from ${transactions} t
    where t.connection_id = ${jobs.connectionId} and t.status = 'pending' and t.removed_at is null)`,
  identityDigest: sql<string | null>`(select i.digest from ${identities} i where i.connection_id = ${jobs.connectionId})`,
}).from(jobs)
  .innerJoin(applications, eq(applications.id, jobs.applicationId))
  .innerJoin(connections, eq(connections.id, jobs.connectionId))
  .where(eq(jobs.id, sql.placeholder('id')))
  .prepare('causeway_job_for_run'));

export async function findJobById(db: Db, id: string): Promise<JobRow | null> {
  const [row] = await db.select().from(jobs).where(eq(jobs.id, id));
  return row ?? null;
}

export async function listJobsForConnection(db: Db, connectionId: string, before: string | null, limit: number): Promise<JobRow[]> {
  return db.select().from(jobs)
    .where(and(eq(jobs.connectionId, connectionId), before ? lt(jobs.id, before) : undefined))
    .orderBy(desc(jobs.id)).limit(limit);
}

/**
 * Takes ownership of a queued (or orphaned running) job for a new run, writing the steps as the
 * run starts them, and stamps the connection's `lastUsedAt` in the same statement.
 */
export async function claimJob(db: Db, id: string, connectionId: string, runToken: string, steps: JobStep[], now: Date): Promise<JobRow | null> {
  const [row] = await claim(db).execute({ id, connectionId, runToken, steps: JSON.stringify(steps), now: now.toISOString() });
  return row ?? null;
}

const claim = preparedPer((db) => {
  const claimable = and(eq(jobs.id, sql.placeholder('id')), filterOnly(inArray(jobs.status, ['queued', 'running'])));
  // The connection is locked before the job (db/transaction.ts): the job's filter takes it first.
  const connectionFirst = connectionLockedFirst(sql`${sql.placeholder('connectionId')}`);
  const touch = db.$with('touch', { id: connections.id }).as(sql`${db.update(connections).set({ lastUsedAt: sql`${sql.placeholder('now')}::timestamptz` })
    .where(and(eq(connections.id, sql.placeholder('connectionId')), notInArray(connections.status, ['deleted', 'unlinked']),
      sql`exists (select 1 from ${jobs} where ${claimable})`))
    .returning({ id: connections.id }).getSQL()}`);
  return db.with(touch).update(jobs).set({
    status: 'running', runToken: sql`${sql.placeholder('runToken')}`, steps: sql`${sql.placeholder('steps')}::jsonb`, attempts: sql`${jobs.attempts} + 1`,
    startedAt: sql`coalesce(${jobs.startedAt}, ${sql.placeholder('now')}::timestamptz)`, updatedAt: sql`${sql.placeholder('now')}::timestamptz`,
  }).where(and(claimable, connectionFirst)).returning().prepare('causeway_claim_job');
});

export class SupersededRunError extends Error {
  constructor(jobId: string) {
    super(`Job ${jobId} was taken over by another run`);
    this.name = 'SupersededRunError';
  }
}

/**
 * Saves a run's steps (the common write: one step done, the next started), with the run's provider
 * calls not yet journaled (services/sync/journal.ts), written whether or not the run still owns the
 * job. Throws SupersededRunError.
 */
export async function saveSteps(db: Db, id: string, runToken: string, steps: JobStep[], now: Date, calls: ProviderCallInsert[] = []): Promise<void> {
  await saveRun(db, id, runToken, { steps, updatedAt: now }, calls);
}

/** Writes a run's view of the job, and journals `calls` in the same statement; throws SupersededRunError when the run no longer owns the job. */
export async function saveRun(db: Db, id: string, runToken: string, patch: Partial<typeof jobs.$inferInsert>, calls: ProviderCallInsert[] = []): Promise<void> {
  const shape: SaveShape = { job: patchKeys(patch), calls: calls.length > 0 };
  const values: Record<string, unknown> = { id, runToken, calls: JSON.stringify(calls) };
  patchValues(jobs, 'job_', patch, shape.job, values);
  const result = await runSave(db, shape).execute(values);
  if (Number(result.rows[0]?.n) !== 1) throw new SupersededRunError(id);
}

/** What saveRun's text depends on: the columns its patch sets, and whether it journals. */
interface SaveShape { job: string[]; calls: boolean }

const runSave = preparedShapes<SaveShape>('causeway_save_run', (s) => JSON.stringify(s), (db, s) => {
  const p = sql.placeholder;
  const update = db.update(jobs).set(patchPlaceholders('job_', s.job)).where(and(eq(jobs.id, p('id')), eq(jobs.runToken, p('runToken')))).returning({ id: jobs.id });
  const journal = s.calls ? sql`, journal as (${journalInsertOf(sql`${p('calls')}`)})` : sql``;
  return sql`with saved as (${update.getSQL()})${journal} select count(*)::int as n from saved`;
});

export interface RunEnding {
  jobId: string;
  runToken: string;
  job: Partial<typeof jobs.$inferInsert>;
  connectionId: string;
  /** The connection state the caller's status transition started from. */
  expected: { status: string; statusReason: string | null; everSynced: boolean };
  connection: Partial<typeof connections.$inferInsert>;
  /** Provider calls of the run: journalled by the same statement whatever else it does. */
  calls: ProviderCallInsert[];
}

/**
 * Ends a run in one statement when nothing moved under it: locks the connection and then the job
 * if the run still owns it (the order of db/transaction.ts: the job's filter takes the connection),
 * updates the connection only if it is still in the state the transition started from, and writes
 * the job only if the connection was written. Answers false when neither was written (the
 * run was superseded, or the connection changed meanwhile); the caller then takes the locking path.
 */
export async function endRunIfUnchanged(db: Db, e: RunEnding): Promise<boolean> {
  const shape: EndingShape = {
    job: patchKeys(e.job), connection: patchKeys(e.connection), reason: e.expected.statusReason !== null,
    everSynced: e.expected.everSynced, calls: e.calls.length > 0,
  };
  const values: Record<string, unknown> = {
    jobId: e.jobId, runToken: e.runToken, connectionId: e.connectionId, status: e.expected.status, statusReason: e.expected.statusReason,
    calls: JSON.stringify(e.calls),
  };
  patchValues(jobs, 'job_', e.job, shape.job, values);
  patchValues(connections, 'conn_', e.connection, shape.connection, values);
  const result = await runEnding(db, shape).execute(values);
  return Number(result.rows[0]?.n) === 1;
}

/** What endRunIfUnchanged's text depends on: one prepared statement for each (a handful: the outcomes' patches). */
interface EndingShape { job: string[]; connection: string[]; reason: boolean; everSynced: boolean; calls: boolean }

const runEnding = preparedShapes<EndingShape>('causeway_end_run', (s) => JSON.stringify(s), (db, s) => {
  const p = sql.placeholder;
  const owned = db.select({ id: jobs.id }).from(jobs).where(and(eq(jobs.id, p('jobId')), eq(jobs.runToken, p('runToken')),
    connectionLockedFirst(sql`${p('connectionId')}`))).for('update');
  const conn = db.update(connections).set(patchPlaceholders('conn_', s.connection)).where(and(
    eq(connections.id, p('connectionId')), eq(connections.status, p('status')),
    s.reason ? eq(connections.statusReason, p('statusReason')) : isNull(connections.statusReason),
    s.everSynced ? isNotNull(connections.firstSyncedAt) : isNull(connections.firstSyncedAt),
    sql`exists (select 1 from owned)`,
  )).returning({ id: connections.id });
  const job = db.update(jobs).set(patchPlaceholders('job_', s.job)).where(and(eq(jobs.id, p('jobId')), sql`exists (select 1 from conn)`)).returning({ id: jobs.id });
  const journal = s.calls ? sql`, journal as (${journalInsertOf(sql`${p('calls')}`)})` : sql``;
  return sql`with owned as (${owned.getSQL()}), conn as (${conn.getSQL()}), job as (${job.getSQL()})${journal}
    select count(*)::int as n from job`;
});

export async function updateJob(db: Db, id: string, patch: Partial<typeof jobs.$inferInsert>, whereStatus?: string): Promise<JobRow | null> {
  const [row] = await db.update(jobs).set(patch)
    .where(and(eq(jobs.id, id), whereStatus ? filterOnly(eq(jobs.status, whereStatus)) : undefined)).returning();
  return row ?? null;
}

/**
 * Queued jobs whose delivery may have been lost (a crash between commit and send). `olderThan` is
 * wall-clock time; job times are on their application's (sandbox test) clock, so the offset is undone.
 */
export async function findStaleQueuedJobs(db: Db, olderThan: Date, limit: number): Promise<JobRow[]> {
  const rows = await db.select({ job: jobs }).from(jobs).innerJoin(applications, eq(applications.id, jobs.applicationId))
    .innerJoin(connections, eq(connections.id, jobs.connectionId))
    .where(and(
      eq(jobs.status, 'queued'), sql`${jobs.updatedAt} - ${boundedOffsetSql(applications.clockOffsetMs)} * interval '1 millisecond' < ${olderThan}`,
      isNull(connections.pausedUntil), // a paused connection's job is sent when the pause ends (services/due.ts)
    ))
    .limit(limit);
  return rows.map((r) => r.job);
}

/**
 * Connections whose duplicate-credentials pause is over (on their application's clock): clears the
 * pause and gives each queued job a new queue id, in one statement, and answers the jobs to send.
 */
export async function releasePausedJobs(db: Db, wallNow: Date, applicationId: string | null, limit: number): Promise<JobRow[]> {
  const due = db.select({ id: connections.id }).from(connections).innerJoin(applications, eq(applications.id, connections.applicationId))
    .where(and(
      sql`${connections.pausedUntil} <= ${appTimeSql(wallNow, applications.clockOffsetMs)}`,
      applicationId ? eq(connections.applicationId, applicationId) : undefined,
    )).limit(limit);
  const released = db.$with('released', { id: connections.id }).as(sql`${db.update(connections).set({ pausedUntil: null })
    .where(inArray(connections.id, due)).returning({ id: connections.id }).getSQL()}`);
  return db.with(released).update(jobs).set({ queueJobId: sql`gen_random_uuid()` })
    .where(and(eq(jobs.status, 'queued'), sql`${jobs.connectionId} in (select id from released)`)).returning();
}

export function stepsWith(steps: JobStep[], name: JobStep['name'], patch: Partial<JobStep>): JobStep[] {
  return steps.map((s) => (s.name === name ? { ...s, ...patch } : s));
}

/** A queued job sent again later (institution limits): a new queue id, so the send is not taken for the one being handled. */
export async function requeueJob(db: Db, id: string, now: Date): Promise<JobRow | null> {
  const [row] = await db.update(jobs).set({ queueJobId: sql`gen_random_uuid()`, status: 'queued', updatedAt: now })
    .where(and(eq(jobs.id, id), filterOnly(inArray(jobs.status, ['queued', 'running'])))).returning();
  return row ?? null;
}
