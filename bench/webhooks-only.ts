/**
 * The webhook phase of the suite alone, on a fresh database: `node --import tsx bench/webhooks-only.ts pglite|postgres`.
 * For comparing webhook changes side by side without the whole suite (bench/webhooks.ts says what it measures).
 */
import { systemClock } from '../src/domain/clock.js';
import { ensureDefaultApplication } from '../src/services/applications.js';
import { openBenchDatabase, startCore } from './db.js';
import { webhookRound } from './webhooks.js';
const kind = (process.argv[2] ?? 'pglite') as 'pglite' | 'postgres';
const bench = await openBenchDatabase(kind);
const running = await startCore(bench.database, 16);
const { application } = await ensureDefaultApplication(running.core.db, systemClock);
const r = await webhookRound(running.core, { application }, { endpoints: 100, events: 50, width: 8 });
const { window: _w, ...rest } = r;
console.log(kind, JSON.stringify(rest));
await running.stop();
await bench.close();
process.exit(0);
