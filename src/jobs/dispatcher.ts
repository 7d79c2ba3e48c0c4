/**
 * Runs a queue's jobs with up to `concurrency` of them in flight in this process, on pg-boss's
 * fetch/complete/fail/touch rather than its per-slot workers:
 *
 *   free slots? ─► fetch(batchSize = free slots) ─► each job runs on its own ─► ok: complete ┐ one statement for
 *        ▲                                                                   └► throw: fail   │ every job that ended
 *        └── woken: a job ended, an enqueue here, a NOTIFY from another process, or the poll  ┘ in the same tick
 *   heartbeat: one touch() for every job in flight
 *
 * A job waiting on a bank holds no database connection, so one process can keep hundreds in flight
 * while the pool stays small; fetching and completing in batches keeps the queue's own statements
 * per job well under one when many run. The guarantees are pg-boss's: a claim is fenced by its
 * attempt (retryCount), a job whose heartbeat lapses (a killed process) goes back to the queue,
 * a failed one is retried with the queue's backoff.
 */
import type { Job, PgBoss } from 'pg-boss';

export interface DispatcherOptions {
  concurrency: number;
  /** How often to look for work when nothing wakes the dispatcher (retries coming due, a missed NOTIFY). */
  pollMs: number;
  /** The queue's heartbeat: every job in flight is touched at half of it. */
  heartbeatSeconds: number;
}

export interface Dispatcher {
  /** Look for work now (a job was just sent, or a NOTIFY said so). */
  wake(): void;
  /** Stops fetching, waits up to `timeoutMs` for the jobs in flight, and hands back any still running (failed, so they are retried). */
  stop(timeoutMs: number): Promise<void>;
  inFlight(): number;
}

/** At most this many jobs in one fetch: a claim statement stays short however many slots are free. */
const MAX_FETCH = 100;

export function startDispatcher<T>(
  boss: PgBoss, queue: string, opts: DispatcherOptions,
  handler: (job: Job<T>) => Promise<void>, onError: (err: Error) => void,
): Dispatcher {
  const running = new Map<string, Job<T>>();
  const completed: Job<T>[] = [];
  let stopping = false;
  let wakeUp: (() => void) | null = null;
  let woken = false;
  let drained: (() => void) | null = null;

  const wake = () => {
    woken = true;
    const w = wakeUp;
    wakeUp = null;
    w?.();
  };

  /** Completes every job that ended since the last flush, in one statement. */
  let flushing: Promise<void> | null = null;
  const flush = async () => {
    while (completed.length > 0) {
      const batch = completed.splice(0, completed.length);
      // A completion that does not land leaves the job active: its heartbeat lapses and it runs
      // again, and a run of a job already finished returns at once (services/sync/run.ts).
      await boss.complete(queue, batch.map((j) => ({ id: j.id, retryCount: j.retryCount }))).catch(onError);
    }
  };
  const scheduleFlush = () => {
    flushing ??= new Promise<void>((resolve) => setImmediate(resolve)).then(flush).finally(() => { flushing = null; });
  };

  const settle = (job: Job<T>) => {
    running.delete(job.id);
    if (running.size === 0) drained?.();
    wake();
  };
  const run = (job: Job<T>) => {
    running.set(job.id, job);
    handler(job).then(
      () => { completed.push(job); scheduleFlush(); settle(job); },
      (err: unknown) => {
        boss.fail(queue, { id: job.id, retryCount: job.retryCount }, { message: (err as Error)?.message ?? String(err) }).catch(onError);
        settle(job);
      },
    );
  };

  const loop = async () => {
    while (!stopping) {
      const free = opts.concurrency - running.size;
      let full = false;
      if (free > 0) {
        woken = false;
        const asked = Math.min(free, MAX_FETCH);
        try {
          const jobs = await boss.fetch<T>(queue, { batchSize: asked });
          for (const job of jobs) run(job);
          full = jobs.length === asked;
        } catch (err) {
          onError(err as Error);
        }
      }
      if (stopping) break;
      // More may be waiting: fetch again at once while slots are free and the last fetch came back full.
      if (full && running.size < opts.concurrency) continue;
      if (woken && running.size < opts.concurrency) continue;
      await new Promise<void>((resolve) => {
        wakeUp = resolve;
        const timer = setTimeout(() => { if (wakeUp === resolve) wakeUp = null; resolve(); }, opts.pollMs);
        timer.unref();
      });
    }
  };
  const looping = loop();

  const heartbeat = setInterval(() => {
    if (running.size === 0) return;
    boss.touch(queue, [...running.values()].map((j) => ({ id: j.id, retryCount: j.retryCount }))).catch(onError);
  }, Math.max(1, opts.heartbeatSeconds / 2) * 1000);
  heartbeat.unref();

  return {
    wake,
    inFlight: () => running.size,
    async stop(timeoutMs) {
      stopping = true;
      wake();
      await looping;
      if (running.size > 0) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          new Promise<void>((resolve) => { drained = resolve; }),
          new Promise<void>((resolve) => { timer = setTimeout(resolve, timeoutMs); }),
        ]);
        clearTimeout(timer);
      }
      clearInterval(heartbeat);
      await flushing;
      await flush();
      // Still running after the wait: handed back now rather than when their heartbeat lapses. If the
      // run goes on here meanwhile, its fence (the job's run token) stops whichever run is superseded.
      const left = [...running.values()];
      if (left.length > 0) {
        await boss.fail(queue, left.map((j) => ({ id: j.id, retryCount: j.retryCount })), { message: 'the worker stopped' }).catch(onError);
      }
    },
  };
}
