/**
 * The default sandbox application is made once, however many processes start together on a fresh
 * database (compose starts two APIs and two workers at once; each makes sure it exists).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { openDatabase, runMigrations, type Database } from '../src/db/open.js';
import { listApplications } from '../src/db/repos/applications.js';
import { systemClock } from '../src/domain/clock.js';
import { ensureDefaultApplication } from '../src/services/applications.js';
import { createTestDatabase, type TestDatabase } from './helpers/db.js';

describe('the default application', () => {
  let t: TestDatabase;
  const others: Database[] = [];
  before(async () => {
    t = await createTestDatabase();
    await runMigrations(t.database);
    // PostgreSQL: four pools, as four processes would have; embedded: the one database, four callers.
    for (let i = 0; i < 3; i++) others.push(t.url ? await openDatabase({ databaseUrl: t.url, dataDir: '' }) : t.database);
  });
  after(async () => {
    for (const d of others) if (d !== t.database) await d.close();
    await t.database.close();
    await t.drop();
  });

  it('is made by one of several processes starting at once, and all of them use it', async () => {
    const results = await Promise.all([t.database, ...others].map((d) => ensureDefaultApplication(d.db, systemClock)));
    assert.equal(results.filter((r) => r.created).length, 1, 'exactly one process made it');
    assert.equal(new Set(results.map((r) => r.application.id)).size, 1, 'every process uses the same one');
    const defaults = (await listApplications(t.database.db)).filter((a) => a.isDefault);
    assert.equal(defaults.length, 1);
    const again = await ensureDefaultApplication(others[0]!.db, systemClock);
    assert.deepEqual([again.created, again.application.id], [false, defaults[0]!.id]);
  });
});
