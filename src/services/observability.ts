/**
 * What the operator endpoints ask of the database (http/observability.ts): whether it answers
 * (readiness), and the queues' backlog, written into the metrics' gauges at scrape time.
 */
import { queueStats } from '../db/repos/queue-stats.js';
import { pingDatabase } from '../db/status.js';
import { queueDepth, queueOldestAge } from '../metrics.js';
import type { Core } from './core.js';

/** Short: a load balancer polls readiness every few seconds and must not pile up waiting checks. */
export const READY_TIMEOUT_MS = 2000;

/** Null when the database answers `select 1` in time; otherwise why not. */
export async function databaseProblem(core: Core): Promise<string | null> {
  try {
    await pingDatabase(core.db, READY_TIMEOUT_MS);
    return null;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

/** Reads every queue's backlog into the queue gauges. A failed read leaves them unset rather than stale. */
export async function updateQueueGauges(core: Core): Promise<void> {
  const stats = await queueStats(core.db).catch((err: unknown) => {
    queueDepth.reset();
    queueOldestAge.reset();
    throw err;
  });
  // Read first, then replaced at once: a concurrent scrape never sees them half written.
  queueDepth.reset();
  queueOldestAge.reset();
  for (const q of stats) {
    queueDepth.set({ queue: q.queue, state: 'ready' }, q.ready);
    queueDepth.set({ queue: q.queue, state: 'deferred' }, q.deferred);
    queueOldestAge.set({ queue: q.queue }, q.oldestReadySeconds);
  }
}
