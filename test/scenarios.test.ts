/** Every sandbox magic credential and institution, through the HTTP API (PRODUCT.md §5). */
import { createSandboxProvider } from '../src/providers/sandbox/index.js';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { flakyRunFails } from '../src/providers/sandbox/index.js';
import { refreshConnection } from '../src/services/connections.js';
import { findDefaultApplication } from '../src/db/repos/applications.js';
import { startTestApp, type TestApp } from './helpers/app.js';
import { windowOf } from '../src/providers/types.js';

let t: TestApp;
before(async () => { t = await startTestApp(); });
after(async () => { await t.close(); });

async function link(login: string, password = 'pass_good', institutionId = 'ins_sandbox_web') {
  const userId = await t.createUser();
  const res = await t.api('POST', `/v1/users/${userId}/connections`, { institutionId, method: 'web', credentials: { login, password } });
  assert.equal(res.status, 202, JSON.stringify(res.body));
  return { userId, connectionId: res.body.connection.id as string, jobId: res.body.job.id as string };
}

const getConnection = async (userId: string, connectionId: string) => (await t.api('GET', `/v1/users/${userId}/connections/${connectionId}`)).body;

async function allTransactions(userId: string) {
  const out: any[] = [];
  let cursor: string | null = null;
  do {
    const page: any = (await t.api('GET', `/v1/users/${userId}/transactions?limit=500${cursor ? `&cursor=${cursor}` : ''}`)).body;
    out.push(...page.data);
    cursor = page.nextCursor;
  } while (cursor);
  return out;
}

describe('magic credentials', () => {
  it('user_good / pass_good: active with four kinds of account, a year of history, pending ones and a profile', async () => {
    const { userId, connectionId, jobId } = await link('user_good');
    assert.equal((await t.waitForJob(jobId)).status, 'succeeded');
    const con = await getConnection(userId, connectionId);
    assert.deepEqual([con.status, con.statusReason], ['active', null]);
    const accounts = (await t.api('GET', `/v1/users/${userId}/accounts`)).body.data;
    const types = new Set(accounts.map((a: any) => a.type));
    for (const type of ['transaction', 'savings', 'credit_card']) assert.ok(types.has(type), `has a ${type} account`);
    assert.ok(types.has('loan') || types.has('mortgage'));
    const txns = await allTransactions(userId);
    const dates = txns.map((x) => x.date).sort();
    const spanDays = (Date.parse(dates[dates.length - 1]) - Date.parse(dates[0])) / 86_400_000;
    assert.ok(spanDays >= 330, `about twelve months of history, got ${spanDays} days`);
    assert.ok(txns.some((x) => x.status === 'pending'));
    const profile = (await t.api('GET', `/v1/users/${userId}/connections/${connectionId}/profile`)).body;
    assert.equal(profile.masked, true);
    assert.ok(profile.names.length > 0 && profile.emails.length > 0 && profile.phones.length > 0 && profile.addresses.length > 0);
    assert.match(profile.emails[0].address, /^.\*\*\*@/);
    const unmasked = (await t.api('GET', `/v1/users/${userId}/connections/${connectionId}/profile?unmasked=true`)).body;
    assert.equal(unmasked.masked, false);
    assert.notEqual(unmasked.emails[0].address, profile.emails[0].address);
  });

  it('the same login gives the same history', async () => {
    const a = await link('user_good');
    const b = await link('user_good');
    await t.waitForJob(a.jobId);
    await t.waitForJob(b.jobId);
    const shape = (txns: any[]) => txns.map((x) => `${x.date}|${x.amount}|${x.description}|${x.status}`).sort();
    assert.deepEqual(shape(await allTransactions(a.userId)), shape(await allTransactions(b.userId)));
  });

  it('balances agree with transactions: the balance moves by exactly what posted in between', async () => {
    const { userId, connectionId, jobId } = await link('balance_check');
    await t.waitForJob(jobId);
    const before = (await t.api('GET', `/v1/users/${userId}/accounts`)).body.data;
    const day1 = (await t.api('GET', '/v1/sandbox/clock')).body.now.slice(0, 10);
    await t.api('POST', '/v1/sandbox/clock', { advanceBy: 'P10D' });
    const day2 = (await t.api('GET', '/v1/sandbox/clock')).body.now.slice(0, 10);
    const r = await t.api('POST', `/v1/users/${userId}/connections/${connectionId}/refresh`);
    assert.equal((await t.waitForJob(r.body.job.id)).status, 'succeeded');
    const afterAccounts = (await t.api('GET', `/v1/users/${userId}/accounts`)).body.data;
    const txns = await allTransactions(userId);
    let moved = 0;
    for (const a of before) {
      const now = afterAccounts.find((x: any) => x.id === a.id);
      const posted = txns.filter((x) => x.accountId === a.id && x.status === 'posted' && x.date > day1 && x.date <= day2)
        .reduce((sum, x) => sum + x.amount, 0);
      assert.equal(now.balances.current - a.balances.current, posted, `${a.type} ${a.name}`);
      if (posted !== 0) moved++;
    }
    assert.ok(moved > 0, 'ten days move some balance');
  });

  it('pass_bad: failed / invalid_credentials with the step saying why', async () => {
    const { userId, connectionId, jobId } = await link('user_good', 'pass_bad');
    const job = await t.waitForJob(jobId);
    assert.equal(job.status, 'failed');
    assert.deepEqual([job.steps[0].status, job.steps[0].resultCode], ['failed', 'invalid_credentials']);
    assert.ok(job.steps.slice(1).every((s: any) => s.status === 'skipped'));
    const con = await getConnection(userId, connectionId);
    assert.deepEqual([con.status, con.statusReason, con.userAction], ['failed', 'invalid_credentials', 'reconnect']);
  });

  it('any other password is invalid too', async () => {
    const { userId, connectionId, jobId } = await link('someone', 'hunter2');
    await t.waitForJob(jobId);
    assert.equal((await getConnection(userId, connectionId)).statusReason, 'invalid_credentials');
  });

  it('user_locked: account_locked', async () => {
    const { userId, connectionId, jobId } = await link('user_locked', 'pass_good');
    assert.equal((await t.waitForJob(jobId)).error.code, 'account_locked');
    assert.deepEqual([(await getConnection(userId, connectionId)).status, (await getConnection(userId, connectionId)).statusReason], ['failed', 'account_locked']);
  });

  it('user_mfa on the always-MFA institution waits for a code with any login', async () => {
    const { jobId } = await link('user_good', 'pass_good', 'ins_sandbox_mfa');
    const waiting = await t.waitForJob(jobId, (j) => j.status === 'awaiting_input');
    assert.equal(waiting.steps[0].status, 'awaiting_input');
    assert.equal((await t.api('POST', `/v1/jobs/${jobId}/mfa`, { code: '1234' })).status, 202);
    assert.equal((await t.waitForJob(jobId)).status, 'succeeded');
  });

  it('user_flaky: transient failures are retried and the job still succeeds', async () => {
    // The sandbox decides per run key (job id and attempt); keep linking until a retried job succeeds.
    let retried: any = null;
    for (let i = 0; i < 40 && !retried; i++) {
      const { userId, connectionId, jobId } = await link('user_flaky');
      const job = await t.waitForJob(jobId);
      const con = await getConnection(userId, connectionId);
      if (job.status === 'succeeded') assert.equal(con.status, 'active');
      else {
        // Every attempt failed (about one job in eighty): all four were made, and the reason says so.
        assert.equal(job.attempts, 4);
        assert.deepEqual([con.status, con.statusReason], ['failed', 'institution_unavailable']);
      }
      assert.equal(job.attempts > 1, flakyRunFails(`${jobId}:1`), 'a retry happens exactly when the first run fails');
      if (job.attempts > 1 && job.status === 'succeeded') retried = job;
    }
    assert.ok(retried, 'a job whose first run failed succeeded on a retry');
  });

  it('user_new_accounts: the next refresh finds a new account and says so, without adding it', async () => {
    const { userId, connectionId, jobId } = await link('user_new_accounts');
    await t.waitForJob(jobId);
    const before = (await t.api('GET', `/v1/users/${userId}/accounts`)).body.data.length;
    const r = await t.api('POST', `/v1/users/${userId}/connections/${connectionId}/refresh`);
    const job = await t.waitForJob(r.body.job.id);
    assert.equal(job.steps.find((s: any) => s.name === 'retrieve-accounts').resultCode, 'new_accounts_available');
    const con = await getConnection(userId, connectionId);
    assert.deepEqual([con.status, con.statusReason], ['active', 'new_accounts_available']);
    assert.ok(con.allowedActions.includes('repair'));
    assert.equal((await t.api('GET', `/v1/users/${userId}/accounts`)).body.data.length, before);
  });

  it('user_expiring: active with access_expiring_soon, access ending in three days', async () => {
    const { userId, connectionId, jobId } = await link('user_expiring');
    await t.waitForJob(jobId);
    const con = await getConnection(userId, connectionId);
    assert.deepEqual([con.status, con.statusReason], ['active', 'access_expiring_soon']);
    const now = Date.parse((await t.api('GET', '/v1/sandbox/clock')).body.now);
    const days = (Date.parse(con.accessExpiresAt) - now) / 86_400_000;
    assert.ok(days > 2.9 && days < 3.1, `${days}`);
  });

  it('user_expiring over openbanking: a consent that ends in three days', async () => {
    const userId = await t.createUser();
    const res = await t.api('POST', `/v1/users/${userId}/connections`, { institutionId: 'ins_sandbox_universal', method: 'openbanking' });
    await t.app.inject({ method: 'POST', url: new URL(res.body.authorizationUrl).pathname, payload: 'decision=approve&persona=user_expiring', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    const jobs = (await t.api('GET', `/v1/users/${userId}/connections/${res.body.connection.id}/jobs`)).body.data;
    assert.equal((await t.waitForJob(jobs[0].id)).status, 'succeeded');
    const con = await getConnection(userId, res.body.connection.id);
    assert.deepEqual([con.status, con.statusReason], ['active', 'access_expiring_soon']);
    assert.ok(Date.parse(con.consent.expiresAt) - Date.parse(con.consent.grantedAt) <= 3 * 86_400_000 + 1000);
  });
});

describe('sandbox institutions', () => {
  it('the outage institution fails the first attempt after its retries: failed / institution_unavailable', async () => {
    const { userId, connectionId, jobId } = await link('user_good', 'pass_good', 'ins_sandbox_outage');
    const job = await t.waitForJob(jobId);
    assert.equal(job.status, 'failed');
    assert.equal(job.attempts, 4, 'the first run and three retries');
    assert.deepEqual([job.steps[0].status, job.steps[0].resultCode], ['failed', 'institution_unavailable']);
    const con = await getConnection(userId, connectionId);
    assert.deepEqual([con.status, con.statusReason, con.userAction], ['failed', 'institution_unavailable', 'wait']);
    const inst = (await t.api('GET', '/v1/institutions/ins_sandbox_outage')).body;
    assert.equal(inst.health.status, 'outage');
    assert.equal((await t.api('GET', '/v1/institutions/ins_sandbox_web')).body.health.status, 'operational');
  });

  for (const institutionId of ['ins_sandbox_web', 'ins_sandbox_nolink']) {
    it(`${institutionId}: pending transactions post as the same transaction, one row per provider transaction`, async () => {
      const { userId, connectionId, jobId } = await link('posting_check', 'pass_good', institutionId);
      await t.waitForJob(jobId);
      const pending = (await allTransactions(userId)).filter((x) => x.status === 'pending');
      assert.ok(pending.length > 0);
      await t.api('POST', '/v1/sandbox/clock', { advanceBy: 'P8D' });
      const r = await t.api('POST', `/v1/users/${userId}/connections/${connectionId}/refresh`);
      assert.equal((await t.waitForJob(r.body.job.id)).status, 'succeeded');
      const txns = await allTransactions(userId);
      const byId = new Map(txns.map((x) => [x.id, x]));
      const postedNow = pending.filter((p) => byId.get(p.id)?.status === 'posted');
      assert.ok(postedNow.length > 0, 'some pending ones posted under their own id');
      for (const p of postedNow) assert.equal(byId.get(p.id).amount, p.amount);
      // Compare with what the provider itself returns for the same window: one row each, no duplicates.
      const app = (await findDefaultApplication(t.core.db))!;
      const now = new Date(Date.now() + app.clockOffsetMs);
      // The provider serves twelve months back from today; compare inside that window.
      const from = new Date(now.getTime() - 360 * 86_400_000).toISOString().slice(0, 10);
      const fromProvider = windowOf(await createSandboxProvider({ latencyMs: 0 }).fetchTransactions(
        { institutionId, access: { kind: 'web', login: 'posting_check', password: 'pass_good' }, firstSyncedAt: now },
        { from, to: now.toISOString().slice(0, 10) }, { now, runKey: 'check' })).transactions;
      const stored = txns.filter((x) => x.date >= from);
      assert.equal(stored.length, fromProvider.length, 'one stored transaction per provider transaction');
      const shape = (x: { date: string; amount: number; status: string }) => `${x.date}|${x.amount}|${x.status}`;
      assert.deepEqual(stored.map(shape).sort(), fromProvider.map(shape).sort());
    });
  }
});

describe('background refresh and MFA', () => {
  it('a background refresh that meets MFA makes the connection reconnect_required / mfa_required', async () => {
    const { userId, connectionId, jobId } = await link('user_good', 'pass_good', 'ins_sandbox_mfa');
    await t.waitForJob(jobId, (j) => j.status === 'awaiting_input');
    await t.api('POST', `/v1/jobs/${jobId}/mfa`, { code: '1234' });
    await t.waitForJob(jobId);
    const tenant = { application: (await findDefaultApplication(t.core.db))! };
    const r = await refreshConnection(t.core, tenant, userId, connectionId, undefined, 'scheduled');
    const job = await t.waitForJob(r.job.id);
    assert.equal(job.status, 'failed');
    assert.equal(job.error.code, 'mfa_required');
    const con = await getConnection(userId, connectionId);
    assert.deepEqual([con.status, con.statusReason, con.userAction], ['reconnect_required', 'mfa_required', 'reconnect']);
    assert.ok(con.allowedActions.includes('repair'));
  });
});
