/**
 * Where a refresh's database time goes, on PostgreSQL: N connections synced, then R refresh rounds
 * with precomputed provider answers (bench/provider.ts), with pg_stat_statements reset before the
 * rounds and read after, per job. Needs pg_stat_statements in shared_preload_libraries (the
 * extension is created in the bench database); without it only the CPU figures are printed.
 *
 *   npx tsx bench/refresh-sql.ts [--connections 150] [--rounds 3] [--concurrency 16] [--top 25] [--fresh-connections] [--plans] [--profile FILE]
 *
 * `--profile FILE`: this process's CPU profile of the last round's refreshes (a .cpuprofile, for
 * Chrome's DevTools), from the round's clock starting to its last job ending.
 *
 * `--plans`: after the rounds, each named prepared statement's generic and custom plans, summed over
 * the pool's server connections (bench/statements.ts printPlanChoices).
 *
 * `--fresh-connections`: the refresh rounds on new server connections, as a worker restarted after
 * the first syncs has (each connection's plan cache remembers the custom plans made there: see
 * src/db/predicates.ts `opaque`).
 *
 * PostgreSQL's CPU per job is the whole machine's busy time less this process's, over the rounds'
 * window: on a machine running nothing else that is the database server. That window holds each
 * round's warm-up too (the precomputed answers read every connection's window first), so the figure
 * to compare is the last one printed: the backends' CPU over each round's own window, which opens
 * after its warm-up (bench/refresh.ts).
 */
import fs from 'node:fs';
import { Session } from 'node:inspector/promises';
import { parseArgs } from 'node:util';
import { systemClock } from '../src/domain/clock.js';
import { createSandboxProvider } from '../src/providers/sandbox/index.js';
import { ensureDefaultApplication } from '../src/services/applications.js';
import { openBenchDatabase, startCore } from './db.js';
import { benchLogin, INSTITUTION, initialSync, PASSWORD } from './ingestion.js';
import { countQueries, round, startWindow } from './measure.js';
import { precomputed } from './provider.js';
import { refreshRound } from './refresh.js';
import { startPgCpu } from './pg-cpu.js';
import { printPlanChoices, printStatements, resetStatements } from './statements.js';

const { values } = parseArgs({ options: {
  connections: { type: 'string' }, rounds: { type: 'string' }, concurrency: { type: 'string' }, top: { type: 'string' }, 'fresh-connections': { type: 'boolean' }, plans: { type: 'boolean' },
  profile: { type: 'string' },
} });
const n = Number(values.connections ?? 150);
const rounds = Number(values.rounds ?? 3);
const concurrency = Number(values.concurrency ?? 16);
const top = Number(values.top ?? 25);

const bench = await openBenchDatabase('postgres');
const { database } = bench;
try {
  countQueries(database);
  const pre = precomputed(createSandboxProvider({ latencyMs: 0 }));
  const logins = Array.from({ length: n }, (_, i) => benchLogin(i));
  await pre.warmInitial(INSTITUTION, logins, PASSWORD, systemClock.now());
  let running = await startCore(database, concurrency, pre.provider);
  const { application } = await ensureDefaultApplication(running.core.db, systemClock);
  const sync = await initialSync(running.core, { application }, logins, 8);
  await running.stop();
  if (values['fresh-connections'] && database.kind === 'postgres') {
    // As a worker restarted after the first syncs: its server connections, and their plan caches, are new.
    const clients = await Promise.all(Array.from({ length: database.pool.totalCount }, () => database.pool.connect()));
    clients.forEach((c) => c.release(true));
  }
  const synced = sync.synced;
  console.log(`initial sync: ${sync.transactions} transactions, ${sync.txnPerSec} txn/s`);

  const refresh = precomputed(createSandboxProvider({ latencyMs: 0 }));
  running = await startCore(database, concurrency, refresh.provider);
  const statements = await resetStatements(database.db);
  const end = startWindow();
  const pgCpu = await startPgCpu(database.db);
  let jobs = 0;
  let roundsCpuMs = 0;
  const perRound: number[] = [];
  for (let day = 1; day <= rounds; day++) {
    const profiler = values.profile && day === rounds ? new Session() : null;
    const r = await refreshRound(running.core, application.id, synced, {
      day, width: 8,
      around: profiler ? {
        start: async () => { profiler.connect(); await profiler.post('Profiler.enable'); await profiler.post('Profiler.start'); },
        stop: async () => fs.writeFileSync(values.profile!, JSON.stringify((await profiler.post('Profiler.stop')).profile)),
      } : undefined,
      beforeStart: (now) => refresh.warmRefresh(running.core.db, application.id, INSTITUTION, synced, PASSWORD, now),
    });
    jobs += r.jobs;
    roundsCpuMs += (r.dbCpuMsPerJob ?? 0) * r.jobs;
    perRound.push(r.jobsPerSec);
  }
  const w = end();
  const backendMs = await pgCpu();
  if (values.plans && database.kind === 'postgres') await printPlanChoices(database.pool, top || 25);
  await running.stop();
  const pgCpuMs = (((w.machineCpu ?? 0) - w.processCpu) * w.seconds * 1000) / jobs;
  console.log(`refresh: ${jobs} jobs, jobs/s per round ${perRound.join(', ')} (warm-up included in the window), misses ${refresh.stats.misses}`);
  console.log(`window ${round(w.seconds, 2)} s, machine ${w.machineCpu} cores, node ${w.processCpu} cores: machine less node ≈ ${round(pgCpuMs, 1)} ms per job; the database's backends ${backendMs === null ? 'n/a' : round(backendMs / jobs, 2)} ms CPU per job; ${round(w.appQueries / jobs, 1)} + ${round(w.otherQueries / jobs, 1)} statements per job (app + pg-boss, warm-up reads included)`);
  // The figure to compare: each round's own window opens after its warm-up (bench/refresh.ts), so it holds the refreshes alone.
  console.log(`refreshes alone (each round's window, without the warm-up's reads): the database's backends ${round(roundsCpuMs / jobs, 2)} ms CPU per job`);
  if (statements) await printStatements(database.db, jobs, top);
} finally {
  await bench.close();
}
process.exit(0);
