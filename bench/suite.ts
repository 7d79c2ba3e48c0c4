/**
 * Every measurement on ONE database, in its own process (so resident memory is that database's
 * alone). bench/run.ts starts one per database and reads the JSON this writes to --out.
 *
 *   initial sync, sandbox (N connections, jobConcurrency 16) ─► COPY floor on the same rows
 *   ─► initial sync, precomputed provider (N more) ─► ingestion core alone ─► API read latency
 *   ─► for each jobConcurrency c: refresh the first N (sandbox), no-op floors (real queue, pg-boss one at a time, pg-boss batched),
 *      refresh them again (precomputed provider); the sandbox test clock moves a day before each round
 *   ─► refresh with a provider that takes 500 ms a call: 400 connections refreshed again as each ends, one worker at jobConcurrency 400
 *   ─► scheduler: a simulated day of ticks over 1,000,000 connections (PGlite: 20,000)
 *
 * The webhook phase (100 endpoints × 50 events, beside a bare sign-and-POST loop) runs after this,
 * in a process of its own (bench/run.ts, bench/webhooks-only.ts), and its result is added here.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { systemClock } from '../src/domain/clock.js';
import { createSandboxProvider } from '../src/providers/sandbox/index.js';
import { ensureDefaultApplication } from '../src/services/applications.js';
import { apiReads, DEFAULT_API_LOAD, type ApiReadResult } from './api.js';
import type { IdleMemoryResult } from './idle-memory.js';
import { openBenchDatabase, startCore, type DbKind } from './db.js';
import { batchedFloor, copyFloor, deliveryFloor, type CopyFloor, type NoopFloor } from './floors.js';
import { singleFetchFloor } from './queue-floor.js';
import { latencyConnections, latencyRound, slowProvider, type LatencyResult } from './latency.js';
import { benchLogin, ingestionCore, initialSync, INSTITUTION, PASSWORD, type IngestionCoreResult, type InitialSyncResult } from './ingestion.js';
import { countQueries, log, round, sampleMemory } from './measure.js';
import { precomputed } from './provider.js';
import { refreshRound, type RefreshResult } from './refresh.js';
import type { WebhookResult } from './webhooks.js';
import { schedulerDay, type SchedulerResult } from './scheduler.js';

/** Causeway's default CAUSEWAY_JOB_CONCURRENCY, used for the initial sync. */
const DEFAULT_CONCURRENCY = 16;
/** How long a no-op floor may take before it is reported as stalled. */
const NOOP_STALL_SECONDS = 8;
/** The provider-latency phase runs this long, and counts refreshes after the first LATENCY_WARM_SECONDS. */
const LATENCY_SECONDS = 25;
const LATENCY_WARM_SECONDS = 8;
/** PGlite runs the scheduler's day over fewer rows: its one thread makes a day of ticks over 100,000 take minutes. */
const PGLITE_SCHEDULER_CONNECTIONS = 20_000;

export interface SuiteOptions {
  connections: number;
  coreConnections: number;
  concurrency: number[];
  noopJobs: number;
  /** Seconds of each measured API load round (after a warm-up; floor and Causeway interleaved, twice). */
  apiSeconds: number;
  /** API clients calling at once (creates, refreshes, no-op sends). */
  width: number;
  /** Connections the scheduler's simulated day runs over (PGlite: at most 20,000). */
  schedulerConnections: number;
  /** The provider-latency phase: connections refreshed over and over, the latency of each call, the worker's job concurrency (0 connections: skipped). */
  latencyConnections: number;
  latencyMs: number;
  latencyConcurrency: number;
}

type Sync = Omit<InitialSyncResult, 'synced'> & { providerMisses?: number };
type Refresh = RefreshResult & { providerMisses?: number };

export interface SuiteResult {
  db: DbKind;
  /** The code measured (git HEAD, and src files changed since): src may change between suites. */
  code: string;
  version: string;
  options: SuiteOptions;
  initialSync?: Sync;
  initialSyncPrecomputed?: Sync;
  copy?: CopyFloor;
  ingestionCore?: IngestionCoreResult;
  apiReads?: ApiReadResult;
  webhooks?: WebhookResult;
  scheduler?: SchedulerResult;
  rounds: { jobConcurrency: number; refresh?: Refresh; refreshPrecomputed?: Refresh; noop?: NoopFloor; noopSingle?: NoopFloor; noopBatched?: NoopFloor }[];
  /** Refreshes against a provider that takes `latencyMs` a call, one worker keeping hundreds in flight (bench/latency.ts). */
  latency?: LatencyResult;
  /**
   * Resident memory (MB), after a full GC where the process was started with --expose-gc (run.ts does):
   * after the first initial sync (the server with N synced connections), and at the end with the
   * core stopped. Peaks include the benchmark's own data (precomputed answers, the COPY payload).
   */
  memory?: { afterSyncMb: number; heapAfterSyncMb: number; peakDuringSyncMb: number; endMb: number; peakMb: number; maxRssMb: number };
  /** The real `causeway start` at rest, per role (bench/idle-memory.ts; run.ts adds it after the suite). */
  idleMemory?: IdleMemoryResult[];
  errors: string[];
  seconds: number;
}

function gitState(): string {
  try {
    const git = (...args: string[]) => execFileSync('git', args, { encoding: 'utf8' });
    const dirty = git('status', '--porcelain', '--', 'src').split('\n').filter(Boolean).map((l) => l.slice(3));
    return `${git('rev-parse', '--short', 'HEAD').trim()}${dirty.length ? ` + uncommitted ${dirty.join(', ')}` : ''}`;
  } catch {
    return 'unknown';
  }
}

function rssMb(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return Math.round(process.memoryUsage().rss / 1e6);
}

async function runSuite(kind: DbKind, opts: SuiteOptions): Promise<SuiteResult> {
  const t0 = Date.now();
  const memory = sampleMemory();
  const bench = await openBenchDatabase(kind);
  const { database } = bench;
  const result: SuiteResult = { db: kind, code: gitState(), version: bench.version, options: opts, rounds: [], errors: [], seconds: 0 };
  const phase = async <T>(name: string, fn: () => Promise<T>): Promise<T | undefined> => {
    const started = Date.now();
    try {
      const value = await fn();
      log(`[${kind}] ${name} (${((Date.now() - started) / 1000).toFixed(1)} s): ${JSON.stringify(value, (k, v) => (k === 'synced' ? undefined : v))}`);
      return value;
    } catch (err) {
      result.errors.push(`${name}: ${(err as Error).message}`);
      log(`[${kind}] ${name} FAILED: ${(err as Error).stack}`);
      return undefined;
    }
  };
  const withoutSynced = ({ synced: _, ...rest }: InitialSyncResult): Sync => rest;
  try {
    countQueries(database);
    const n = opts.connections;
    let running = await startCore(database, DEFAULT_CONCURRENCY);
    const { application } = await ensureDefaultApplication(running.core.db, systemClock);
    const tenant = { application };

    const sync = await phase(`initial sync, ${n} connections`, () => initialSync(running.core, tenant, Array.from({ length: n }, (_, i) => benchLogin(i)), opts.width));
    const synced = sync?.synced ?? [];
    const afterSyncMb = rssMb();
    const heapAfterSyncMb = Math.round(process.memoryUsage().heapUsed / 1e6);
    const peakDuringSyncMb = memory.peakMb();
    if (sync) {
      result.initialSync = withoutSynced(sync);
      result.copy = await phase('COPY floor', () => copyFloor(database));
    }
    await running.stop();

    const pre = precomputed(createSandboxProvider({ latencyMs: 0 }));
    const moreLogins = Array.from({ length: n }, (_, i) => benchLogin(n + i));
    await pre.warmInitial(INSTITUTION, moreLogins, PASSWORD, systemClock.now());
    running = await startCore(database, DEFAULT_CONCURRENCY, pre.provider);
    const syncPre = await phase(`initial sync, ${n} connections, precomputed provider`, () => initialSync(running.core, tenant, moreLogins, opts.width));
    if (syncPre) result.initialSyncPrecomputed = { ...withoutSynced(syncPre), providerMisses: pre.stats.misses };

    result.ingestionCore = await phase('ingestion core', () => ingestionCore(running.core, tenant, opts.coreConnections, [1, 4]));
    if (synced.length > 0) {
      result.apiReads = await phase('API reads under load', () => apiReads(running.core, application, synced.map((s) => s.userId), { ...DEFAULT_API_LOAD, seconds: opts.apiSeconds }));
    }
    await running.stop();

    let day = 0;
    for (const c of opts.concurrency) {
      const entry: SuiteResult['rounds'][number] = { jobConcurrency: c };
      result.rounds.push(entry);
      running = await startCore(database, c);
      const boss = running.core.queue.boss;
      if (synced.length > 0) {
        day++;
        entry.refresh = await phase(`refresh, jobConcurrency ${c}`, () => refreshRound(running.core, application.id, synced, { day, width: opts.width }));
      }
      entry.noop = await phase(`no-op delivery floor, jobConcurrency ${c}`,
        () => deliveryFloor(running.core, { jobs: opts.noopJobs, width: opts.width, stallSeconds: NOOP_STALL_SECONDS }));
      entry.noopSingle = await phase(`pg-boss one job at a time floor, localConcurrency ${c}`,
        () => singleFetchFloor(database, boss, { jobs: opts.noopJobs, width: opts.width, localConcurrency: c, stallSeconds: NOOP_STALL_SECONDS }));
      entry.noopBatched = await phase(`pg-boss batched floor, localConcurrency ${c}`,
        () => batchedFloor(database, boss, { jobs: opts.noopJobs * 5, localConcurrency: c, stallSeconds: NOOP_STALL_SECONDS }));
      await running.stop();
      if (synced.length === 0) continue;
      const preRefresh = precomputed(createSandboxProvider({ latencyMs: 0 }));
      running = await startCore(database, c, preRefresh.provider);
      // One untimed round first: a worker that has run a while, each of its server connections
      // past its first plans (five a statement) and its catalogue caches filled, as the no-op
      // floor's core is after the sandbox round above. Timed cold, the 150 jobs of a round paid
      // that start-up (about 2 ms of the database's time a job, BENCHMARKS.md) and the floor did not.
      const preRound = (name: string) => phase(name, () => refreshRound(running.core, application.id, synced, {
        day: ++day, width: opts.width,
        beforeStart: (now) => preRefresh.warmRefresh(running.core.db, application.id, INSTITUTION, synced, PASSWORD, now),
      }));
      await preRound(`refresh, jobConcurrency ${c}, precomputed provider, warm-up (untimed)`);
      const r = await preRound(`refresh, jobConcurrency ${c}, precomputed provider`);
      if (r) entry.refreshPrecomputed = { ...r, providerMisses: preRefresh.stats.misses };
      await running.stop();
    }
    if (opts.latencyConnections > 0) {
      const slow = slowProvider(opts.latencyMs);
      running = await startCore(database, opts.latencyConcurrency, slow);
      result.latency = await phase(`refresh with ${opts.latencyMs} ms provider latency, ${opts.latencyConnections} connections`, async () => {
        const connections = await latencyConnections(running.core, tenant, opts.latencyConnections);
        await slow.warm(connections.map((c) => c.login), running.core.clock.now());
        return latencyRound(running.core, tenant, connections, { latencyMs: opts.latencyMs, seconds: LATENCY_SECONDS, warmSeconds: LATENCY_WARM_SECONDS, width: opts.width * 2 });
      });
      await running.stop();
    }
    const scheduled = kind === 'postgres' ? opts.schedulerConnections : Math.min(opts.schedulerConnections, PGLITE_SCHEDULER_CONNECTIONS);
    result.scheduler = await phase(`scheduler, ${scheduled} connections over a day`, () => schedulerDay(database, scheduled, { chart: kind === 'postgres' }));
    result.memory = { afterSyncMb, heapAfterSyncMb, peakDuringSyncMb, endMb: rssMb(), peakMb: memory.peakMb(), maxRssMb: round(process.resourceUsage().maxRSS / 1e3) };
  } finally {
    memory.stop();
    await bench.close();
  }
  result.seconds = round((Date.now() - t0) / 1000, 1);
  return result;
}

const { values } = parseArgs({
  options: {
    db: { type: 'string' }, out: { type: 'string' }, connections: { type: 'string' }, 'core-connections': { type: 'string' },
    concurrency: { type: 'string' }, 'noop-jobs': { type: 'string' }, 'api-seconds': { type: 'string' }, width: { type: 'string' },
    'scheduler-connections': { type: 'string' },
    'latency-connections': { type: 'string' }, 'latency-ms': { type: 'string' }, 'latency-concurrency': { type: 'string' },
  },
});
const kind = values.db as DbKind;
if (kind !== 'pglite' && kind !== 'postgres') throw new Error('--db must be pglite or postgres');
const opts: SuiteOptions = {
  connections: Number(values.connections ?? 150),
  coreConnections: Number(values['core-connections'] ?? 40),
  concurrency: (values.concurrency ?? '8,16,32').split(',').map(Number),
  noopJobs: Number(values['noop-jobs'] ?? 1000),
  apiSeconds: Number(values['api-seconds'] ?? DEFAULT_API_LOAD.seconds),
  width: Number(values.width ?? 8),
  schedulerConnections: Number(values['scheduler-connections'] ?? 1_000_000),
  latencyConnections: Number(values['latency-connections'] ?? 400),
  latencyMs: Number(values['latency-ms'] ?? 500),
  latencyConcurrency: Number(values['latency-concurrency'] ?? 400),
};
const result = await runSuite(kind, opts);
if (values.out) fs.writeFileSync(values.out, JSON.stringify(result, null, 2));
else process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
process.exit(0); // pg-boss and pino timers must not hold the process open
