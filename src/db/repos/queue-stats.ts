/**
 * What /metrics reads from the database: the queues' backlog
 * from pg-boss's own job table (pg-boss's default schema `pgboss`; jobs/queue.ts makes the queues).
 */
import { sql } from 'drizzle-orm';
import type { Db } from '../open.js';

export interface QueueStat {
  queue: string;
  /** Waiting jobs that may start now. */
  ready: number;
  /** Waiting jobs that start later (a delayed send, a retry backing off). */
  deferred: number;
  /** Seconds the longest-waiting ready job has been ready (0 when none). */
  oldestReadySeconds: number;
}

/**
 * Every queue (an empty one answers zeros), in one statement over the waiting jobs only (`state < 'active'`, pg-boss's partial index job_i11 on
 * (name, …) covers exactly those rows), so its cost follows the backlog, not the job history.
 */
export async function queueStats(db: Db): Promise<QueueStat[]> {
  const result = (await db.execute(sql`
    select q.name,
      count(*) filter (where j.start_after <= now())::int as ready,
      count(*) filter (where j.start_after > now())::int as deferred,
      coalesce(extract(epoch from now() - min(j.start_after) filter (where j.start_after <= now())), 0)::float8 as oldest
    from pgboss.queue q
    left join pgboss.job j on j.name = q.name and j.state < 'active' and not j.blocked
    group by q.name`)) as { rows: { name: string; ready: number; deferred: number; oldest: number }[] };
  return result.rows.map((r) => ({ queue: r.name, ready: Number(r.ready), deferred: Number(r.deferred), oldestReadySeconds: Math.max(0, Number(r.oldest)) }));
}
