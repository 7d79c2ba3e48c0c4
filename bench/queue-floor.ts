/**
 * pg-boss alone, one job at a time: the floor for Causeway's queue wiring (bench/floors.ts
 * deliveryFloor). Jobs are sent as Causeway sends them (one `send` each, `width` senders at once)
 * onto a queue configured like `connection-job`, and worked by pg-boss's own workers,
 * `localConcurrency` of them, each fetching one job at a time (batchSize 1), woken by NOTIFY and
 * fetching again at once while more than one is ready (burstWhenReadyExceeds 1, its least), with a handler that does
 * nothing. Timed, like the delivery floor, until pg-boss marks the last one completed.
 */
import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import type { PgBoss } from 'pg-boss';
import type { Database } from '../src/db/open.js';
import { inParallel, round, scalar, sleep, startWindow } from './measure.js';

export interface SingleFetchFloor { jobs: number; jobsPerSec: number | null; seconds: number; completed: number }

const QUEUE_LIKE_CONNECTION_JOB = {
  policy: 'standard' as const, retryLimit: 3, retryDelay: 0, retryBackoff: false, heartbeatSeconds: 30, expireInSeconds: 3600, notify: true,
};

export async function singleFetchFloor(database: Database, boss: PgBoss, opts: { jobs: number; width: number; localConcurrency: number; stallSeconds: number }): Promise<SingleFetchFloor> {
  const name = `bench-noop-single-${opts.localConcurrency}`;
  await boss.createQueue(name, QUEUE_LIKE_CONNECTION_JOB);
  const workerId = await boss.work(name, { localConcurrency: opts.localConcurrency, batchSize: 1, pollingIntervalSeconds: 1, burstWhenReadyExceeds: 1 }, async () => {});
  try {
    const since = new Date(Date.now() - 1000);
    const tag = `s_${randomUUID().slice(0, 8)}`;
    const end = startWindow();
    const t0 = Date.now();
    await inParallel(Array.from({ length: opts.jobs }, (_, i) => i), opts.width, async (i) => {
      await boss.send(name, { jobId: `${tag}_${i}` }, { id: randomUUID() });
    });
    let done = 0;
    while (Date.now() - t0 < opts.stallSeconds * 1000) {
      done = await scalar(database.db, sql`select count(*)::int as n from pgboss.job where name = ${name} and created_on >= ${since.toISOString()}::timestamptz
        and state = 'completed' and data->>'jobId' like ${`${tag}_%`}`);
      if (done >= opts.jobs) break;
      await sleep(20);
    }
    const w = end();
    return { jobs: opts.jobs, jobsPerSec: done >= opts.jobs ? round(opts.jobs / w.seconds) : null, seconds: round(w.seconds, 2), completed: done };
  } finally {
    await boss.offWork(name, { id: workerId, wait: true }).catch(() => {});
    await boss.deleteQueue(name).catch(() => {});
  }
}
