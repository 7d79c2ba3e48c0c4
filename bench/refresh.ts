/**
 * Incremental refresh through the real queue: every already-synced connection is refreshed once
 * (services/connections.ts refreshConnection, trigger 'api', `width` API clients at once), timed
 * until every refresh job succeeded. Each round first moves the application's sandbox test clock
 * one day on, so the refresh finds a new day of transactions and pending ones posting, and the
 * refresh budget (20 a day) starts afresh.
 */
import { sql } from 'drizzle-orm';
import { DAY_MS } from '../src/domain/clock.js';
import { findApplication, setClockOffset } from '../src/db/repos/applications.js';
import type { Db } from '../src/db/open.js';
import { refreshConnection } from '../src/services/connections.js';
import type { Core } from '../src/services/core.js';
import { analyze, inParallel, round, scalar, startWindow, waitFor, type WindowResult } from './measure.js';
import { allJobsDone, jobProfile, polls, type JobProfile } from './profile.js';
import { startPgCpu } from './pg-cpu.js';

export interface RefreshResult {
  jobConcurrency: number;
  jobs: number;
  jobsPerSec: number;
  /** Transactions added, changed or removed by the round (sum of the users' feed counters). */
  transactionChanges: number;
  window: WindowResult;
  appQueriesPerJob: number | null;
  otherQueriesPerJob: number | null;
  /** PostgreSQL only: CPU of the bench database's server processes per job (bench/pg-cpu.ts), Causeway's pool and pg-boss's. */
  dbCpuMsPerJob: number | null;
  profile: JobProfile;
}

async function feedTotal(db: Db): Promise<number> {
  return scalar(db, sql`select coalesce(sum(change_seq), 0)::int8 as n from users`);
}

export async function refreshRound(
  core: Core, applicationId: string, synced: { userId: string; connectionId: string }[],
  opts: {
    day: number; width: number; beforeStart?: (now: Date) => Promise<void>;
    /** Runs just as the round's clock starts, and `stop` as it ends (a CPU profile of the refreshes alone). */
    around?: { start: () => Promise<void>; stop: () => Promise<void> };
  },
): Promise<RefreshResult> {
  await setClockOffset(core.db, applicationId, opts.day * DAY_MS);
  const application = (await findApplication(core.db, applicationId))!;
  await opts.beforeStart?.(new Date(core.clock.now().getTime() + application.clockOffsetMs));
  const tenant = { application };
  await analyze(core.db);
  const feed0 = await feedTotal(core.db);
  const jobIds: string[] = [];
  const polls0 = polls;
  const dbCpu = await startPgCpu(core.db);
  await opts.around?.start();
  const end = startWindow();
  await inParallel(synced, opts.width, async (s) => {
    const r = await refreshConnection(core, tenant, s.userId, s.connectionId, undefined, 'api');
    if (!r.created) throw new Error(`refresh of ${s.connectionId} found a job in flight`);
    jobIds.push(r.job.id);
  });
  await waitFor('refresh round', () => allJobsDone(core.db, jobIds), 120_000, 50);
  const window = end();
  await opts.around?.stop();
  const dbCpuMs = core.database.kind === 'postgres' ? await dbCpu() : null;
  const pg = core.database.kind === 'postgres';
  return {
    jobConcurrency: core.config.jobConcurrency, jobs: jobIds.length, jobsPerSec: round(jobIds.length / window.seconds, 1),
    transactionChanges: (await feedTotal(core.db)) - feed0, window,
    appQueriesPerJob: pg ? round((window.appQueries - (polls - polls0)) / jobIds.length, 1) : null,
    otherQueriesPerJob: pg ? round(window.otherQueries / jobIds.length, 1) : null,
    dbCpuMsPerJob: dbCpuMs === null ? null : round(dbCpuMs / jobIds.length, 1),
    profile: await jobProfile(core.db, jobIds),
  };
}
