/**
 * The two databases the benchmark runs on, and a Causeway core on them built the way
 * src/runtime.ts builds it (createCore + startWorker), with the sandbox at zero latency.
 *
 *   pglite   : embedded PGlite in a fresh temporary data directory (as `npm start` uses ./data)
 *   postgres : a fresh database `cw_bench_<random>` on BENCH_DATABASE_URL, dropped afterwards
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { sql } from 'drizzle-orm';
import { loadConfig, type Config } from '../src/config.js';
import { openDatabase, type Database } from '../src/db/open.js';
import { createCore, startWorker, stopJobs } from '../src/runtime.js';
import type { Provider } from '../src/providers/types.js';
import type { Core } from '../src/services/core.js';
import { text } from './measure.js';

export type DbKind = 'pglite' | 'postgres';

export const DEFAULT_PG_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

export interface BenchDatabase {
  kind: DbKind;
  database: Database;
  version: string;
  close(): Promise<void>;
}

export async function openBenchDatabase(kind: DbKind): Promise<BenchDatabase> {
  if (kind === 'postgres') {
    const base = process.env.BENCH_DATABASE_URL || DEFAULT_PG_URL;
    const name = `cw_bench_${randomBytes(6).toString('hex')}`;
    await adminQuery(base, `create database ${name}`);
    const url = new URL(base);
    url.pathname = `/${name}`;
    const database = await openDatabase({ databaseUrl: url.toString(), dataDir: '' });
    return {
      kind, database, version: await serverVersion(database),
      async close() {
        await database.close().catch(() => {});
        await adminQuery(base, `drop database if exists ${name} with (force)`);
      },
    };
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cw-bench-'));
  const database = await openDatabase({ databaseUrl: null, dataDir: dir });
  return {
    kind, database, version: await serverVersion(database),
    async close() {
      await database.close().catch(() => {});
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function adminQuery(url: string, text: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try { await client.query(text); } finally { await client.end(); }
}

async function serverVersion(database: Database): Promise<string> {
  const v = await text(database.db, sql`select version() as v`);
  return v.split(' on ')[0] ?? v;
}

export function benchConfig(jobConcurrency: number): Config {
  return {
    ...loadConfig({}),
    sandboxLatencyMs: 0, retryDelaySeconds: 0, jobConcurrency, logLevel: 'silent', allowPrivateAddresses: true, // the receiver is on loopback
    backgroundRefresh: false, // the refresh rounds move the clock a day: the scheduler would refresh the same connections beside them
    apiRateLimit: 0, // the read-latency bench sends ~1,000 requests a second with one key
    encryptionKey: Buffer.alloc(32, 7).toString('base64'), // every core of a run must read what the others wrote
  };
}

export interface RunningCore { core: Core; stop(): Promise<void> }

/**
 * A core with its worker running, on an already open database (which stop() leaves open). Each
 * jobConcurrency gets its own core, as a restarted process would: the second and later cores
 * find Causeway's queues already there (src/jobs/queue.ts updates them).
 */
export async function startCore(database: Database, jobConcurrency: number, provider?: Provider): Promise<RunningCore> {
  const core = await createCore(benchConfig(jobConcurrency), { database, logLevel: 'silent', ...(provider ? { provider } : {}) });
  const stopWorker = await startWorker(core);
  return {
    core,
    async stop() {
      await stopWorker();
      await stopJobs(core);
    },
  };
}
