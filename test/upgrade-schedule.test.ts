/**
 * Upgrading a database from before the scheduler (migrations up to 0005) to now: the connections
 * already linked get their first background refresh at their own phase of the next 24 hours, so an
 * upgraded deployment starts none of them together (none lands in the past, none shares a minute
 * with many others), exactly as new connections are spread.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { migrate as migratePg } from 'drizzle-orm/node-postgres/migrator';
import { openDatabase, runMigrations, type Database } from '../src/db/open.js';
import { phaseMs } from '../src/domain/schedule.js';
import { createTestDatabaseUrl, usingPostgres } from './helpers/db.js';
import { ROOT } from './helpers/process.js';

const MIGRATIONS = path.join(ROOT, 'src/db/migrations');
const DAY = 86_400_000;

/** The migrations folder as it was up to and including `last` (e.g. "0005"). */
function migrationsUpTo(last: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'causeway-migrations-'));
  fs.mkdirSync(path.join(dir, 'meta'));
  const journal = JSON.parse(fs.readFileSync(path.join(MIGRATIONS, 'meta/_journal.json'), 'utf8'));
  journal.entries = journal.entries.filter((e: { tag: string }) => e.tag.slice(0, 4) <= last);
  fs.writeFileSync(path.join(dir, 'meta/_journal.json'), JSON.stringify(journal));
  for (const e of journal.entries) fs.copyFileSync(path.join(MIGRATIONS, `${e.tag}.sql`), path.join(dir, `${e.tag}.sql`));
  return dir;
}

describe('upgrading to the scheduler', () => {
  let database: Database;
  let dropDb: (() => Promise<void>) | null = null;
  let dir: string;
  before(async () => {
    dir = migrationsUpTo('0005');
    if (usingPostgres()) {
      const made = await createTestDatabaseUrl();
      dropDb = made.drop;
      database = await openDatabase({ databaseUrl: made.url, dataDir: '' });
    } else {
      database = await openDatabase({ databaseUrl: null, dataDir: '', inMemory: true });
    }
    if (database.kind === 'pglite') await migratePglite(database.db as never, { migrationsFolder: dir });
    else await migratePg(database.db as never, { migrationsFolder: dir });
  });
  after(async () => {
    await database.close();
    await dropDb?.();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('spreads the connections linked before it over the next day at their phases, none overdue', async () => {
    const count = 2_000;
    const longAgo = new Date(Date.now() - 30 * DAY).toISOString();
    await database.db.execute(sql`insert into applications (id, name, environment, created_at) values ('app_old', 'old', 'sandbox', ${longAgo}::timestamptz)`);
    await database.db.execute(sql`insert into users (id, application_id, created_at, updated_at) values ('usr_old', 'app_old', ${longAgo}::timestamptz, ${longAgo}::timestamptz)`);
    await database.db.execute(sql`
      insert into connections (id, application_id, user_id, institution_id, provider, method, status, products, created_at, updated_at, first_synced_at, last_successful_sync_at)
      select 'conn_old_' || lpad(i::text, 5, '0'), 'app_old', 'usr_old', 'ins_sandbox_web', 'sandbox', 'web',
        case when i % 10 = 0 then 'reconnect_required' else 'active' end, array['accounts'],
        ${longAgo}::timestamptz, ${longAgo}::timestamptz, ${longAgo}::timestamptz, ${longAgo}::timestamptz + (i % 7) * interval '1 day'
      from generate_series(1, ${count}) i`);
    const before = Date.now();
    await runMigrations(database);
    const rows = ((await database.db.execute(sql`
      select status, schedule_slot::float8 as slot, extract(epoch from next_scheduled_refresh_at) * 1000 as next from connections`)) as { rows: { status: string; slot: number; next: number | null }[] }).rows;
    const scheduled = rows.filter((r) => r.status === 'active');
    assert.equal(scheduled.length, count * 0.9);
    assert.ok(rows.filter((r) => r.status !== 'active').every((r) => r.next === null), 'a connection that needs its user is not scheduled');
    const perMinute = new Map<number, number>();
    for (const r of scheduled) {
      const next = Number(r.next);
      assert.ok(next > before - 1000 && next <= Date.now() + DAY, `within the next day: ${new Date(next).toISOString()}`);
      const phase = ((next % DAY) + DAY) % DAY;
      const expected = ((phaseMs(r.slot, DAY) % DAY) + DAY) % DAY;
      const off = Math.min(Math.abs(phase - expected), DAY - Math.abs(phase - expected));
      assert.ok(off <= 3_000, `slot ${r.slot} at its phase (${off} ms off)`);
      const minute = Math.floor(next / 60_000);
      perMinute.set(minute, (perMinute.get(minute) ?? 0) + 1);
    }
    const mean = scheduled.length / 1440;
    assert.ok(Math.max(...perMinute.values()) <= Math.ceil(mean * 1.2) + 1, `at most ${Math.max(...perMinute.values())} a minute around a mean of ${mean.toFixed(2)}`);
  });
});
