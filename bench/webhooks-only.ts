/**
 * The webhook phase on a fresh database, in a process of its own:
 * `node --import tsx bench/webhooks-only.ts pglite|postgres [rounds] [--top N] [--endpoints 100] [--events 50] [--width 8] [--out FILE]`
 * (rounds: 1 by default; --top: the N costliest statements of the last round, per delivery;
 * --out: the last round's result as JSON, which bench/run.ts reads).
 *
 * bench/run.ts runs it after each database's suite, so the burst and its bare floor run in a new
 * process, as a deployed worker is: in the suite's process, which carries every earlier phase's
 * heap (the sandbox's replay caches above all), the bare loop cost 175 µs a delivery against
 * 57–77 µs in a process of its own, and the ratio looked better than it is. Run alone, it compares
 * webhook changes side by side (bench/webhooks.ts says what it measures). Each round is Causeway's
 * burst and then the bare floor on the same payloads, so several rounds interleave the two.
 */
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { systemClock } from '../src/domain/clock.js';
import { ensureDefaultApplication } from '../src/services/applications.js';
import { openBenchDatabase, startCore } from './db.js';
import { countQueries } from './measure.js';
import { printStatements, resetStatements } from './statements.js';
import { webhookRound, type WebhookResult } from './webhooks.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { top: { type: 'string' }, endpoints: { type: 'string' }, events: { type: 'string' }, width: { type: 'string' }, out: { type: 'string' } },
});
const kind = (positionals[0] ?? 'pglite') as 'pglite' | 'postgres';
if (kind !== 'pglite' && kind !== 'postgres') throw new Error('the database is pglite or postgres');
const rounds = Number(positionals[1] ?? 1);
/** `--top N`: pg_stat_statements over the last round, per delivery (PostgreSQL with the extension loaded). */
const top = values.top === undefined ? null : Number(values.top);
const shape = { endpoints: Number(values.endpoints ?? 100), events: Number(values.events ?? 50), width: Number(values.width ?? 8) };
const bench = await openBenchDatabase(kind);
let last: WebhookResult | null = null;
try {
  countQueries(bench.database);
  const running = await startCore(bench.database, 16);
  const { application } = await ensureDefaultApplication(running.core.db, systemClock);
  for (let i = 0; i < rounds; i++) {
    const counting = top !== null && i === rounds - 1 && await resetStatements(running.core.db);
    const r = last = await webhookRound(running.core, { application }, shape);
    const { window: w, floor: { window: f, ...floor }, ...rest } = r;
    const load = (x: typeof w) => ({ machine: x.machineCpu, loop: x.eventLoopBusy, queries: x.appQueries });
    console.log(kind, JSON.stringify({ ...rest, floor, load: load(w), floorLoad: load(f) }));
    if (counting) await printStatements(running.core.db, r.deliveries, top!);
  }
  await running.stop();
} finally {
  await bench.close();
}
if (values.out && last) fs.writeFileSync(values.out, JSON.stringify(last));
process.exit(0);
