/**
 * pg_stat_statements around a phase: reset before it, the top statements per job after. Needs the
 * extension in shared_preload_libraries (it is created in the bench database); without it the
 * helpers answer false and print nothing.
 */
import { sql } from 'drizzle-orm';
import type { Db } from '../src/db/open.js';
import { round } from './measure.js';

/** Creates the extension and resets its counters: false where the server has not loaded it. */
export async function resetStatements(db: Db): Promise<boolean> {
  // The extension can be created where the server has not loaded the library; only then does the reset fail.
  await db.execute(sql`create extension if not exists pg_stat_statements`).catch(() => {});
  return db.execute(sql`select pg_stat_statements_reset()`).then(() => true, () => false);
}

/** This database's statements, without the bench's own `analyze` before each phase (measure.ts). */
const ours = sql`dbid = (select oid from pg_database where datname = current_database()) and query <> 'analyze'`;

/** The `top` statements of this database by execution time, per job (`jobs` of them ran since the reset). */
export async function printStatements(db: Db, jobs: number, top = 25): Promise<void> {
  const rows = (await db.execute(sql`
    select calls, total_exec_time + total_plan_time as ms, total_plan_time as plan, rows, left(regexp_replace(query, '[[:space:]]+', ' ', 'g'), 150) as q
    from pg_stat_statements where ${ours}
    order by total_exec_time desc limit ${top}`)) as unknown as { rows: { calls: string; ms: number; plan: number; rows: string; q: string }[] };
  const total = (await db.execute(sql`select sum(total_exec_time) as ms, sum(total_plan_time) as plan, sum(calls) as calls from pg_stat_statements
    where ${ours}`)) as unknown as { rows: { ms: number; plan: number; calls: string }[] };
  console.log(`statements: ${round(Number(total.rows[0]!.calls) / jobs, 1)} per job, execution ${round(Number(total.rows[0]!.ms) / jobs, 2)} ms + planning ${round(Number(total.rows[0]!.plan) / jobs, 2)} ms per job (wall, lock waits included)`);
  console.log('calls/job  ms/job  plan/job  ms/call  statement');
  for (const r of rows.rows) {
    console.log(`${String(round(Number(r.calls) / jobs, 2)).padStart(9)}  ${String(round(r.ms / jobs, 3)).padStart(6)}  ${String(round(r.plan / jobs, 3)).padStart(8)}  ${String(round(r.ms / Number(r.calls), 3)).padStart(7)}  ${r.q}`);
  }
}

/**
 * How each named prepared statement has been planned on the pool's server connections (each
 * connection keeps its own plan cache): custom plans are made a call at a time; a statement that
 * keeps its generic plan is planned about five times a connection. Read from pg_prepared_statements
 * on every connection the pool holds, which must all be idle (the phase over).
 */
export async function printPlanChoices(pool: import('pg').Pool, top = 25): Promise<void> {
  const clients = await Promise.all(Array.from({ length: pool.totalCount }, () => pool.connect()));
  const totals = new Map<string, { generic: number; custom: number }>();
  try {
    for (const c of clients) {
      const { rows } = await c.query<{ name: string; generic_plans: string; custom_plans: string }>(
        'select name, generic_plans, custom_plans from pg_prepared_statements');
      for (const r of rows) {
        const t = totals.get(r.name) ?? { generic: 0, custom: 0 };
        t.generic += Number(r.generic_plans);
        t.custom += Number(r.custom_plans);
        totals.set(r.name, t);
      }
    }
  } finally {
    clients.forEach((c) => c.release());
  }
  console.log(`plan choices on ${clients.length} pooled connections (calls with a generic plan / with a custom plan made for them):`);
  for (const [name, t] of [...totals].sort((a, b) => b[1].custom - a[1].custom).slice(0, top)) {
    console.log(`${String(t.generic).padStart(8)} ${String(t.custom).padStart(8)}  ${name}`);
  }
}
