/**
 * Where a job's time went, read back from what Causeway records anyway: each job's created,
 * started and finished times and each step's timing (ENGINEERING.md habit 5).
 */
import { inArray, sql } from 'drizzle-orm';
import { jobs } from '../src/db/schema.js';
import type { Db } from '../src/db/open.js';
import { percentile, round } from './measure.js';

export interface JobProfile {
  jobs: number;
  byStatus: Record<string, number>;
  /** created → started: waiting for a worker slot (and pg-boss delivery). */
  queueWaitMsP50: number;
  /** started → finished: the handler's own run. */
  runMsP50: number;
  runMsP99: number;
  /** Mean milliseconds per step (steps record millisecond timestamps). */
  stepMsMean: Record<string, number>;
}

export async function jobProfile(db: Db, ids: string[]): Promise<JobProfile> {
  const rows = await db.select({ status: jobs.status, createdAt: jobs.createdAt, startedAt: jobs.startedAt, finishedAt: jobs.finishedAt, steps: jobs.steps })
    .from(jobs).where(inArray(jobs.id, ids));
  const byStatus: Record<string, number> = {};
  const wait: number[] = [];
  const run: number[] = [];
  const stepTotals = new Map<string, { ms: number; n: number }>();
  for (const r of rows) {
    byStatus[r.status] = (byStatus[r.status] ?? 0) + 1;
    if (r.startedAt) wait.push(r.startedAt.getTime() - r.createdAt.getTime());
    if (r.startedAt && r.finishedAt) run.push(r.finishedAt.getTime() - r.startedAt.getTime());
    for (const s of r.steps) {
      if (!s.startedAt || !s.finishedAt || s.status === 'skipped') continue;
      const t = stepTotals.get(s.name) ?? { ms: 0, n: 0 };
      t.ms += Date.parse(s.finishedAt) - Date.parse(s.startedAt);
      t.n++;
      stepTotals.set(s.name, t);
    }
  }
  wait.sort((a, b) => a - b);
  run.sort((a, b) => a - b);
  return {
    jobs: rows.length, byStatus,
    queueWaitMsP50: percentile(wait, 50), runMsP50: percentile(run, 50), runMsP99: percentile(run, 99),
    stepMsMean: Object.fromEntries([...stepTotals].map(([name, t]) => [name, round(t.ms / t.n, 1)])),
  };
}

/** True once none of these jobs is queued or running; throws if any ended other than succeeded. */
export async function allJobsDone(db: Db, ids: string[]): Promise<boolean> {
  polls++;
  const rows = await db.select({ status: jobs.status, n: sql<number>`count(*)`.mapWith(Number) }).from(jobs)
    .where(inArray(jobs.id, ids)).groupBy(jobs.status);
  if (rows.some((r) => r.status === 'queued' || r.status === 'running')) return false;
  const bad = rows.filter((r) => r.status !== 'succeeded');
  if (bad.length > 0) throw new Error(`jobs did not succeed: ${bad.map((r) => `${r.n} ${r.status}`).join(', ')}`);
  return true;
}

/** How many polls allJobsDone made: each is one query to subtract from a window's count. */
export let polls = 0;
