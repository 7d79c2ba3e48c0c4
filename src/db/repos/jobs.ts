/**
 * Jobs and their steps. `run_token` fences a run: every write of a run names its token, so a run
 * that was superseded (its worker presumed dead and the job handed to another) writes nothing.
 */
import { and, desc, eq, inArray, lt, sql } from 'drizzle-orm';
import { LIVE_JOB_STATUSES, type JobStep } from '../../domain/types.js';
import type { Db } from '../open.js';
import { applications, jobs } from '../schema.js';

export type JobRow = typeof jobs.$inferSelect;

export async function findLiveJob(db: Db, connectionId: string): Promise<JobRow | null> {
  const [row] = await db.select().from(jobs)
    .where(and(eq(jobs.connectionId, connectionId), inArray(jobs.status, [...LIVE_JOB_STATUSES])));
  return row ?? null;
}

/**
 * Inserts a job unless the connection already has a live one; answers which. The partial unique
 * index `jobs_one_live_per_connection` decides, so two racing requests cannot both create one.
 */
export async function insertJobUnlessLive(db: Db, row: typeof jobs.$inferInsert): Promise<{ job: JobRow; created: boolean }> {
  const inserted = await db.insert(jobs).values(row)
    .onConflictDoNothing({ target: jobs.connectionId, where: sql`status in ('queued', 'running', 'awaiting_input')` })
    .returning();
  if (inserted[0]) return { job: inserted[0], created: true };
  const live = await findLiveJob(db, row.connectionId);
  if (!live) throw new Error('A live job blocked the insert but could not be read back');
  return { job: live, created: false };
}

export async function findJob(db: Db, applicationId: string, id: string): Promise<JobRow | null> {
  const [row] = await db.select().from(jobs).where(and(eq(jobs.applicationId, applicationId), eq(jobs.id, id)));
  return row ?? null;
}

/** A job with its application (for the application's clock), in one query. */
export async function findJobWithApplication(db: Db, id: string) {
  const [row] = await db.select({ job: jobs, application: applications }).from(jobs)
    .innerJoin(applications, eq(applications.id, jobs.applicationId)).where(eq(jobs.id, id));
  return row ?? null;
}

export async function findJobById(db: Db, id: string): Promise<JobRow | null> {
  const [row] = await db.select().from(jobs).where(eq(jobs.id, id));
  return row ?? null;
}

export async function listJobsForConnection(db: Db, connectionId: string, before: string | null, limit: number): Promise<JobRow[]> {
  return db.select().from(jobs)
    .where(and(eq(jobs.connectionId, connectionId), before ? lt(jobs.id, before) : undefined))
    .orderBy(desc(jobs.id)).limit(limit);
}

/** Takes ownership of a queued (or orphaned running) job for a new run. */
export async function claimJob(db: Db, id: string, runToken: string, now: Date): Promise<JobRow | null> {
  const [row] = await db.update(jobs).set({
    status: 'running', runToken, attempts: sql`${jobs.attempts} + 1`,
    startedAt: sql`coalesce(${jobs.startedAt}, ${now})`, updatedAt: now,
  }).where(and(eq(jobs.id, id), inArray(jobs.status, ['queued', 'running']))).returning();
  return row ?? null;
}

export class SupersededRunError extends Error {
  constructor(jobId: string) {
    super(`Job ${jobId} was taken over by another run`);
    this.name = 'SupersededRunError';
  }
}

/** Writes a run's view of the job; throws SupersededRunError when the run no longer owns it. */
export async function saveRun(db: Db, id: string, runToken: string, patch: Partial<typeof jobs.$inferInsert>): Promise<JobRow> {
  const [row] = await db.update(jobs).set(patch).where(and(eq(jobs.id, id), eq(jobs.runToken, runToken))).returning();
  if (!row) throw new SupersededRunError(id);
  return row;
}

/** Locks the job row for the rest of a transaction if this run still owns it. */
export async function assertRunOwnsJob(db: Db, id: string, runToken: string): Promise<void> {
  const [row] = await db.select({ id: jobs.id }).from(jobs).where(and(eq(jobs.id, id), eq(jobs.runToken, runToken))).for('update');
  if (!row) throw new SupersededRunError(id);
}

export async function updateJob(db: Db, id: string, patch: Partial<typeof jobs.$inferInsert>, whereStatus?: string): Promise<JobRow | null> {
  const [row] = await db.update(jobs).set(patch)
    .where(and(eq(jobs.id, id), whereStatus ? eq(jobs.status, whereStatus) : undefined)).returning();
  return row ?? null;
}

/**
 * Queued jobs whose delivery may have been lost (a crash between commit and send). `olderThan` is
 * wall-clock time; job times are on their application's (sandbox test) clock, so the offset is undone.
 */
export async function findStaleQueuedJobs(db: Db, olderThan: Date, limit: number): Promise<JobRow[]> {
  const rows = await db.select({ job: jobs }).from(jobs).innerJoin(applications, eq(applications.id, jobs.applicationId))
    .where(and(eq(jobs.status, 'queued'), sql`${jobs.updatedAt} - ${applications.clockOffsetMs} * interval '1 millisecond' < ${olderThan}`))
    .limit(limit);
  return rows.map((r) => r.job);
}

export function stepsWith(steps: JobStep[], name: JobStep['name'], patch: Partial<JobStep>): JobStep[] {
  return steps.map((s) => (s.name === name ? { ...s, ...patch } : s));
}
