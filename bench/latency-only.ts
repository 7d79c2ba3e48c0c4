/**
 * The provider-latency phase alone (bench/latency.ts), on PostgreSQL unless --db pglite:
 *
 *   npx tsx bench/latency-only.ts [--db postgres] [--connections 400] [--concurrency 400] [--latency 500] [--seconds 25]
 */
import { parseArgs } from 'node:util';
import { systemClock } from '../src/domain/clock.js';
import { ensureDefaultApplication } from '../src/services/applications.js';
import { openBenchDatabase, startCore, type DbKind } from './db.js';
import { printStatements, resetStatements } from './statements.js';
import { latencyConnections, latencyRound, slowProvider } from './latency.js';

const { values } = parseArgs({ options: {
  db: { type: 'string' }, connections: { type: 'string' }, concurrency: { type: 'string' }, latency: { type: 'string' }, seconds: { type: 'string' }, top: { type: 'string' },
} });
const n = Number(values.connections ?? 400);
const latencyMs = Number(values.latency ?? 500);
const bench = await openBenchDatabase((values.db ?? 'postgres') as DbKind);
try {
  const provider = slowProvider(latencyMs);
  const running = await startCore(bench.database, Number(values.concurrency ?? 400), provider);
  const { application } = await ensureDefaultApplication(running.core.db, systemClock);
  const connections = await latencyConnections(running.core, { application }, n);
  await provider.warm(connections.map((c) => c.login), running.core.clock.now());
  const statements = bench.kind === 'postgres' && await resetStatements(running.core.db);
  const result = await latencyRound(running.core, { application }, connections, { latencyMs, seconds: Number(values.seconds ?? 25), warmSeconds: 8, width: 16 });
  console.log(JSON.stringify(result, null, 2));
  if (statements) await printStatements(running.core.db, result.succeeded + result.failed, Number(values.top ?? 25));
  await running.stop();
} finally {
  await bench.close();
}
process.exit(0);
