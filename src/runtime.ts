/**
 * The composition root: builds the core from the configuration and starts the roles a process
 * plays (`api`, `worker`, or both). Everything else receives its dependencies from here.
 */
import pino from 'pino';
import type { FastifyInstance } from 'fastify';
import type { Config } from './config.js';
import { systemClock, type Clock } from './domain/clock.js';
import { openDatabase, runMigrations, type Database } from './db/open.js';
import { embeddedDatabaseExists, pendingMigrations, pingDatabase } from './db/status.js';
import { databaseLabel as whereDatabase } from './db/where.js';
import { deleteExpiredAccess } from './db/repos/access.js';
import { deleteExpiredIdempotencyKeys } from './db/repos/idempotency.js';
import { findStaleQueuedJobs } from './db/repos/jobs.js';
import { buildApp } from './http/app.js';
import { listenForMetrics } from './http/observability.js';
import { loggerOptions } from './logging.js';
import { IDEMPOTENCY_TTL_MS } from './services/idempotency.js';
import { runConnectionJob } from './services/sync/run.js';
import { createQueue } from './jobs/queue.js';
import { builtInProviders, createRegistry } from './providers/registry.js';
import type { Provider } from './providers/types.js';
import type { Core } from './services/core.js';
import { syncCatalogue, syncCatalogues } from './services/catalogue.js';
import { SANDBOX_PROVIDER_ID } from './providers/sandbox/index.js';
import { createCipher, resolveEncryptionKey } from './services/crypto.js';
import { expireMfa } from './services/jobs.js';
import { resumeStalledImports, runImportBatchJob } from './services/imports.js';
import { applyDueRules } from './services/due.js';
import { flushPermitReturns } from './services/limits.js';
import { startWebhookWorker } from './jobs/webhook-worker.js';
import { runSchedulerTick, SCHEDULER_TICK_MS, TICK_LIMIT } from './services/scheduler.js';

export type Role = 'api' | 'worker' | 'all';

export interface CoreOverrides {
  clock?: Clock;
  /** Replace the built-in provider of the same id (tests pass a scripted sandbox), or add one. */
  provider?: Provider;
  providers?: Provider[];
  database?: Database;
  /** Tests pass a quiet logger. */
  logLevel?: Config['logLevel'];
  /** Told each start-up step as it runs (the CLI prints them); silent when absent. */
  progress?: StartProgress;
}

/**
 * A start-up step, reported as it runs: `what` is a short phrase ("Applying 15 database
 * migrations"), `run` the work. The reporter must return run's result and rethrow its error.
 */
export interface StartProgress {
  step<T>(what: string, run: () => Promise<T>): Promise<T>;
}

/** Steps run without a word (tests, and the CLI's commands that print nothing while starting). */
export const silentProgress: StartProgress = { step: (_what, run) => run() };

/** Where the configuration's database is, for a person (never the user or the password). */
export const databaseLabel = (config: Config) => whereDatabase(config.databaseUrl, config.dataDir);

/** Opens the database the configuration names and checks that it answers, closing it again if it does not. */
export async function openDatabaseChecked(config: Config, progress: StartProgress = silentProgress, opts: { poolSize?: number } = {}): Promise<Database> {
  const fresh = !config.databaseUrl && !embeddedDatabaseExists(config.dataDir);
  const what = config.databaseUrl ? `Connecting to ${databaseLabel(config)}`
    : fresh ? `Creating ${databaseLabel(config)} (first start only)` : `Opening ${databaseLabel(config)}`;
  return progress.step(what, async () => {
    const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: opts.poolSize });
    try {
      await pingDatabase(database.db);
      return database;
    } catch (err) {
      await database.close().catch(() => {});
      throw err;
    }
  });
}

/** Applies the migrations this code has and the database lacks, naming how many when there are some. */
export async function migrate(database: Database, progress: StartProgress = silentProgress): Promise<{ applied: number; total: number }> {
  const { pending, total } = await pendingMigrations(database);
  if (pending === 0) {
    await runMigrations(database); // finds nothing to do; kept so the migrator, not this count, has the last word
    return { applied: 0, total };
  }
  await progress.step(`Applying ${pending} database migration${pending === 1 ? '' : 's'}`, () => runMigrations(database));
  return { applied: pending, total };
}

/**
 * Stops the job queue (the jobs in flight end first, jobs/queue.ts) and writes the
 * institution places they gave back (services/limits.ts), before the database is closed.
 */
export async function stopJobs(core: Core): Promise<void> {
  try {
    await core.queue.stop();
  } finally {
    await flushPermitReturns(core);
  }
}

export async function createCore(config: Config, overrides: CoreOverrides = {}): Promise<Core> {
  const log = pino(loggerOptions(overrides.logLevel ?? config.logLevel));
  const progress = overrides.progress ?? silentProgress;
  // PostgreSQL needs the shared key: say so before connecting anywhere (embedded, it is made after the lock is taken).
  if (!overrides.database && config.databaseUrl) resolveEncryptionKey({ envKey: config.encryptionKey, dataDir: config.dataDir, embedded: false });
  const database = overrides.database ?? await openDatabaseChecked(config, progress);
  try {
    await migrate(database, progress);
    const key = resolveEncryptionKey({ envKey: config.encryptionKey, dataDir: config.dataDir, embedded: database.kind === 'pglite' });
    const queue = await progress.step('Starting the job queue', () => createQueue(database, {
      retryLimit: config.retryLimit, retryDelaySeconds: config.retryDelaySeconds,
      heartbeatSeconds: config.jobHeartbeatSeconds, concurrency: config.jobConcurrency,
    }, (err) => log.warn({ err: { message: err.message } }, 'queue error')));
    const core: Core = {
      config, database, db: database.db, cipher: createCipher(key), log, queue, listeningUrl: null,
      providers: createRegistry(builtInProviders({ sandboxLatencyMs: config.sandboxLatencyMs }, [
        ...(overrides.provider ? [overrides.provider] : []), ...(overrides.providers ?? []),
      ])),
      clock: overrides.clock ?? systemClock,
      publicUrl: () => config.publicUrl ?? core.listeningUrl ?? `http://${config.host}:${config.port}`,
    };
    // The sandbox's institutions are part of the code: written on every start, so the catalogue matches it.
    try {
      await progress.step('Writing the sandbox institutions', () => syncCatalogue(core, SANDBOX_PROVIDER_ID));
    } catch (err) {
      await queue.stop().catch(() => {});
      throw err;
    }
    return core;
  } catch (err) {
    await database.close().catch(() => {});
    throw err;
  }
}

/**
 * Delivery lost between a commit and its send (a crash) is found here and sent again; time-based
 * rules (services/due.ts) run here too, and expired client tokens, operator sessions and idempotency keys are forgotten.
 */
const SWEEP_INTERVAL_MS = 30_000;
const SWEEP_AGE_MS = 30_000;

export async function startWorker(core: Core): Promise<() => Promise<void>> {
  await core.queue.work({
    connectionJob: (msg, attempt) => runConnectionJob(core, msg.jobId, attempt),
    mfaTimeout: (msg) => expireMfa(core, msg.jobId),
    importBatch: (msg, signal) => runImportBatchJob(core, msg.batchId, signal),
  });
  const sweep = async () => {
    const stale = await findStaleQueuedJobs(core.db, new Date(core.clock.now().getTime() - SWEEP_AGE_MS), 500);
    for (const job of stale) await core.queue.enqueue(job);
    await applyDueRules(core);
    await resumeStalledImports(core);
    await deleteExpiredAccess(core.db, new Date(core.clock.now().getTime() - 3_600_000));
    await deleteExpiredIdempotencyKeys(core.db, new Date(Date.now() - IDEMPOTENCY_TTL_MS));
  };
  await sweep().catch((err) => core.log.warn({ err }, 'sweep failed'));
  const timer = setInterval(() => { sweep().catch((err) => core.log.warn({ err }, 'sweep failed')); }, SWEEP_INTERVAL_MS);
  timer.unref();
  const webhooks = await startWebhookWorker(core);
  // The catalogues: an empty one is filled at start, all are refreshed every CAUSEWAY_CATALOGUE_SYNC_HOURS.
  let cataloguing: Promise<unknown> | null = null;
  const catalogue = (all: boolean) => {
    if (cataloguing) return;
    cataloguing = syncCatalogues(core, { all })
      .then((done) => { if (done.length > 0) core.log.info({ synced: done }, 'institutions catalogue synced'); })
      .catch((err) => core.log.warn({ err }, 'institutions catalogue sync failed; the next one tries again'))
      .finally(() => { cataloguing = null; });
  };
  catalogue(false);
  const catalogueTimer = core.config.catalogueSyncHours > 0 ? setInterval(() => catalogue(true), core.config.catalogueSyncHours * 3_600_000) : null;
  catalogueTimer?.unref();
  // One tick at a time: a long backlog is worked through by the tick that found it, and the next interval skips.
  let ticking: Promise<void> | null = null;
  let stopping = false;
  const tick = () => {
    if (ticking || stopping) return;
    ticking = (async () => {
      while ((await runSchedulerTick(core)) >= TICK_LIMIT && !stopping) { /* more is due: take it now */ }
    })().catch((err) => core.log.warn({ err }, 'scheduler tick failed')).finally(() => { ticking = null; });
  };
  const scheduler = core.config.backgroundRefresh ? setInterval(tick, SCHEDULER_TICK_MS) : null;
  if (scheduler) {
    tick();
    scheduler.unref();
  }
  return async () => {
    clearInterval(timer);
    if (scheduler) clearInterval(scheduler);
    if (catalogueTimer) clearInterval(catalogueTimer);
    stopping = true;
    await ticking;
    await cataloguing;
    await webhooks.stop();
  };
}

export interface Running {
  core: Core;
  app: FastifyInstance | null;
  url: string | null;
  /** Where /metrics is served on its own port (CAUSEWAY_METRICS_PORT), if it is. */
  metricsUrl: string | null;
  stop(): Promise<void>;
}

export async function start(config: Config, role: Role, overrides: CoreOverrides = {}): Promise<Running> {
  const core = await createCore(config, overrides);
  const progress = overrides.progress ?? silentProgress;
  let app: FastifyInstance | null = null;
  let stopWorker: (() => Promise<void>) | null = null;
  let url: string | null = null;
  // Its own port, for every role: the only way a worker, which serves no API, is scraped.
  const metrics = config.metrics.enabled && config.metrics.port !== null ? await listenForMetrics(core).catch(async (err) => {
    await stopJobs(core).catch(() => {});
    await core.database.close();
    throw err;
  }) : null;
  try {
    if (role !== 'api') stopWorker = await progress.step(`Starting the worker (${config.jobConcurrency} job slots)`, () => startWorker(core));
    if (role !== 'worker') {
      const listening = await progress.step(`Starting the API on ${config.host}:${config.port}`, async () => {
        const built = await buildApp(core);
        try {
          return { app: built, url: await built.listen({ port: config.port, host: config.host }) };
        } catch (err) {
          await built.close().catch(() => {});
          throw err;
        }
      });
      app = listening.app;
      url = listening.url;
      core.listeningUrl = url;
    }
  } catch (err) {
    await metrics?.app.close();
    if (stopWorker) await stopWorker().catch(() => {});
    await stopJobs(core).catch(() => {});
    await core.database.close();
    throw err;
  }
  let stopped = false;
  return {
    core, app, url, metricsUrl: metrics?.url ?? null,
    async stop() {
      if (stopped) return;
      stopped = true;
      if (app) await app.close();
      await metrics?.app.close();
      if (stopWorker) await stopWorker();
      await stopJobs(core);
      await core.database.close();
    },
  };
}
