/**
 * The initial sync with precomputed answers alone, beside its COPY floor, on a fresh PostgreSQL
 * database: for comparing ingestion changes side by side without the whole suite. `--sandbox`:
 * answered by the sandbox itself, its simulator running on this thread, as the suite's first sync.
 *
 *   npx tsx bench/sync-only.ts [--connections 150] [--rounds 2] [--concurrency 16] [--top N] [--sandbox]
 *
 * Each round syncs `connections` new connections (8 API clients creating them, the worker at
 * `concurrency`) and then loads the rows stored so far with COPY (bench/floors.ts), so the two are
 * measured one after the other on the same machine. It prints txn/s, the ratio, and the CPU per
 * stored row of this process (and the kernel's part of it, `nodeSystem`) and of the database's backends, beside the
 * backends' CPU a row loaded by the floor (`copyPostgresUsPerRow`: its export included, so a little high); `--top N`: pg_stat_statements over the
 * last round's sync, per connection; `--profile FILE`: this process's CPU profile of the last round's
 * sync (a .cpuprofile, for Chrome's DevTools).
 */
import fs from 'node:fs';
import { Session } from 'node:inspector/promises';
import { parseArgs } from 'node:util';
import { systemClock } from '../src/domain/clock.js';
import { createSandboxProvider } from '../src/providers/sandbox/index.js';
import { ensureDefaultApplication } from '../src/services/applications.js';
import { openBenchDatabase, startCore } from './db.js';
import { COPY_LOADS, copyFloor } from './floors.js';
import { benchLogin, initialSync, INSTITUTION, PASSWORD } from './ingestion.js';
import { countQueries, round } from './measure.js';
import { startPgCpu } from './pg-cpu.js';
import { precomputed } from './provider.js';
import { printStatements, resetStatements } from './statements.js';

const { values } = parseArgs({ options: {
  connections: { type: 'string' }, rounds: { type: 'string' }, concurrency: { type: 'string' }, top: { type: 'string' }, profile: { type: 'string' },
  sandbox: { type: 'boolean' },
} });
const n = Number(values.connections ?? 150);
const rounds = Number(values.rounds ?? 2);
const concurrency = Number(values.concurrency ?? 16);
const top = values.top === undefined ? null : Number(values.top);

const bench = await openBenchDatabase('postgres');
const { database } = bench;
try {
  countQueries(database);
  const sandbox = createSandboxProvider({ latencyMs: 0 });
  const pre = values.sandbox ? null : precomputed(sandbox);
  const running = await startCore(database, concurrency, pre ? pre.provider : sandbox);
  const { application } = await ensureDefaultApplication(running.core.db, systemClock);
  for (let r = 0; r < rounds; r++) {
    const logins = Array.from({ length: n }, (_, i) => benchLogin(1 + r * n + i));
    await pre?.warmInitial(INSTITUTION, logins, PASSWORD, systemClock.now());
    const counting = top !== null && r === rounds - 1 && await resetStatements(database.db);
    const pgCpu = await startPgCpu(database.db);
    const profiler = values.profile && r === rounds - 1 ? new Session() : null;
    if (profiler) { profiler.connect(); await profiler.post('Profiler.enable'); await profiler.post('Profiler.start'); }
    const node0 = process.cpuUsage();
    const sync = await initialSync(running.core, { application }, logins, 8);
    const node = process.cpuUsage(node0);
    if (profiler) fs.writeFileSync(values.profile!, JSON.stringify((await profiler.post('Profiler.stop')).profile));
    const backendMs = await pgCpu();
    const copyCpu = await startPgCpu(database.db);
    const copy = await copyFloor(database);
    const copyBackendMs = await copyCpu();
    const perRow = (ms: number) => round((ms * 1000) / sync.transactions, 1);
    console.log(JSON.stringify({
      round: r + 1, transactions: sync.transactions, seconds: round(sync.window.seconds, 2), txnPerSec: sync.txnPerSec,
      copyRowsPerSec: copy.rowsPerSec, copyRows: copy.rows, ratio: round(sync.txnPerSec / copy.rowsPerSec, 2),
      cpuUsPerRow: { node: perRow((node.user + node.system) / 1000), nodeSystem: perRow(node.system / 1000), postgres: backendMs === null ? null : perRow(backendMs) },
      // The floor's backends over its whole run (one export, then COPY_LOADS loads of every row), a row loaded.
      copyPostgresUsPerRow: copyBackendMs === null ? null : round((copyBackendMs * 1000) / (copy.rows * COPY_LOADS), 1),
      machine: sync.window.machineCpu, provider: pre ? 'precomputed' : 'sandbox', misses: pre?.stats.misses ?? null,
    }));
    if (counting) await printStatements(database.db, n, top!);
  }
  await running.stop();
} finally {
  await bench.close();
}
process.exit(0);
