/**
 * Processes starting together on a fresh database write the same catalogue rows at once (compose's
 * two APIs and two workers each sync the sandbox institutions): every writer succeeds and each
 * institution is stored once. On PostgreSQL the writers run truly in parallel, each on its own
 * connection, and without turns one of them met the other's row in the second unique index
 * (provider, provider_institution_id) within a few rounds and failed with a unique violation.
 * PGlite runs one statement at a time, and the same calls must succeed there too.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { inArray } from 'drizzle-orm';
import { upsertInstitutions, type InstitutionInsert } from '../src/db/repos/providers.js';
import { institutions } from '../src/db/tables/providers.js';
import { startTestApp, type TestApp } from './helpers/app.js';

describe('catalogue writers racing on new rows', () => {
  let t: TestApp;
  before(async () => { t = await startTestApp({ worker: false }); });
  after(async () => { await t.close(); });

  it('every writer succeeds and each institution is stored once', async () => {
    for (let round = 0; round < 60; round++) {
      const rows: InstitutionInsert[] = Array.from({ length: 20 }, (_, i) => ({
        id: `ins_race_${round}_${i}`, provider: 'sandbox', providerInstitutionId: `race_${round}_${i}`, name: `Race Bank ${i}`, country: 'US',
        methods: ['web'], products: ['transactions'], alwaysMfa: false, linksPendingTransactions: true, limits: { refreshesPerDay: 20, minIntervalSeconds: 0, maxConcurrentRefreshes: 4, refreshesPerMinute: 60 }, syncedAt: new Date(),
      }));
      const results = await Promise.allSettled(Array.from({ length: 6 }, () => upsertInstitutions(t.core.db, rows)));
      const failed = results.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason?.cause ?? (r as PromiseRejectedResult).reason));
      assert.deepEqual(failed, [], `round ${round}`);
      const stored = await t.core.db.select({ id: institutions.id }).from(institutions).where(inArray(institutions.id, rows.map((r) => r.id)));
      assert.equal(stored.length, rows.length);
    }
  });
});
