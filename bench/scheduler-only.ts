/**
 * The scheduler's simulated day alone, on a fresh database:
 * `node --import tsx bench/scheduler-only.ts postgres|pglite [connections] [--chart]` (bench/scheduler.ts says what it
 * measures; --chart rewrites scheduler-distribution.svg).
 */
import { openBenchDatabase } from './db.js';
import { schedulerDay } from './scheduler.js';
import { runMigrations } from '../src/db/open.js';

const kind = (process.argv[2] ?? 'postgres') as 'pglite' | 'postgres';
const n = Number(process.argv[3] ?? 1_000_000);
const bench = await openBenchDatabase(kind);
await runMigrations(bench.database);
console.log(kind, JSON.stringify(await schedulerDay(bench.database, n, { chart: process.argv.includes('--chart') })));
await bench.close();
process.exit(0);
