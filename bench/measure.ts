/**
 * Small measuring tools: a timed window (wall time, event-loop utilisation, this process's CPU,
 * SQL round trips on PostgreSQL), bounded waits, a fixed-width parallel loop, and memory sampling.
 */
import fs from 'node:fs';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { sql, type SQL } from 'drizzle-orm';
import type { Database, Db } from '../src/db/open.js';

/**
 * SQL round trips on PostgreSQL, split by who sent them: Causeway's pool ('app') and everyone
 * else in the process (pg-boss's own pool). PGlite has no comparable hook; its SQL is the same.
 */
export const queries = { app: 0, other: 0 };
const APP = Symbol('causeway-app-client');
let patched = false;

export function countQueries(database: Database): void {
  if (database.kind !== 'postgres') return;
  // 'acquire' (every checkout), not 'connect': the pool's first client predates this call.
  database.pool.on('acquire', (client) => { (client as unknown as Record<symbol, boolean>)[APP] = true; });
  if (patched) return;
  patched = true;
  const original = pg.Client.prototype.query as (...args: unknown[]) => unknown;
  (pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown }).query = function (this: Record<symbol, boolean>, ...args: unknown[]) {
    if (this[APP]) queries.app++; else queries.other++;
    return original.apply(this, args);
  };
}

export interface WindowResult {
  seconds: number;
  /** Share of the window the event loop was busy (1 = Node's main thread saturated). */
  eventLoopBusy: number;
  /** This process's CPU time / wall time (1.0 = one full core). */
  processCpu: number;
  /** Whole machine's busy cores over the window (Linux /proc/stat): this process + PostgreSQL + the rest. */
  machineCpu: number | null;
  appQueries: number;
  otherQueries: number;
}

/** Busy and total jiffies of all CPUs, or null off Linux. */
function machineTicks(): { busy: number; total: number } | null {
  try {
    const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const total = f.reduce((a, b) => a + b, 0);
    return { busy: total - (f[3] ?? 0) - (f[4] ?? 0), total };
  } catch {
    return null;
  }
}

export function startWindow(): () => WindowResult {
  const t0 = performance.now();
  const m0 = machineTicks();
  const elu0 = performance.eventLoopUtilization();
  const cpu0 = process.cpuUsage();
  const q0 = { ...queries };
  return () => {
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    return {
      seconds,
      eventLoopBusy: round(performance.eventLoopUtilization(elu0).utilization, 2),
      processCpu: round((cpu.user + cpu.system) / 1e6 / seconds, 2),
      machineCpu: machineCpuSince(m0),
      appQueries: queries.app - q0.app,
      otherQueries: queries.other - q0.other,
    };
  };
}

function machineCpuSince(m0: { busy: number; total: number } | null): number | null {
  const m1 = machineTicks();
  if (!m0 || !m1 || m1.total === m0.total) return null;
  return round(((m1.busy - m0.busy) / (m1.total - m0.total)) * os.availableParallelism(), 2);
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `done` until it answers true; throws after `timeoutMs` so no measurement runs unbounded. */
export async function waitFor(what: string, done: () => Promise<boolean>, timeoutMs: number, intervalMs = 25): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await done()) return;
    if (Date.now() > deadline) throw new Error(`${what}: not done after ${timeoutMs / 1000} s`);
    await sleep(intervalMs);
  }
}

/** Runs fn over items with at most `width` in flight (API clients calling at once). */
export async function inParallel<T>(items: T[], width: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, lane));
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export function round(x: number, digits = 0): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** Samples resident memory every 100 ms; the peak is what the process needed at worst. */
export function sampleMemory(): { peakMb(): number; stop(): void } {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss); }, 100);
  timer.unref();
  return { peakMb: () => Math.round(Math.max(peak, process.memoryUsage().rss) / 1e6), stop: () => clearInterval(timer) };
}

export function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

/** First column of the first row of a query, as a number (both drivers answer `{ rows }`). */
export async function scalar(db: Db, query: SQL): Promise<number> {
  const res = (await db.execute(query)) as { rows: Record<string, unknown>[] };
  return Number(Object.values(res.rows[0] ?? {})[0]);
}

export async function text(db: Db, query: SQL): Promise<string> {
  const res = (await db.execute(query)) as { rows: Record<string, unknown>[] };
  return String(Object.values(res.rows[0] ?? {})[0]);
}

/**
 * Gathers the planner's statistics on every table, untimed, before a measured phase on stored data
 * (refresh, the queue floors, API reads, webhooks): a deployment that has run a while has them
 * (autovacuum analyzes what changes), and a fresh bench database has none until autovacuum happens
 * to reach a table. Without them pg-boss's fetch, for one, joins its claimed ids back by reading
 * every job of the queue, and whether a phase ran before or after autovacuum's pass changed its
 * figures. Not before an initial sync: its tables start empty, and statistics of empty tables
 * (a sequential scan looks cheapest) are as far from a running deployment's as none.
 */
export async function analyze(db: Db): Promise<void> {
  await db.execute(sql`analyze`);
}

/**
 * A checkpoint, untimed, before a measured phase that writes much (an initial sync; the COPY floor
 * takes the best of three rounds instead). Earlier phases leave WAL behind, and when the server's
 * `max_wal_size` runs out during a phase it checkpoints there: every page the phase writes next
 * then logs a full page image, and one run of the same code measured 0.44× COPY where the next
 * measured 0.68×. Starting each such phase just after a checkpoint gives every run the same
 * start: the full page images at its first writes, none forced half way. PostgreSQL only: PGlite
 * runs in this process with its own settings.
 */
export async function checkpoint(database: Database): Promise<void> {
  if (database.kind === 'postgres') await database.db.execute(sql`checkpoint`);
}
