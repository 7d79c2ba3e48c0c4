/**
 * What a start says before it does the work: whether the embedded database exists yet (its first
 * creation takes PGlite's initdb, 10-30 s), whether the server answers at all, and how many
 * migrations are left to apply. Read-only; `open.ts` does the opening and migrating.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'drizzle-orm';
import type { Database, Db } from './open.js';

const JOURNAL = path.join(path.dirname(fileURLToPath(import.meta.url)), 'migrations', 'meta', '_journal.json');

/** True once PGlite has initialised its directory under the data directory (open.ts keeps it in `pglite/`). */
export function embeddedDatabaseExists(dataDir: string): boolean {
  return fs.existsSync(path.join(dataDir, 'pglite', 'PG_VERSION'));
}

/**
 * `select 1`: at start, so a wrong DATABASE_URL fails here with the driver's reason rather than
 * half-way through a migration; for readiness, refused after `timeoutMs` (a database that hangs is
 * as unready as one that refuses).
 */
export async function pingDatabase(db: Db, timeoutMs?: number): Promise<void> {
  if (timeoutMs === undefined) {
    await db.execute(sql`select 1`);
    return;
  }
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the database did not answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([db.execute(sql`select 1`), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Migrations this code has and the database has not applied, by the rule drizzle's migrator uses:
 * every migration newer than the newest one recorded in drizzle.__drizzle_migrations.
 */
export async function pendingMigrations(database: Database): Promise<{ pending: number; total: number }> {
  const journal = JSON.parse(fs.readFileSync(JOURNAL, 'utf8')) as { entries: { when: number }[] };
  const total = journal.entries.length;
  const table = await database.db.execute(sql`select to_regclass('drizzle.__drizzle_migrations') is not null as present`);
  if (!rowsOf(table)[0]?.present) return { pending: total, total };
  const last = rowsOf(await database.db.execute(sql`select max(created_at) as newest from drizzle.__drizzle_migrations`))[0]?.newest;
  if (last === null || last === undefined) return { pending: total, total };
  const newest = Number(last);
  return { pending: journal.entries.filter((e) => newest < e.when).length, total };
}

/** node-postgres answers { rows }, PGlite answers { rows } too, typed differently by drizzle. */
function rowsOf(result: unknown): Record<string, unknown>[] {
  return ((result as { rows?: Record<string, unknown>[] }).rows ?? []);
}
