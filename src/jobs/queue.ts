/**
 * Queue wiring on pg-boss, on both databases.
 *
 *   jobs table (source of truth) ──enqueue(id)──► pg-boss `connection-job` ──► worker ──► runJob()
 *        ▲                                              │ transient failure: throw → pg-boss retries
 *        └── sweeper: queued rows whose delivery was     │ with backoff; killed worker: heartbeat
 *            lost (crash between commit and send)        ▼ lapses → pg-boss hands it to another
 *
 * Causeway's `jobs` row says what a job is and how far it got; pg-boss only delivers it. Each
 * pg-boss job has the id stored in `jobs.queue_job_id`, so sending it again is a no-op while it
 * exists: the sweeper can re-send without making duplicates.
 */
import { PgBoss, fromPglite, type Job } from 'pg-boss';
import { POOL_HOLDING, type Database } from '../db/open.js';
import { timeJobRun } from '../metrics.js';
import { StatementNamingClient } from '../db/statements.js';
import { listen } from '../db/listen.js';
import { startDispatcher, type Dispatcher } from './dispatcher.js';
import { createHash } from 'node:crypto';

export const CONNECTION_JOB_QUEUE = 'connection-job';
/** Retries coming due and a NOTIFY missed while the listener was down are found by this poll. */
const POLL_MS = 1_000;
/** A graceful stop waits this long for the jobs in flight. */
const STOP_TIMEOUT_MS = 10_000;
/** pg-boss's NOTIFY channel for its schema `pgboss` (its plans.notifyChannelSql), the payload a queue's name. */
const BOSS_CHANNEL = `pgboss_${createHash('sha224').update('pgboss').digest('hex').slice(0, 24)}`;
export const MFA_TIMEOUT_QUEUE = 'mfa-timeout';
/** Bulk imports (services/imports.ts): one run of a batch at a time per worker process, beside the connection jobs. */
export const IMPORT_BATCH_QUEUE = 'import-batch';

/**
 * pg-boss fails a job whose heartbeat lapsed only on its monitor pass (default every 60 s): every
 * 5 s, a killed worker's job goes back to the queue within the heartbeat plus 5 s.
 */
const BOSS_TIMING = { useListenNotify: true, superviseIntervalSeconds: 5, monitorIntervalSeconds: 5 } as const;

export interface QueueOptions {
  retryLimit: number;
  retryDelaySeconds: number;
  heartbeatSeconds: number;
  concurrency: number;
}

export interface ConnectionJobMessage { jobId: string }
export interface ImportBatchMessage { batchId: string }

export interface JobQueue {
  boss: PgBoss;
  enqueue(job: { id: string; queueJobId: string }, startAfter?: Date): Promise<void>;
  scheduleMfaTimeout(jobId: string, at: Date): Promise<void>;
  /** Sends a batch's run; `queueJobId` (import_batches.queue_job_id) makes a second send of the same run a no-op. */
  enqueueImport(batch: { id: string; queueJobId: string }, startAfter?: Date): Promise<void>;
  work(handlers: {
    connectionJob: (msg: ConnectionJobMessage, attempt: { retryCount: number; retryLimit: number }) => Promise<void>;
    mfaTimeout: (msg: ConnectionJobMessage) => Promise<void>;
    /** `signal`: the run should stop starting rows (pg-boss gave up the job, or this process is stopping). */
    importBatch: (msg: ImportBatchMessage, signal: AbortSignal) => Promise<void>;
  }): Promise<void>;
  stop(): Promise<void>;
  /** Connection jobs running in this process now. */
  inFlight(): number;
}

export async function createQueue(database: Database, opts: QueueOptions, onError: (err: Error) => void): Promise<JobQueue> {
  const boss = database.kind === 'pglite'
    ? new PgBoss({ db: fromPglite(database.pglite), backend: 'pglite', ...BOSS_TIMING })
    : new PgBoss({ connectionString: database.url, max: 6, Client: StatementNamingClient, ...POOL_HOLDING, ...BOSS_TIMING } as ConstructorParameters<typeof PgBoss>[0]);
  // pg-boss reports background errors here (a dropped connection during maintenance, …); it retries them itself.
  boss.on('error', (err: unknown) => onError(err as Error));
  await boss.start();
  try {
    return await setUp(database, boss, opts, onError);
  } catch (err) {
    await boss.stop({ graceful: false, close: false }).catch(() => {});
    throw err;
  }
}

async function setUp(database: Database, boss: PgBoss, opts: QueueOptions, onError: (err: Error) => void): Promise<JobQueue> {
  const existing = new Set((await boss.getQueues()).map((q) => q.name));
  const jobQueue = {
    policy: 'standard' as const,
    retryLimit: opts.retryLimit,
    retryDelay: opts.retryDelaySeconds,
    // Backoff doubles the delay each retry, capped at an hour; with no delay (tests) retry at once.
    ...(opts.retryDelaySeconds > 0 ? { retryBackoff: true, retryDelayMax: 3600 } : { retryBackoff: false }),
    heartbeatSeconds: opts.heartbeatSeconds,
    expireInSeconds: 3600,
    notify: true,
  };
  if (existing.has(CONNECTION_JOB_QUEUE)) {
    // pg-boss refuses `policy` in an update even when unchanged; the rest follows the configuration.
    const { policy: _policy, ...settings } = jobQueue;
    await boss.updateQueue(CONNECTION_JOB_QUEUE, settings);
  } else {
    await boss.createQueue(CONNECTION_JOB_QUEUE, jobQueue);
  }
  if (!existing.has(MFA_TIMEOUT_QUEUE)) await boss.createQueue(MFA_TIMEOUT_QUEUE, { retryLimit: 5 });
  // A batch's run lasts minutes (10,000 rows at 10 a second): the heartbeat, not the expiry, tells a
  // killed worker's run, which pg-boss then retries, and the retry resumes the batch where it stopped.
  const importQueue = { ...jobQueue, expireInSeconds: 6 * 3600 };
  if (existing.has(IMPORT_BATCH_QUEUE)) {
    const { policy: _policy, ...settings } = importQueue;
    await boss.updateQueue(IMPORT_BATCH_QUEUE, settings);
  } else {
    await boss.createQueue(IMPORT_BATCH_QUEUE, importQueue);
  }

  const workerIds: string[] = [];
  let dispatcher: Dispatcher | null = null;
  let unlisten: (() => Promise<void>) | null = null;
  // Aborted first thing in stop(): a batch's run stops starting rows, so the graceful stop is not spent waiting on it.
  const stopping = new AbortController();
  return {
    boss,
    async enqueue(job, startAfter) {
      await boss.send(CONNECTION_JOB_QUEUE, { jobId: job.id }, { id: job.queueJobId, ...(startAfter ? { startAfter } : {}) });
      if (!startAfter) dispatcher?.wake();
    },
    async scheduleMfaTimeout(jobId, at) {
      await boss.send(MFA_TIMEOUT_QUEUE, { jobId }, { startAfter: at });
    },
    async enqueueImport(batch, startAfter) {
      await boss.send(IMPORT_BATCH_QUEUE, { batchId: batch.id }, { id: batch.queueJobId, ...(startAfter ? { startAfter } : {}) });
    },
    async work(handlers) {
      // Up to `concurrency` jobs in flight, fetched and completed in batches (jobs/dispatcher.ts).
      dispatcher = startDispatcher<ConnectionJobMessage>(boss, CONNECTION_JOB_QUEUE, {
        concurrency: opts.concurrency, pollMs: POLL_MS, heartbeatSeconds: opts.heartbeatSeconds,
      }, (job) => timeJobRun(CONNECTION_JOB_QUEUE, () => handlers.connectionJob(job.data, { retryCount: job.retryCount, retryLimit: opts.retryLimit })), onError);
      // A job sent by another process: pg-boss's NOTIFY (the queue has notify on) wakes the dispatcher at once.
      unlisten = await listen(database, BOSS_CHANNEL, (queue) => { if (queue === CONNECTION_JOB_QUEUE) dispatcher?.wake(); }, onError)
        .catch((err: Error) => { onError(err); return null; });
      workerIds.push(await boss.work<ConnectionJobMessage>(MFA_TIMEOUT_QUEUE, { pollingIntervalSeconds: 2 }, async (batch: Job<ConnectionJobMessage>[]) => {
        for (const job of batch) await timeJobRun(MFA_TIMEOUT_QUEUE, () => handlers.mfaTimeout(job.data));
      }));
      workerIds.push(await boss.work<ImportBatchMessage>(IMPORT_BATCH_QUEUE, { localConcurrency: 1, batchSize: 1, pollingIntervalSeconds: 2 }, async (batch) => {
        for (const job of batch) await timeJobRun(IMPORT_BATCH_QUEUE, () => handlers.importBatch(job.data, AbortSignal.any([job.signal, stopping.signal])));
      }));
    },
    inFlight: () => dispatcher?.inFlight() ?? 0,
    async stop() {
      stopping.abort();
      await unlisten?.();
      await dispatcher?.stop(STOP_TIMEOUT_MS);
      await boss.stop({ graceful: true, timeout: STOP_TIMEOUT_MS });
    },
  };
}
