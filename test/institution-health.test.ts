/**
 * Institution health follows the latest calls (issue 11 item 12, domain/health.ts): after a busy
 * spell of successful refreshes, four failed calls in a row are an outage (the institution view
 * says so and the scheduler's circuit breaker opens), and once calls succeed again it clears.
 * Jobs are not retried here, so each refresh is one provider call per step and the four failures
 * are four calls, not four refreshes with their retries.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { eq } from 'drizzle-orm';
import { connections, jobs, providerCalls } from '../src/db/schema.js';
import { runSchedulerTick } from '../src/services/scheduler.js';
import { startTestApp, type TestApp } from './helpers/app.js';

const BANK = 'ins_sandbox_universal';

describe('institution health follows the latest calls', () => {
  let t: TestApp;
  let appId: string;
  before(async () => {
    t = await startTestApp({ config: { retryLimit: 0, backgroundRefresh: false } });
    appId = (await t.api('GET', '/v1/application')).body.id;
  });
  after(async () => { await t.close(); });

  const health = async () => (await t.api('GET', `/v1/institutions/${BANK}`)).body.health;
  const healthInList = async () => (await t.api('GET', '/v1/institutions')).body.data.find((i: { id: string }) => i.id === BANK).health;
  const outage = async (enabled: boolean) => assert.equal((await t.api('POST', `/v1/sandbox/institutions/${BANK}/outage`, { enabled })).status, 200);
  const now = async () => Date.parse((await t.api('GET', '/v1/sandbox/clock')).body.now);

  async function link(login: string) {
    const userId = await t.createUser();
    const res = await t.api('POST', `/v1/users/${userId}/connections`, { institutionId: BANK, method: 'web', credentials: { login, password: 'pass_good' } });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    assert.equal((await t.waitForJob(res.body.job.id)).status, 'succeeded');
    return { connectionId: res.body.connection.id as string, base: `/v1/users/${userId}/connections/${res.body.connection.id}` };
  }
  async function refresh(c: { base: string }) {
    const res = await t.api('POST', `${c.base}/refresh`);
    assert.equal(res.status, 202, JSON.stringify(res.body));
    return (await t.waitForJob(res.body.job.id)).status as string;
  }
  const failingCalls = async () => (await t.core.db.select().from(providerCalls)).filter((p) => p.errorCode === 'institution_unavailable').length;
  const scheduledJobs = async (connectionId: string) =>
    (await t.core.db.select().from(jobs).where(eq(jobs.connectionId, connectionId))).filter((j) => j.trigger === 'scheduled');
  const dueNow = async (cs: { connectionId: string }[]) => {
    const at = new Date((await now()) - 1000);
    for (const c of cs) await t.core.db.update(connections).set({ nextScheduledRefreshAt: at }).where(eq(connections.id, c.connectionId));
  };

  it('shows an outage after 20 successful refreshes and 4 failed calls, opens the breaker, and clears once calls succeed', async () => {
    const linked = [await link('health_a'), await link('health_b'), await link('health_c'), await link('health_d')];
    for (let i = 0; i < 20; i++) assert.equal(await refresh(linked[i % linked.length]!), 'succeeded');
    assert.deepEqual(await health(), { status: 'operational', since: null });

    await outage(true);
    try {
      const seen: string[] = [];
      for (let i = 0; i < 4; i++) {
        assert.equal(await refresh(linked[i]!), 'failed');
        assert.equal(await failingCalls(), i + 1, 'one call per failed refresh');
        seen.push((await health()).status);
      }
      // One and two failures after a busy spell are noise or trouble, three are trouble; four in a row are an outage.
      assert.deepEqual(seen, ['operational', 'degraded', 'degraded', 'outage']);
      const firstFailure = (await t.core.db.select().from(providerCalls)).filter((p) => p.errorCode === 'institution_unavailable')
        .map((p) => p.createdAt.getTime()).sort((a, b) => a - b)[0]!;
      const shown = await health();
      assert.deepEqual(shown, { status: 'outage', since: new Date(firstFailure).toISOString() });
      assert.deepEqual(await healthInList(), shown, 'the list says what the institution says');

      // The circuit breaker is open: of the due background refreshes one probes, the others wait.
      await dueNow(linked);
      await runSchedulerTick(t.core, appId);
      await new Promise((r) => setTimeout(r, 300));
      for (const c of linked) for (const j of await scheduledJobs(c.connectionId)) await t.waitForJob(j.id);
      const started = (await Promise.all(linked.map((c) => scheduledJobs(c.connectionId)))).map((js) => js.length);
      assert.deepEqual([...started].sort(), [0, 0, 0, 1], 'one probe, three deferred');
      assert.equal((await health()).status, 'outage', 'the probe failed too');
    } finally {
      await outage(false);
    }

    // Back: the first success closes the breaker at once; five in a row and health is operational again.
    assert.equal(await refresh(linked[0]!), 'succeeded');
    assert.notEqual((await health()).status, 'outage', 'the first success ends the outage');
    for (let i = 1; i < 5; i++) assert.equal(await refresh(linked[i % linked.length]!), 'succeeded');
    assert.deepEqual(await health(), { status: 'operational', since: null });
    assert.deepEqual(await healthInList(), { status: 'operational', since: null });
  });
});
