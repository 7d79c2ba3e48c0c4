/**
 * Webhook leases at the repository (db/repos/webhooks.ts): a worker renews exactly the deliveries it
 * still holds, each found by id and fenced on its token, and a claim made while statistics say
 * nothing is pending (gathered before a backlog built up, the usual state, under which the claim's
 * lookups by id no longer read the due index) still takes the oldest due ones, and two claims
 * never take the same delivery. What the lookups cost is measured in bench/webhooks.ts.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { eq, inArray, sql } from 'drizzle-orm';
import { claimDueDeliveries, recordAttempts, renewLeases } from '../src/db/repos/webhooks.js';
import { webhookDeliveries } from '../src/db/tables/webhooks.js';
import { ensureDefaultApplication } from '../src/services/applications.js';
import { createEndpoint } from '../src/services/webhooks.js';
import { startTestApp, type TestApp } from './helpers/app.js';
import { usingPostgres } from './helpers/db.js';

describe('webhook leases and claims', () => {
  let t: TestApp;
  before(async () => {
    // No worker: the test claims and records itself.
    t = await startTestApp({ worker: false, config: { allowPrivateAddresses: true } });
    const { application } = await ensureDefaultApplication(t.core.db, t.core.clock);
    for (let i = 0; i < 3; i++) await createEndpoint(t.core, { application }, { url: `http://127.0.0.1:9/hook/${i}`, eventTypes: ['user.created'] });
  });
  after(async () => { await t.close(); });

  const leases = async (ids: string[]) => new Map((await t.core.db.select({ id: webhookDeliveries.id, until: webhookDeliveries.leaseUntil, token: webhookDeliveries.leaseToken })
    .from(webhookDeliveries).where(inArray(webhookDeliveries.id, ids))).map((r) => [r.id, r]));

  const claim = (token: string, limit: number) => {
    const wallNow = new Date();
    return claimDueDeliveries(t.core.db, { wallNow, leaseUntil: new Date(wallNow.getTime() + 60_000), leaseToken: token, limit, perEndpoint: 100, busy: [] });
  };

  it('renews only the deliveries still held under their own token', async () => {
    await t.createUser(); // one event, one delivery per endpoint
    const mine = await claim('token-a', 10);
    assert.equal(mine.length, 3);
    const ids = mine.map((c) => c.delivery.id);
    const later = new Date(Date.now() + 3_600_000);
    // One is held under another token (say its lease lapsed and another worker took it), one is recorded.
    await t.core.db.update(webhookDeliveries).set({ leaseToken: 'token-b' }).where(eq(webhookDeliveries.id, ids[1]!));
    const recorded = await recordAttempts(t.core.db, [{
      deliveryId: ids[2]!, leaseToken: 'token-a', attemptId: `wha_test_${Date.now()}`, at: new Date(), statusCode: 200, durationMs: 3, error: null,
      responseBody: 'ok', nextAttemptAt: null, delivered: true, disable: null, failingCutoff: new Date(0),
    }]);
    assert.deepEqual([...recorded], [ids[2]]);
    const before = await leases(ids);
    await renewLeases(t.core.db, ids.map((id) => ({ id, leaseToken: 'token-a' })), later);
    const after = await leases(ids);
    assert.equal(after.get(ids[0]!)!.until?.getTime(), later.getTime(), 'held: renewed');
    assert.equal(after.get(ids[1]!)!.until?.getTime(), before.get(ids[1]!)!.until?.getTime(), 'another token: untouched');
    assert.equal(after.get(ids[1]!)!.token, 'token-b');
    assert.equal(after.get(ids[2]!)!.until, null, 'recorded: no lease to renew');
  });

  // Two sessions at once: the embedded database runs one statement at a time and has no row lock to wait on.
  it('renews without waiting on a delivery another statement holds locked, and renews it once free', { skip: !usingPostgres() && 'PostgreSQL only' }, async () => {
    await t.createUser();
    const mine = await claim('token-l', 10);
    assert.equal(mine.length, 3);
    const ids = mine.map((c) => c.delivery.id);
    const before = await leases(ids);
    const database = t.core.database;
    assert.equal(database.kind, 'postgres');
    if (database.kind !== 'postgres') return;
    // As the recorder holds a batch's rows until its statement commits.
    const other = await database.pool.connect();
    try {
      await other.query('begin');
      await other.query('select id from webhook_deliveries where id = $1 for no key update', [ids[0]]);
      const later = new Date(Date.now() + 3_600_000);
      const renewed = renewLeases(t.core.db, ids.map((id) => ({ id, leaseToken: 'token-l' })), later).then(() => 'done');
      const waited = await Promise.race([renewed, new Promise((r) => setTimeout(r, 3_000, 'still waiting'))]);
      assert.equal(waited, 'done', 'the renewal passed over the locked row rather than waiting for it');
      const after = await leases(ids);
      assert.equal(after.get(ids[0]!)!.until?.getTime(), before.get(ids[0]!)!.until?.getTime(), 'locked: passed over this time');
      assert.equal(after.get(ids[1]!)!.until?.getTime(), later.getTime());
      assert.equal(after.get(ids[2]!)!.until?.getTime(), later.getTime());
      await other.query('rollback');
      const again = new Date(later.getTime() + 1_000);
      await renewLeases(t.core.db, ids.map((id) => ({ id, leaseToken: 'token-l' })), again);
      assert.equal((await leases(ids)).get(ids[0]!)!.until?.getTime(), again.getTime(), 'free again: renewed by the next renewal');
    } finally {
      await other.query('rollback').catch(() => {});
      other.release();
    }
  });

  it('claims the oldest due deliveries of a backlog that statistics do not know of', async () => {
    // Nothing pending when the statistics are gathered, then a backlog.
    await t.core.db.update(webhookDeliveries).set({ status: 'succeeded', leaseToken: null, leaseUntil: null });
    await t.core.db.execute(sql`analyze webhook_deliveries`);
    for (let i = 0; i < 40; i++) await t.createUser();
    const pending = await t.core.db.select({ id: webhookDeliveries.id, due: webhookDeliveries.nextAttemptAt }).from(webhookDeliveries)
      .where(eq(webhookDeliveries.status, 'pending')).orderBy(webhookDeliveries.nextAttemptAt, webhookDeliveries.id);
    assert.equal(pending.length, 120);
    const got = await claim('token-c', 30);
    assert.equal(got.length, 30);
    const oldest30 = pending.slice(0, 30).map((p) => p.due.getTime());
    assert.ok(got.every((c) => c.delivery.nextAttemptAt.getTime() <= oldest30[29]!), 'the oldest due first');
    // A second claim takes none of the first's.
    const again = await claim('token-d', 200);
    assert.equal(again.length, 90);
    assert.equal(new Set([...got, ...again].map((c) => c.delivery.id)).size, 120);
  });
});
