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
