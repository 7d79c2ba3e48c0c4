/**
 * One database per test file: a fresh PostgreSQL database when DATABASE_URL is set, otherwise an
 * in-memory PGlite loaded from a migrated template (initdb + migrations once per run, not per file).
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { openDatabase, runMigrations, type Database } from '../../src/db/open.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const MIGRATIONS = path.join(ROOT, 'src/db/migrations');

function migrationsHash(): string {
  const h = createHash('sha256');
  for (const f of fs.readdirSync(MIGRATIONS).sort()) if (f.endsWith('.sql')) h.update(fs.readFileSync(path.join(MIGRATIONS, f)));
  return h.digest('hex').slice(0, 16);
}

async function pgliteTemplate(): Promise<Blob> {
  const dir = path.join(ROOT, '.tmp');
  const file = path.join(dir, `pglite-template-${migrationsHash()}.tar`);
  if (fs.existsSync(file)) return new Blob([fs.readFileSync(file)]);
  const db = await openDatabase({ databaseUrl: null, dataDir: dir, inMemory: true });
  await runMigrations(db);
  if (db.kind !== 'pglite') throw new Error('unreachable');
  const dump = await db.pglite.dumpDataDir('none');
  await db.close();
  fs.mkdirSync(dir, { recursive: true });
  const tmp = `${file}.${process.pid}`;
  fs.writeFileSync(tmp, Buffer.from(await dump.arrayBuffer()));
  fs.renameSync(tmp, file); // atomic: parallel test files never read half a template
  return new Blob([fs.readFileSync(file)]);
}

export const usingPostgres = () => Boolean(process.env.DATABASE_URL);

/** A database URL on the same server as DATABASE_URL, for a new database with this name. */
function withDatabaseName(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

export async function createTestDatabaseUrl(): Promise<{ url: string; drop(): Promise<void> }> {
  const base = process.env.DATABASE_URL!;
  const name = `cw_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  return {
    url: withDatabaseName(base, name),
    async drop() {
      const c = new pg.Client({ connectionString: base });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}

export interface TestDatabase { database: Database; url: string | null; drop(): Promise<void> }

export async function createTestDatabase(): Promise<TestDatabase> {
  if (usingPostgres()) {
    const { url, drop } = await createTestDatabaseUrl();
    const database = await openDatabase({ databaseUrl: url, dataDir: '' });
    return { database, url, drop };
  }
  const database = await openDatabase({ databaseUrl: null, dataDir: '', inMemory: true, loadDataDir: await pgliteTemplate() });
  return { database, url: null, drop: async () => {} };
}
