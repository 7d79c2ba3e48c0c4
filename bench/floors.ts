/**
 * Raw floors on the same database in the same run, to hold Causeway's figures against:
 *
 *   COPY     : the rows the initial sync stored, exported with COPY TO, loaded with COPY FROM STDIN
 *              (PGlite: FROM '/dev/blob') into `bench_copy (like transactions including all)`:
 *              same columns and indexes, no foreign keys. Once as one stream, then once per
 *              connection (one COPY each, as a per-connection ingestion would have to do). Best
 *              of three rounds of each.
 *   no-op job: jobs through Causeway's real queue and worker wiring whose handler finds nothing
 *              to do (deliveryFloor), and pg-boss's raw batched throughput (batchedFloor).
 */
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { sql } from 'drizzle-orm';
import type { PgBoss } from 'pg-boss';
import type { Database } from '../src/db/open.js';
import { CONNECTION_JOB_QUEUE } from '../src/jobs/queue.js';
import type { Core } from '../src/services/core.js';
import { analyze, inParallel, round, scalar, sleep, startWindow } from './measure.js';

export interface CopyFloor {
  rows: number;
  megabytes: number;
  rowsPerSec: number;
  perConnectionRowsPerSec: number;
  /** The one-stream rate of each round; rowsPerSec is the best of them. */
  roundsRowsPerSec: number[];
}

const COPY_ROUNDS = 3;
/** How many times copyFloor loads the rows: each round once as one stream and once per connection. */
export const COPY_LOADS = COPY_ROUNDS * 2;

/** COPY payload (text format) of every stored transaction. */
async function exportTransactions(database: Database): Promise<Buffer> {
  if (database.kind === 'pglite') {
    const res = await database.pglite.query(`copy transactions to '/dev/blob'`);
    return Buffer.from(await res.blob!.arrayBuffer());
  }
  const client = await database.pool.connect();
  try {
    const chunks: Buffer[] = [];
    await pipeline(client.query(copyTo('copy transactions to stdout')), async function* (src: AsyncIterable<Buffer>) {
      for await (const c of src) chunks.push(c);
    });
    return Buffer.concat(chunks);
  } finally {
    client.release();
  }
}

/** PGlite reads a Blob: built before the clock starts, as a socket would be given the bytes. */
type Payload = Buffer | Blob;

async function copyIn(database: Database, client: pg.PoolClient | null, payload: Payload): Promise<void> {
  if (payload instanceof Blob) {
    if (database.kind !== 'pglite') throw new Error('unreachable');
    await database.pglite.query(`copy bench_copy from '/dev/blob'`, [], { blob: payload });
    return;
  }
  await pipeline(Readable.from([payload]), client!.query(copyFrom('copy bench_copy from stdin')));
}

const asPayload = (database: Database, b: Buffer): Payload =>
  database.kind === 'pglite' ? new Blob([new Uint8Array(b.buffer as ArrayBuffer, b.byteOffset, b.length)]) : b;

/** Rows of a COPY text payload grouped by connection (4th column; tabs and newlines in values are escaped). */
function byConnection(payload: Buffer): Buffer[] {
  const groups = new Map<string, string[]>();
  for (const line of payload.toString('utf8').split('\n')) {
    if (!line) continue;
    const key = line.split('\t', 4)[3]!;
    let g = groups.get(key);
    if (!g) groups.set(key, g = []);
    g.push(line);
  }
  return [...groups.values()].map((lines) => Buffer.from(`${lines.join('\n')}\n`));
}

export async function copyFloor(database: Database): Promise<CopyFloor> {
  const payload = await exportTransactions(database);
  const rows = payload.toString('utf8').split('\n').filter(Boolean).length;
  const wholePayload = asPayload(database, payload);
  const parts = byConnection(payload).map((b) => asPayload(database, b));
  await database.db.execute(sql`drop table if exists bench_copy`);
  await database.db.execute(sql`create table bench_copy (like transactions including all)`);
  const client = database.kind === 'postgres' ? await database.pool.connect() : null;
  try {
    // Best of three rounds, alternating: a checkpoint or autovacuum landing in one round would
    // otherwise lower the floor and flatter every ratio measured against it.
    const whole: number[] = [];
    const each: number[] = [];
    for (let r = 0; r < COPY_ROUNDS; r++) {
      await database.db.execute(sql`truncate bench_copy`);
      let end = startWindow();
      await copyIn(database, client, wholePayload);
      whole.push(end().seconds);
      await database.db.execute(sql`truncate bench_copy`);
      end = startWindow();
      for (const part of parts) await copyIn(database, client, part);
      each.push(end().seconds);
    }
    return {
      rows, megabytes: round(payload.length / 1e6, 1),
      rowsPerSec: round(rows / Math.min(...whole)), perConnectionRowsPerSec: round(rows / Math.min(...each)),
      roundsRowsPerSec: whole.map((s) => round(rows / s)),
    };
  } finally {
    client?.release();
    await database.db.execute(sql`drop table if exists bench_copy`);
  }
}

export interface NoopFloor {
  jobs: number;
  /** null when the jobs stalled (see `completed`). */
  jobsPerSec: number | null;
  seconds: number;
  /** Jobs completed when the wait ended: fewer than `jobs` means they stalled. */
  completed: number;
}

const completedSince = (database: Database, name: string, since: Date, dataLike: string) => scalar(database.db,
  sql`select count(*)::int as n from pgboss.job where name = ${name} and created_on >= ${since.toISOString()}::timestamptz and state = 'completed' and data->>'jobId' like ${dataLike}`);

async function waitCompleted(count: () => Promise<number>, jobs: number, stallSeconds: number, started: number): Promise<number> {
  let done = 0;
  while (Date.now() - started < stallSeconds * 1000) {
    done = await count();
    if (done >= jobs) break;
    await sleep(20);
  }
  return done;
}

/**
 * Delivery floor: jobs sent exactly as Causeway enqueues a job (core.queue.enqueue, `width`
 * senders at once) onto the real `connection-job` queue and run by Causeway's own worker wiring
 * (src/jobs/queue.ts, whatever its settings are today), for job ids that have no Causeway row: the
 * handler looks the id up, finds nothing and returns. So: pg-boss send + fetch + complete, one
 * primary-key lookup, and Causeway's worker loop. Timed until pg-boss marks the last completed;
 * at most `stallSeconds`.
 */
export async function deliveryFloor(core: Core, opts: { jobs: number; width: number; stallSeconds: number }): Promise<NoopFloor> {
  const since = new Date(Date.now() - 1000);
  const tag = `noop_${randomUUID().slice(0, 8)}`;
  await analyze(core.db);
  const end = startWindow();
  const t0 = Date.now();
  await inParallel(Array.from({ length: opts.jobs }, (_, i) => i), opts.width, async (i) => {
    await core.queue.enqueue({ id: `${tag}_${i}`, queueJobId: randomUUID() });
  });
  const done = await waitCompleted(() => completedSince(core.database, CONNECTION_JOB_QUEUE, since, `${tag}_%`), opts.jobs, opts.stallSeconds, t0);
  const w = end();
  return { jobs: opts.jobs, jobsPerSec: done >= opts.jobs ? round(opts.jobs / w.seconds) : null, seconds: round(w.seconds, 2), completed: done };
}

/**
 * pg-boss's own best: a separate queue configured like `connection-job`, jobs inserted 1000 at a
 * time, worked in batches of 100 with burstWhenBatchFull (fetch again at once while batches are full).
 */
export async function batchedFloor(database: Database, boss: PgBoss, opts: { jobs: number; localConcurrency: number; stallSeconds: number }): Promise<NoopFloor> {
  const name = `bench-noop-batched-${opts.localConcurrency}`;
  await boss.createQueue(name, QUEUE_LIKE_CONNECTION_JOB);
  const workerId = await boss.work(name, { localConcurrency: opts.localConcurrency, batchSize: 100, pollingIntervalSeconds: 1, burstWhenBatchFull: true }, async () => {});
  try {
    await analyze(database.db);
    const since = new Date(Date.now() - 1000);
    const end = startWindow();
    const t0 = Date.now();
    for (let i = 0; i < opts.jobs; i += 1000) {
      await boss.insert(name, Array.from({ length: Math.min(1000, opts.jobs - i) }, (_, j) => ({ data: { jobId: `b_${i + j}` } })));
    }
    const done = await waitCompleted(() => completedSince(database, name, since, 'b_%'), opts.jobs, opts.stallSeconds, t0);
    const w = end();
    return { jobs: opts.jobs, jobsPerSec: done >= opts.jobs ? round(opts.jobs / w.seconds) : null, seconds: round(w.seconds, 2), completed: done };
  } finally {
    await boss.offWork(name, { id: workerId, wait: true }).catch(() => {});
    await boss.deleteQueue(name).catch(() => {});
  }
}

/** Options of the `connection-job` queue (src/jobs/queue.ts) with the benchmark's zero retry delay. */
const QUEUE_LIKE_CONNECTION_JOB = {
  policy: 'standard' as const, retryLimit: 3, retryDelay: 0, retryBackoff: false, heartbeatSeconds: 30, expireInSeconds: 3600, notify: true,
};
