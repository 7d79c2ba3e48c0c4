/**
 * Opens the database: PostgreSQL when DATABASE_URL is set, otherwise embedded PGlite in the data
 * directory (locked against a second process). Migrations are applied here, on start.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres';
import { migrate as migratePg } from 'drizzle-orm/node-postgres/migrator';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import pg from 'pg';
import * as core from './schema.js';
import * as access from './tables/access.js';
import * as webhooks from './tables/webhooks.js';
import * as providers from './tables/providers.js';
import * as imports from './tables/imports.js';
import { lockDataDir } from './lock.js';
import { StatementNamingClient } from './statements.js';

const schema = { ...core, ...webhooks, ...providers, ...access, ...imports };
export type Db = PgDatabase<PgQueryResultHKT, typeof schema>;

export type Database =
  | { kind: 'pglite'; db: Db; pglite: PGlite; close(): Promise<void> }
  | { kind: 'postgres'; db: Db; pool: pg.Pool; url: string; close(): Promise<void> };

const MIGRATIONS = path.join(path.dirname(fileURLToPath(import.meta.url)), 'migrations');
/** Arbitrary constant: serialises migrations when several processes start together on PostgreSQL. */
const MIGRATION_LOCK = 727_001;

// int8 columns come back as JS numbers on both drivers (amounts fit in 2^53).
pg.types.setTypeParser(20, (v) => Number.parseInt(v, 10));
// `date` stays a YYYY-MM-DD string, as PGlite returns it.
pg.types.setTypeParser(1082, (v) => v);

/**
 * How every pool of this process holds its server connections (Causeway's and pg-boss's). A
 * connection idle this long is closed; node-postgres's default is 10 s. A new server backend pays
 * again for what a warm one keeps: catalogue caches, the trigger functions' compilation and each
 * statement's plans (db/statements.ts). On a new backend, the first insert of a connection (with
 * its event, webhook fan-out and schedule triggers) took 19.4 ms against 0.8 ms after, and an
 * initial sync cost the server about a fifth more a row when the pool had closed its connections
 * during a lull (BENCHMARKS.md). So connections are kept through lulls of minutes, such as the
 * scheduler's ticks a minute apart, and closed after a quiet five. Idle connections do not keep the
 * process alive (`allowExitOnIdle`).
 */
export const POOL_HOLDING = { idleTimeoutMillis: 5 * 60_000, allowExitOnIdle: true } as const;

export interface OpenOptions {
  databaseUrl: string | null;
  dataDir: string;
  /** Embedded only: start from this PGlite data dump instead of an empty directory (tests). */
  loadDataDir?: Blob;
  /** Embedded only: keep the database in memory (tests). */
  inMemory?: boolean;
  poolSize?: number;
}

export async function openDatabase(opts: OpenOptions): Promise<Database> {
  if (opts.databaseUrl) {
    const pool = new pg.Pool({ connectionString: opts.databaseUrl, max: opts.poolSize ?? 10, Client: StatementNamingClient, ...POOL_HOLDING });
    pool.on('error', () => { /* a dropped idle client is replaced on the next query */ });
    const db = drizzlePg(pool, { schema }) as unknown as Db;
    return { kind: 'postgres', db, pool, url: opts.databaseUrl, close: () => pool.end() };
  }
  const release = opts.inMemory ? () => {} : lockDataDir(opts.dataDir);
  try {
    const pglite = await PGlite.create({
      dataDir: opts.inMemory ? undefined : path.join(opts.dataDir, 'pglite'),
      loadDataDir: opts.loadDataDir,
    });
    const db = drizzlePglite(pglite, { schema }) as unknown as Db;
    return {
      kind: 'pglite', db, pglite,
      close: async () => {
        try { await pglite.close(); } finally { release(); }
      },
    };
  } catch (err) {
    release();
    throw err;
  }
}

export async function runMigrations(database: Database): Promise<void> {
  if (database.kind === 'pglite') {
    await migratePglite(database.db as never, { migrationsFolder: MIGRATIONS });
    return;
  }
  const client = await database.pool.connect();
  try {
    await client.query('select pg_advisory_lock($1)', [MIGRATION_LOCK]);
    await migratePg(database.db as never, { migrationsFolder: MIGRATIONS });
  } finally {
    await client.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => {});
    client.release();
  }
}
