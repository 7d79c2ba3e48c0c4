/**
 * The background refresh scheduler over a simulated day (issue 5):
 *
 *   N active connections of one new application, created in one burst (slots 1..N, all synced at
 *   the same instant T0, the worst case for a naive "24 h after the last sync" schedule), each
 *   given its next refresh by the production rule (domain/schedule.ts nextAfterSuccess) ─► for
 *   each minute from T0 + 12 h to T0 + 36 h: one scheduler tick (repos/connections.ts
 *   claimDueConnections, the statement production runs, TICK_LIMIT at a time), timed.
 *
 * The claim holds each connection a day, standing in for the refresh that would set its next time,
 * so each is started once in the day. Reported: starts per minute (max/mean, min/mean), tick time
 * (mean, p99, max) and resident memory, and an SVG of the minutes written beside BENCHMARKS.md.
 * Loading the rows runs with the connections triggers off (no events for a million inserts; the
 * schedule rows are written directly): the load is set-up, not what is measured.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'drizzle-orm';
import { newId } from '../src/domain/ids.js';
import { nextAfterSuccess } from '../src/domain/schedule.js';
import { claimDueConnections } from '../src/db/repos/connections.js';
import type { Database } from '../src/db/open.js';
import { TICK_LIMIT } from '../src/services/scheduler.js';
import { percentile, round } from './measure.js';

const DAY = 86_400_000;
const MINUTE = 60_000;
const BATCH = 20_000;
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface SchedulerResult {
  connections: number;
  loadSeconds: number;
  minutes: number;
  started: number;
  perMinute: { mean: number; max: number; min: number; maxOverMean: number; minOverMean: number };
  tickMs: { mean: number; p99: number; max: number };
  rssMb: number;
  chart: string | null;
}

export async function loadScheduledConnections(database: Database, n: number, t0: Date): Promise<string> {
  const db = database.db;
  const applicationId = newId('app');
  const userId = newId('usr');
  await db.execute(sql`insert into applications (id, name, environment, created_at) values (${applicationId}, 'scheduler bench', 'sandbox', ${t0.toISOString()}::timestamptz)`);
  await db.execute(sql`insert into users (id, application_id, created_at, updated_at) values (${userId}, ${applicationId}, ${t0.toISOString()}::timestamptz, ${t0.toISOString()}::timestamptz)`);
  await db.execute(sql`alter table connections disable trigger user`);
  try {
    for (let from = 1; from <= n; from += BATCH) {
      const slots: number[] = [];
      const ids: string[] = [];
      const next: string[] = [];
      for (let slot = from; slot < Math.min(n + 1, from + BATCH); slot++) {
        slots.push(slot);
        ids.push(newId('con', t0.getTime()));
        next.push(nextAfterSuccess(slot, DAY, t0).toISOString());
      }
      await db.execute(sql`
        insert into connections (id, application_id, user_id, institution_id, provider, method, status, products, created_at, updated_at,
          first_synced_at, last_successful_sync_at, schedule_slot, next_scheduled_refresh_at)
        select v.id, ${applicationId}, ${userId}, 'ins_sandbox_web', 'sandbox', 'web', 'active', '{accounts,transactions}',
          ${t0.toISOString()}::timestamptz, ${t0.toISOString()}::timestamptz, ${t0.toISOString()}::timestamptz, ${t0.toISOString()}::timestamptz,
          v.slot, v.next
        from unnest(${sql.param(ids)}::text[], ${sql.param(slots)}::int8[], ${sql.param(next)}::timestamptz[]) as v(id, slot, next)`);
      // What the (disabled) connections_schedule_sync trigger would have written.
      await db.execute(sql`insert into refresh_schedule (connection_id, application_id, next_at)
        select v.id, ${applicationId}, v.next from unnest(${sql.param(ids)}::text[], ${sql.param(next)}::timestamptz[]) as v(id, next)`);
    }
  } finally {
    await db.execute(sql`alter table connections enable trigger user`);
  }
  await db.execute(sql`analyze connections`);
  await db.execute(sql`analyze refresh_schedule`);
  return applicationId;
}

function svg(perMinute: number[], mean: number, title: string): string {
  const w = 1440, h = 300, pad = 40;
  const top = Math.max(mean * 1.5, ...perMinute);
  const y = (v: number) => h - pad - (v / top) * (h - 2 * pad);
  const points = perMinute.map((v, i) => `${pad + i * ((w - 2 * pad) / perMinute.length)},${y(v).toFixed(1)}`).join(' ');
  const band = (f: number, label: string) => `<line x1="${pad}" x2="${w - pad}" y1="${y(mean * f)}" y2="${y(mean * f)}" stroke="#c33" stroke-dasharray="6 4"/><text x="${w - pad + 4}" y="${y(mean * f) + 4}" font-size="11">${label}</text>`;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w + 40}" height="${h}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>
<text x="${pad}" y="20" font-size="14">${title}</text>
<line x1="${pad}" x2="${pad}" y1="${pad}" y2="${h - pad}" stroke="#999"/><line x1="${pad}" x2="${w - pad}" y1="${h - pad}" y2="${h - pad}" stroke="#999"/>
<text x="${pad}" y="${h - 12}" font-size="11">T0 + 12 h</text><text x="${w - pad - 60}" y="${h - 12}" font-size="11">T0 + 36 h</text>
<text x="4" y="${y(0) + 4}" font-size="11">0</text><text x="4" y="${y(top) + 4}" font-size="11">${Math.round(top)}</text>
${band(1.2, '+20 %')}${band(1, 'mean')}${band(0.8, '−20 %')}
<polyline fill="none" stroke="#246" stroke-width="1" points="${points}"/>
</svg>
`;
}

export async function schedulerDay(database: Database, n: number, opts: { chart: boolean }): Promise<SchedulerResult> {
  const t0 = new Date(Math.floor(Date.now() / MINUTE) * MINUTE);
  const loadStarted = Date.now();
  const applicationId = await loadScheduledConnections(database, n, t0);
  const loadSeconds = (Date.now() - loadStarted) / 1000;
  const perMinute: number[] = [];
  const tickMs: number[] = [];
  let rss = 0;
  for (let m = 0; m < 1440; m++) {
    const wallNow = new Date(t0.getTime() + DAY / 2 + (m + 1) * MINUTE);
    const started = performance.now();
    let claimed = 0;
    for (;;) {
      const got = await claimDueConnections(database.db, { wallNow, holdMs: DAY, limit: TICK_LIMIT, applicationId });
      claimed += got.length;
      if (got.length < TICK_LIMIT) break;
    }
    tickMs.push(performance.now() - started);
    perMinute.push(claimed);
    if (m % 60 === 0) rss = Math.max(rss, process.memoryUsage().rss);
  }
  const total = perMinute.reduce((a, b) => a + b, 0);
  const mean = total / perMinute.length;
  const sorted = [...tickMs].sort((a, b) => a - b);
  let chart: string | null = null;
  if (opts.chart) {
    chart = path.join(ROOT, 'scheduler-distribution.svg');
    fs.writeFileSync(chart, svg(perMinute, mean, `Background refreshes started per minute, ${n.toLocaleString('en-US')} connections created at once (PostgreSQL)`));
  }
  return {
    connections: n, loadSeconds: round(loadSeconds, 1), minutes: perMinute.length, started: total,
    perMinute: {
      mean: round(mean, 1), max: Math.max(...perMinute), min: Math.min(...perMinute),
      maxOverMean: round(Math.max(...perMinute) / mean, 3), minOverMean: round(Math.min(...perMinute) / mean, 3),
    },
    tickMs: { mean: round(tickMs.reduce((a, b) => a + b, 0) / tickMs.length, 2), p99: round(percentile(sorted, 99), 2), max: round(sorted[sorted.length - 1]!, 2) },
    rssMb: Math.round(rss / 1e6),
    chart: chart ? path.relative(ROOT, chart) : null,
  };
}
