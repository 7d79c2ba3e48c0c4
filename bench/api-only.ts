/**
 * The API read phase of the suite alone, on a fresh database with N synced connections:
 * `node --import tsx bench/api-only.ts pglite|postgres [connections=40] [seconds=10] [rounds=2]`.
 * For comparing API changes side by side without the whole suite (bench/api.ts says what it measures).
 */
import { systemClock } from '../src/domain/clock.js';
import { ensureDefaultApplication } from '../src/services/applications.js';
import { apiReads, DEFAULT_API_LOAD } from './api.js';
import { openBenchDatabase, startCore } from './db.js';
import { benchLogin, initialSync } from './ingestion.js';
import { countQueries } from './measure.js';

const kind = (process.argv[2] ?? 'pglite') as 'pglite' | 'postgres';
const n = Number(process.argv[3] ?? 40);
const bench = await openBenchDatabase(kind);
countQueries(bench.database);
const running = await startCore(bench.database, 16);
try {
  const { application } = await ensureDefaultApplication(running.core.db, systemClock);
  const sync = await initialSync(running.core, { application }, Array.from({ length: n }, (_, i) => benchLogin(i)), 8);
  const r = await apiReads(running.core, application, sync.synced.map((s) => s.userId), {
    ...DEFAULT_API_LOAD, seconds: Number(process.argv[4] ?? DEFAULT_API_LOAD.seconds), rounds: Number(process.argv[5] ?? DEFAULT_API_LOAD.rounds),
  });
  console.log(kind, JSON.stringify(r, null, 1));
} finally {
  await running.stop();
  await bench.close();
}
process.exit(0);
