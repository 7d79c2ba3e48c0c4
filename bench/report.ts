/** The printed tables: each figure beside its raw floor, then where each job's time went. */
import { idleTarget, renderIdle } from './idle-memory.js';
import type { WindowResult } from './measure.js';
import type { JobProfile } from './profile.js';
import type { SuiteResult } from './suite.js';

/** The floors the project set for PostgreSQL. */
export const TARGET_COPY_RATIO = 0.6;
/** Refresh (precomputed answers) against Causeway's own no-op queue wiring, and that wiring against pg-boss fetching one job at a time. */
export const TARGET_REFRESH_OVER_WIRING = 0.6;
export const TARGET_WIRING_OVER_PGBOSS = 0.8;
/** One worker, 500 ms a provider call, the pool at its default size. */
export const TARGET_LATENCY_REFRESHES_PER_SEC = 100;
export const TARGET_WEBHOOK_OVER_FLOOR = 0.5;
export const TARGET_WEBHOOK_P99_MS = 1000;
export const TARGET_API_OVER_FLOOR = 0.8;
export const TARGET_REFRESH_JOBS_PER_SEC = 100;
export const TARGET_WEBHOOK_DELIVERIES_PER_SEC = 500;
export const TARGET_SCHEDULER_MAX_OVER_MEAN = 1.2;
export const TARGET_SCHEDULER_TICK_MS = 100;

const num = (n: number | null | undefined, unit = '') =>
  n === null || n === undefined || Number.isNaN(n) ? '–' : `${n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(1)}${unit}`;
const ratio = (a: number | null | undefined, b: number | null | undefined) => (a && b ? `${(a / b).toFixed(2)}×` : '–');

function table(head: string[], rows: string[][]): string[] {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => `  ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')}`.trimEnd();
  return [line(head), `  ${widths.map((w) => '-'.repeat(w)).join('  ')}`, ...rows.map(line)];
}

export function renderSuite(r: SuiteResult): string[] {
  const copy = r.copy?.rowsPerSec;
  const copyCell = `COPY ${num(copy)} rows/s`;
  const rows: string[][] = [];
  const n = r.options.connections;
  if (r.initialSync) rows.push([`initial sync, ${n} connections (sandbox)`, num(r.initialSync.txnPerSec, ' txn/s'), copyCell, ratio(r.initialSync.txnPerSec, copy)]);
  if (r.initialSyncPrecomputed) {
    const s = r.initialSyncPrecomputed;
    rows.push([`initial sync, ${n} connections (precomputed provider)`, num(s.txnPerSec, ' txn/s'), copyCell, ratio(s.txnPerSec, copy)]);
  }
  for (const w of r.ingestionCore?.byWidth ?? []) {
    rows.push([`ingestion core alone, ${w.width} at a time`, num(w.txnPerSec, ' txn/s'), copyCell, ratio(w.txnPerSec, copy)]);
  }
  if (r.copy) rows.push([`COPY, one per connection (${n} COPYs)`, num(r.copy.perConnectionRowsPerSec, ' rows/s'), copyCell, ratio(r.copy.perConnectionRowsPerSec, copy)]);
  if (r.ingestionCore) {
    const ic = r.ingestionCore;
    rows.push(['sandbox answering a create job (no database)', num(ic.sandboxTxnPerSec, ' txn/s'), `${ic.sandboxMsPerConnection} ms CPU a connection`, '']);
  }
  for (const round of r.rounds) {
    const c = round.jobConcurrency;
    const floor = round.noop?.jobsPerSec;
    const floorCell = round.noop ? (floor ? `no-op ${num(floor)} jobs/s` : `no-op stalled (${round.noop.completed}/${round.noop.jobs} in ${round.noop.seconds} s)`) : '';
    if (round.refresh) rows.push([`refresh, jobConcurrency ${c} (sandbox)`, num(round.refresh.jobsPerSec, ' jobs/s'), floorCell, ratio(round.refresh.jobsPerSec, floor)]);
    if (round.refreshPrecomputed) {
      rows.push([`refresh, jobConcurrency ${c} (precomputed provider)`, num(round.refreshPrecomputed.jobsPerSec, ' jobs/s'), floorCell, ratio(round.refreshPrecomputed.jobsPerSec, floor)]);
    }
    if (round.noop && round.noopSingle) {
      rows.push([`Causeway's queue wiring, no-op jobs, jobConcurrency ${c}`, num(floor, ' jobs/s'), `pg-boss alone, one at a time: ${num(round.noopSingle.jobsPerSec)} jobs/s`, ratio(floor, round.noopSingle.jobsPerSec)]);
    }
    if (round.noopBatched) rows.push([`pg-boss alone: no-op batches of 100, localConcurrency ${c}`, num(round.noopBatched.jobsPerSec, ' jobs/s'), '', '']);
  }
  if (r.webhooks) {
    const w = r.webhooks;
    rows.push([`webhooks: ${w.events} events × ${w.endpoints} endpoints (${w.delivered}/${w.deliveries} delivered, ${w.duplicates} twice)`, num(w.deliveriesPerSec, ' deliveries/s'), `commit→delivery p50 ${w.latencyMsP50} ms, p99 ${w.latencyMsP99} ms`, '']);
    rows.push([`webhooks: bare sign-and-POST loop, same payloads, receiver and concurrency`, num(w.floor.deliveriesPerSec, ' deliveries/s'), '', `${w.ratio}×`]);
    rows.push([`webhooks: a test event every 20 ms, one endpoint`, `p50 ${w.trickle.latencyMsP50} ms`, `p99 ${w.trickle.latencyMsP99} ms`, '']);
  }
  if (r.latency) {
    const l = r.latency;
    rows.push([`refresh, ${l.latencyMs} ms a provider call, ${l.connections} connections, jobConcurrency ${l.jobConcurrency}`, num(l.refreshesPerSec, ' refreshes/s'),
      `job p50 ${num(l.jobMsP50)} ms; in flight ${l.inFlightMean} (peak ${l.inFlightPeak}); pool ${l.poolCheckedOutPeak}/${l.poolSize} in use at peak`, '']);
  }
  if (r.scheduler) {
    const s = r.scheduler;
    rows.push([`scheduler: ${s.connections.toLocaleString('en-US')} connections, starts per minute over a day`, `max/mean ${s.perMinute.maxOverMean}, min/mean ${s.perMinute.minOverMean}`, `mean ${s.perMinute.mean} (${s.perMinute.min}..${s.perMinute.max})`, '']);
    rows.push([`scheduler: one tick (a minute's claims)`, `mean ${s.tickMs.mean} ms, p99 ${s.tickMs.p99} ms`, `max ${s.tickMs.max} ms, RSS ${s.rssMb} MB`, '']);
  }
  if (r.apiReads) {
    const a = r.apiReads;
    const c = a.causewayBest;
    const f = a.floorBest;
    rows.push([`GET …/transactions?limit=50, ${a.options.connections} connections, best of ${a.options.rounds} × ${a.options.seconds} s`,
      `${num(c.requestsPerSec, ' req/s')} (p50 ${c.p50Ms} ms, p99 ${c.p99Ms} ms${a.sqlPerRequest !== null ? `, ${a.sqlPerRequest} SQL/req` : ''})`,
      `bare Fastify + ${r.db === 'postgres' ? 'pg' : 'PGlite'}: ${num(f.requestsPerSec, ' req/s')} (p50 ${f.p50Ms} ms)`, `${a.ratio}×`]);
  }
  if (r.memory) {
    const m = r.memory;
    rows.push(['resident memory (RSS) after the sync, after GC', `${m.afterSyncMb} MB`, `JS heap ${m.heapAfterSyncMb} MB`, '']);
    rows.push(['resident memory (RSS), peak / end of suite', `${m.peakMb} / ${m.endMb} MB`, 'incl. bench data', '']);
  }
  return [
    `${r.db}: ${r.version}; code ${r.code}; ${n} connections; suite ${r.seconds} s`,
    ...table(['measure', 'value', 'raw floor', 'ratio'], rows),
    ...(r.idleMemory?.length ? ['', `  idle memory (${r.db}): the real process, \`node bin/causeway.js start\``, ...renderIdle(r.idleMemory)] : []),
    '',
    `  where the time goes (${r.db})`,
    ...table(['phase', 'seconds', 'loop busy', 'node CPU', 'machine CPU', 'SQL/job app+boss', 'DB CPU/job', 'wait p50', 'run p50', 'steps ms: verify/accounts/txns/identity'], timeRows(r)),
  ];
}

function timeRow(name: string, w: WindowResult, p: JobProfile, app: number | null, other: number | null, dbCpuMs: number | null = null): string[] {
  const s = p.stepMsMean;
  return [
    name, w.seconds.toFixed(1), w.eventLoopBusy.toFixed(2), w.processCpu.toFixed(2), w.machineCpu?.toFixed(2) ?? '–',
    app === null ? '–' : `${app}+${other}`, dbCpuMs === null ? '–' : `${dbCpuMs} ms`, `${p.queueWaitMsP50} ms`, `${p.runMsP50} ms`,
    [s['verify-credentials'], s['retrieve-accounts'], s['retrieve-transactions'], s['retrieve-identity']].map((x) => (x === undefined ? '–' : Math.round(x))).join('/'),
  ];
}

function timeRows(r: SuiteResult): string[][] {
  const rows: string[][] = [];
  if (r.initialSync) rows.push(timeRow('initial sync (sandbox)', r.initialSync.window, r.initialSync.profile, r.initialSync.appQueriesPerJob, r.initialSync.otherQueriesPerJob));
  const p = r.initialSyncPrecomputed;
  if (p) rows.push(timeRow('initial sync (precomputed)', p.window, p.profile, p.appQueriesPerJob, p.otherQueriesPerJob));
  for (const round of r.rounds) {
    for (const [label, x] of [['sandbox', round.refresh], ['precomputed', round.refreshPrecomputed]] as const) {
      if (x) rows.push(timeRow(`refresh c=${round.jobConcurrency} (${label})`, x.window, x.profile, x.appQueriesPerJob, x.otherQueriesPerJob, x.dbCpuMsPerJob));
    }
  }
  return rows;
}

export function targets(results: SuiteResult[]): string[] {
  const pg = results.find((r) => r.db === 'postgres');
  if (!pg) return ['Targets are set for PostgreSQL: run with --db postgres or both to check them.'];
  const copy = pg.copy?.rowsPerSec;
  const sync = pg.initialSync?.txnPerSec;
  const best = Math.max(0, ...pg.rounds.map((r) => r.refresh?.jobsPerSec ?? 0));
  const met = (ok: boolean) => (ok ? 'MET' : 'NOT MET');
  const hooks = pg.webhooks?.deliveriesPerSec ?? 0;
  const sch = pg.scheduler;
  return [
    `Target on PostgreSQL, scheduler starts per minute max/mean <= ${TARGET_SCHEDULER_MAX_OVER_MEAN}: ${sch?.perMinute.maxOverMean ?? '–'} over ${sch?.connections ?? 0} connections: ${met(!!sch && sch.perMinute.maxOverMean <= TARGET_SCHEDULER_MAX_OVER_MEAN)}`,
    `Target on PostgreSQL, a scheduler tick over 1,000,000 connections < ${TARGET_SCHEDULER_TICK_MS} ms: p99 ${sch?.tickMs.p99 ?? '–'} ms, max ${sch?.tickMs.max ?? '–'} ms: ${met(!!sch && sch.connections >= 1_000_000 && sch.tickMs.max < TARGET_SCHEDULER_TICK_MS)}`,
    `Target on PostgreSQL, webhooks >= ${TARGET_WEBHOOK_DELIVERIES_PER_SEC} deliveries/s: ${num(hooks)} deliveries/s: ${met(hooks >= TARGET_WEBHOOK_DELIVERIES_PER_SEC)}`,
    `Target on PostgreSQL, initial-sync ingestion >= ${TARGET_COPY_RATIO}× COPY: ${ratio(sync, copy)} (${num(sync)} vs ${num(copy)} rows/s): ${met(!!sync && !!copy && sync / copy >= TARGET_COPY_RATIO)}`,
    `Target on PostgreSQL, refresh >= ${TARGET_REFRESH_JOBS_PER_SEC} jobs/s: best ${num(best)} jobs/s: ${met(best >= TARGET_REFRESH_JOBS_PER_SEC)}`,
    ...issue15Targets(pg, met),
    ...idleTarget(pg.idleMemory ?? []),
  ];
}

/** Refresh, queue wiring, provider latency, webhooks and API reads against the floors beside them in the same run. */
function issue15Targets(pg: SuiteResult, met: (ok: boolean) => string): string[] {
  const lines: string[] = [];
  const bestBy = <T>(pick: (r: SuiteResult['rounds'][number]) => T | undefined, score: (x: T) => number | null) =>
    pg.rounds.map((r) => ({ r, x: pick(r) })).filter((e) => e.x !== undefined && score(e.x as T) !== null)
      .sort((a, b) => score(b.x as T)! - score(a.x as T)!)[0];
  const refresh = bestBy((r) => (r.refreshPrecomputed && r.noop?.jobsPerSec ? r.refreshPrecomputed.jobsPerSec / r.noop.jobsPerSec : undefined), (x) => x);
  if (refresh) {
    const { r } = refresh;
    lines.push(`Target on PostgreSQL, refresh (precomputed) >= ${TARGET_REFRESH_OVER_WIRING}× the no-op queue wiring: best ${ratio(r.refreshPrecomputed!.jobsPerSec, r.noop!.jobsPerSec)} at c=${r.jobConcurrency} (${num(r.refreshPrecomputed!.jobsPerSec)} vs ${num(r.noop!.jobsPerSec)} jobs/s): ${met(refresh.x! >= TARGET_REFRESH_OVER_WIRING)}`);
  }
  const wiring = bestBy((r) => (r.noop?.jobsPerSec && r.noopSingle?.jobsPerSec ? r.noop.jobsPerSec / r.noopSingle.jobsPerSec : undefined), (x) => x);
  if (wiring) {
    const { r } = wiring;
    lines.push(`Target on PostgreSQL, queue wiring >= ${TARGET_WIRING_OVER_PGBOSS}× pg-boss one job at a time: best ${ratio(r.noop!.jobsPerSec, r.noopSingle!.jobsPerSec)} at c=${r.jobConcurrency}: ${met(wiring.x! >= TARGET_WIRING_OVER_PGBOSS)}`);
  }
  if (pg.latency) {
    const l = pg.latency;
    lines.push(`Target on PostgreSQL, ${l.latencyMs} ms a provider call, one worker, pool of ${l.poolSize}: ${num(l.refreshesPerSec)} refreshes/s >= ${TARGET_LATENCY_REFRESHES_PER_SEC}: ${met(l.refreshesPerSec >= TARGET_LATENCY_REFRESHES_PER_SEC)}`);
  }
  if (pg.webhooks) {
    const w = pg.webhooks;
    lines.push(`Target on PostgreSQL, webhooks >= ${TARGET_WEBHOOK_OVER_FLOOR}× the bare loop: ${w.ratio}×: ${met(w.ratio >= TARGET_WEBHOOK_OVER_FLOOR)}; commit→delivery p99 < ${TARGET_WEBHOOK_P99_MS} ms for ${w.deliveries}: ${w.latencyMsP99} ms: ${met(w.latencyMsP99 < TARGET_WEBHOOK_P99_MS)}`);
  }
  if (pg.apiReads) lines.push(`Target on PostgreSQL, API reads >= ${TARGET_API_OVER_FLOOR}× bare Fastify + pg: ${pg.apiReads.ratio}×: ${met(pg.apiReads.ratio >= TARGET_API_OVER_FLOOR)}`);
  return lines;
}
