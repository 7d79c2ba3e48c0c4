/**
 * The webhook phase of the suite alone, on a fresh database:
 * `node --import tsx bench/webhooks-only.ts pglite|postgres [rounds] [--top N]` (rounds: 1 by default;
 * --top: the N costliest statements of the last round, per delivery).
 * For comparing webhook changes side by side without the whole suite (bench/webhooks.ts says what it
 * measures). Each round is Causeway's burst and then the bare floor on the same payloads, so several
 * rounds interleave the two.
 */
import { systemClock } from '../src/domain/clock.js';
import { ensureDefaultApplication } from '../src/services/applications.js';
import { openBenchDatabase, startCore } from './db.js';
import { countQueries } from './measure.js';
import { printStatements, resetStatements } from './statements.js';
import { webhookRound } from './webhooks.js';
const kind = (process.argv[2] ?? 'pglite') as 'pglite' | 'postgres';
const rounds = Number(process.argv[3] ?? 1);
/** `--top N`: pg_stat_statements over the last round, per delivery (PostgreSQL with the extension loaded). */
const topAt = process.argv.indexOf('--top');
const top = topAt > 0 ? Number(process.argv[topAt + 1]) : null;
const bench = await openBenchDatabase(kind);
countQueries(bench.database);
const running = await startCore(bench.database, 16);
const { application } = await ensureDefaultApplication(running.core.db, systemClock);
for (let i = 0; i < rounds; i++) {
  const counting = top !== null && i === rounds - 1 && await resetStatements(running.core.db);
  const r = await webhookRound(running.core, { application }, { endpoints: 100, events: 50, width: 8 });
  const { window: w, floor: { window: f, ...floor }, ...rest } = r;
  const load = (x: typeof w) => ({ machine: x.machineCpu, loop: x.eventLoopBusy, queries: x.appQueries });
  console.log(kind, JSON.stringify({ ...rest, floor, load: load(w), floorLoad: load(f) }));
  if (counting) await printStatements(running.core.db, r.deliveries, top!);
}
await running.stop();
await bench.close();
process.exit(0);
