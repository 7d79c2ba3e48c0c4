/**
 * The background refresh scheduler under the test clock (issue 5): healthy connections are
 * refreshed at their place in each interval, excluded statuses never are, a degraded connection
 * backs off and reaches continued_failures, the budget leaves the user's last refresh alone, and
 * two schedulers ticking together start each refresh once.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { eq } from 'drizzle-orm';
import { openDatabase } from '../src/db/open.js';
import { connections, jobs } from '../src/db/schema.js';
import { createCore, stopJobs } from '../src/runtime.js';
import { runSchedulerTick } from '../src/services/scheduler.js';
import { nextPhaseAfter } from '../src/domain/schedule.js';
import { startTestApp, type TestApp } from './helpers/app.js';

const HOUR = 3_600_000;

describe('background refresh scheduler', () => {
  let t: TestApp;
  before(async () => { t = await startTestApp(); });
  after(async () => { await t.close(); });

  const now = async () => Date.parse((await t.api('GET', '/v1/sandbox/clock')).body.now);
  const advanceTo = async (at: number, plusMs = 60_000) => {
    const by = Math.max(1, Math.ceil((at + plusMs - (await now())) / 1000));
    assert.equal((await t.api('POST', '/v1/sandbox/clock', { advanceBy: `PT${by}S` })).status, 200);
  };
  const scheduledJobs = async (connectionId: string) =>
    (await t.core.db.select().from(jobs).where(eq(jobs.connectionId, connectionId))).filter((j) => j.trigger === 'scheduled');
  async function linked(institutionId = 'ins_sandbox_web') {
    const userId = await t.createUser();
    const res = await t.api('POST', `/v1/users/${userId}/connections`, { institutionId, method: 'web', credentials: { login: 'user_good', password: 'pass_good' } });
    assert.equal((await t.waitForJob(res.body.job.id)).status, 'succeeded');
    const base = `/v1/users/${userId}/connections/${res.body.connection.id}`;
    return { connectionId: res.body.connection.id as string, base, get: async () => (await t.api('GET', base)).body };
  }
  async function lastScheduledJobSettles(connectionId: string, count: number) {
    for (let i = 0; i < 400; i++) {
      const js = await scheduledJobs(connectionId);
      if (js.length >= count && js.every((j) => !['queued', 'running'].includes(j.status))) return js;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`no ${count} settled scheduled jobs for ${connectionId}`);
  }

  it('refreshes a healthy connection at its place in the day, then a day later at the same place', async () => {
    const c = await linked();
    const first = await c.get();
    const next = Date.parse(first.nextScheduledRefreshAt);
    const wait = next - (await now());
    assert.ok(wait > 11 * HOUR && wait <= 37 * HOUR, `first background refresh in ${wait / HOUR} h`);
    await advanceTo(next, -60_000);
    assert.equal((await scheduledJobs(c.connectionId)).length, 0, 'not before its time');
    await advanceTo(next);
    const [job] = await lastScheduledJobSettles(c.connectionId, 1);
    assert.deepEqual([job!.type, job!.trigger, job!.status], ['refresh', 'scheduled', 'succeeded']);
    const after = await c.get();
    assert.equal(Date.parse(after.nextScheduledRefreshAt), next + 24 * HOUR, 'the same phase the next day');
    assert.ok(Date.parse(after.lastSuccessfulSyncAt) >= next);
  });

  it('never refreshes a connection that needs the user, or is unlinked or deleted', async () => {
    const needsUser = await linked();
    await t.api('POST', `/v1/sandbox/connections/${needsUser.connectionId}/simulate`, { event: 'login_required' });
    const unlinked = await linked();
    await t.api('POST', `${unlinked.base}/unlink`);
    const deleted = await linked();
    await t.api('DELETE', deleted.base);
    assert.deepEqual([(await needsUser.get()).nextScheduledRefreshAt, (await unlinked.get()).nextScheduledRefreshAt], [null, null]);
    assert.equal((await t.api('POST', '/v1/sandbox/clock', { advanceBy: 'P3D' })).status, 200);
    await new Promise((r) => setTimeout(r, 300));
    for (const c of [needsUser, unlinked, deleted]) assert.equal((await scheduledJobs(c.connectionId)).length, 0);
  });

  it('backs a degraded connection off 15 min, 30 min, 1 h, 2 h; from the fifth failure it says continued_failures; a success restores it', async () => {
    const c = await linked('ins_sandbox_universal');
    await t.api('POST', '/v1/sandbox/institutions/ins_sandbox_universal/outage', { enabled: true });
    try {
      await advanceTo(Date.parse((await c.get()).nextScheduledRefreshAt));
      await lastScheduledJobSettles(c.connectionId, 1);
      const waits: number[] = [];
      for (let failures = 1; failures <= 5; failures++) {
        const state = await c.get();
        assert.equal(state.status, 'degraded');
        assert.equal(state.statusReason, failures >= 5 ? 'continued_failures' : 'institution_unavailable', `after ${failures} failures`);
        if (failures === 5) break;
        const at = Date.parse(state.nextScheduledRefreshAt);
        waits.push(Math.round((at - Date.parse(state.lastUsedAt)) / 60_000));
        await advanceTo(at);
        await lastScheduledJobSettles(c.connectionId, failures + 1);
      }
      assert.deepEqual(waits.map((w) => Math.round(w / 5) * 5), [15, 30, 60, 120]);
    } finally {
      await t.api('POST', '/v1/sandbox/institutions/ins_sandbox_universal/outage', { enabled: false });
    }
    await advanceTo(Date.parse((await c.get()).nextScheduledRefreshAt));
    await lastScheduledJobSettles(c.connectionId, 6);
    const back = await c.get();
    assert.deepEqual([back.status, back.statusReason], ['active', null]);
    assert.ok(Date.parse(back.nextScheduledRefreshAt) - (await now()) > 11 * HOUR, 'back on the daily schedule');
  });

  it('leaves the last refresh of the day to the user: a background refresh waits for tomorrow', async () => {
    const c = await linked('ins_sandbox_slow'); // 4 refreshes a day, one an hour
    // Spend three of the day's four, early in a day.
    const midnight = new Date(await now());
    midnight.setUTCHours(24, 0, 0, 0);
    await advanceTo(midnight.getTime(), HOUR);
    for (let i = 0; i < 3; i++) {
      const r = await t.api('POST', `${c.base}/refresh`);
      assert.equal(r.status, 202, JSON.stringify(r.body));
      await t.waitForJob(r.body.job.id);
      await advanceTo((await now()) + HOUR, 1000);
    }
    assert.equal((await c.get()).refreshBudget.remainingToday, 1);
    // Each of those pushed the schedule on (fresh data needs no background refresh); make it due again.
    await t.core.db.update(connections).set({ nextScheduledRefreshAt: new Date((await now()) - 1000) }).where(eq(connections.id, c.connectionId));
    const tickedAt = await now();
    assert.equal(await runSchedulerTick(t.core, (await t.api('GET', '/v1/application')).body.id), 1);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal((await scheduledJobs(c.connectionId)).length, 0, 'the last one of the day is the user’s');
    const tomorrow = new Date(tickedAt);
    tomorrow.setUTCHours(24, 0, 0, 0);
    // Tomorrow, at the connection's own place in the day: budget-deferred refreshes do not all start at midnight.
    const [row] = await t.core.db.select().from(connections).where(eq(connections.id, c.connectionId));
    assert.equal((await c.get()).nextScheduledRefreshAt, nextPhaseAfter(row!.scheduleSlot, 24 * HOUR, tomorrow).toISOString(), 'moved to its phase once the budget allows');
  });

  it('defers background refreshes while the institution is in outage (circuit breaker): one probe a tick, the rest spread out, all resume when it recovers', async () => {
    const failing = [await linked('ins_sandbox_universal'), await linked('ins_sandbox_universal'), await linked('ins_sandbox_universal')];
    const waiting = [await linked('ins_sandbox_universal'), await linked('ins_sandbox_universal'), await linked('ins_sandbox_universal'), await linked('ins_sandbox_universal')];
    const appId = (await t.api('GET', '/v1/application')).body.id;
    const dueNow = async (cs: { connectionId: string }[]) => {
      const at = new Date((await now()) - 1000);
      for (const c of cs) await t.core.db.update(connections).set({ nextScheduledRefreshAt: at }).where(eq(connections.id, c.connectionId));
    };
    // The links' own successful calls are the latest before the outage: health follows the calls after them (domain/health.ts).
    await t.api('POST', '/v1/sandbox/institutions/ins_sandbox_universal/outage', { enabled: true });
    const deferred: typeof waiting = [];
    try {
      await dueNow(failing);
      await runSchedulerTick(t.core, appId);
      for (const c of failing) await lastScheduledJobSettles(c.connectionId, 1);
      assert.deepEqual((await Promise.all(failing.map((c) => c.get()))).map((c) => c.status), ['degraded', 'degraded', 'degraded']);
      const institution = (await t.api('GET', '/v1/institutions/ins_sandbox_universal')).body;
      assert.equal(institution.health.status, 'outage');
      // The breaker is open: one due refresh probes the institution, the others wait instead of failing.
      await dueNow(waiting);
      await runSchedulerTick(t.core, appId);
      await new Promise((r) => setTimeout(r, 300));
      const started = (await Promise.all(waiting.map((c) => scheduledJobs(c.connectionId)))).map((js) => js.length);
      assert.deepEqual(started.sort(), [0, 0, 0, 1], 'one probe, three deferred');
      for (const c of waiting) if ((await scheduledJobs(c.connectionId)).length === 0) deferred.push(c);
      const nowMs = await now();
      const waits = [];
      for (const c of deferred) {
        const view = await c.get();
        assert.deepEqual([view.status, view.statusReason], ['active', null], 'not failed');
        waits.push(Date.parse(view.nextScheduledRefreshAt) - nowMs);
      }
      for (const w of waits) assert.ok(w > 9 * 60_000 && w <= 20 * 60_000, `looks again in ${w / 60_000} min`);
      assert.equal(new Set(waits.map((w) => Math.round(w / 1000))).size, waits.length, `spread, not together: ${waits}`);
    } finally {
      await t.api('POST', '/v1/sandbox/institutions/ins_sandbox_universal/outage', { enabled: false });
    }
    // The failures age out of the window, and the deferred refreshes go through as they come due.
    assert.equal((await t.api('POST', '/v1/sandbox/clock', { advanceBy: 'PT21M' })).status, 200);
    for (const c of deferred) {
      const js = await lastScheduledJobSettles(c.connectionId, 1);
      assert.deepEqual(js.map((j) => j.status), ['succeeded'], 'each deferred refresh ran once, when it came due');
    }
    for (const c of failing) await lastScheduledJobSettles(c.connectionId, 2);
    assert.deepEqual((await Promise.all([...failing, ...deferred].map((c) => c.get()))).map((c) => c.status), Array(6).fill('active'));
  });

  it('does not refresh a connection to an always-MFA institution in the background: once due, it needs the user', async () => {
    const userId = await t.createUser();
    const res = await t.api('POST', `/v1/users/${userId}/connections`, { institutionId: 'ins_sandbox_mfa', method: 'web', credentials: { login: 'user_good', password: 'pass_good' } });
    await t.waitForJob(res.body.job.id, (j) => j.status === 'awaiting_input');
    await t.api('POST', `/v1/jobs/${res.body.job.id}/mfa`, { code: '1234' });
    assert.equal((await t.waitForJob(res.body.job.id)).status, 'succeeded');
    const base = `/v1/users/${userId}/connections/${res.body.connection.id}`;
    const due = Date.parse((await t.api('GET', base)).body.nextScheduledRefreshAt);
    await advanceTo(due);
    const c = (await t.api('GET', base)).body;
    assert.deepEqual([c.status, c.statusReason, c.userAction], ['reconnect_required', 'mfa_required', 'reconnect']);
    assert.equal((await scheduledJobs(res.body.connection.id)).length, 0);
  });

  it('two schedulers ticking together start each due refresh once', async () => {
    const linkedOnes = [];
    for (let i = 0; i < 12; i++) linkedOnes.push(await linked());
    const second = t.core.database.kind === 'postgres'
      ? await createCore(t.core.config, { database: await openDatabase({ databaseUrl: t.core.database.url, dataDir: '' }), logLevel: 'silent' })
      : t.core;
    try {
      // Due now, without moving the clock (which would tick the scheduler itself).
      const at = new Date((await now()) - 1000);
      for (const c of linkedOnes) await t.core.db.update(connections).set({ nextScheduledRefreshAt: at }).where(eq(connections.id, c.connectionId));
      const [a, b] = await Promise.all([runSchedulerTick(t.core), runSchedulerTick(second)]);
      // The process's own tick (every 15 s) may take some of them in between; whoever claims, none is claimed twice.
      assert.ok(a + b <= 12, `claimed ${a} + ${b}`);
      for (const c of linkedOnes) {
        const js = await lastScheduledJobSettles(c.connectionId, 1);
        assert.equal(js.length, 1, `${c.connectionId}: one background refresh`);
      }
    } finally {
      if (second !== t.core) {
        await stopJobs(second);
        await second.database.close();
      }
    }
  });
});
