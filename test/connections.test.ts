import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApp, type TestApp } from './helpers/app.js';

let t: TestApp;
before(async () => { t = await startTestApp(); });
after(async () => { await t.close(); });

async function linkWeb(userId: string, login = 'user_good', institutionId = 'ins_sandbox_web', password = 'pass_good') {
  const res = await t.api('POST', `/v1/users/${userId}/connections`, { institutionId, method: 'web', credentials: { login, password } });
  assert.equal(res.status, 202, JSON.stringify(res.body));
  return res.body as { connection: any; job: any };
}

describe('web connections', () => {
  it('creates a connection whose job runs step by step to active, with accounts and transactions', async () => {
    const userId = await t.createUser();
    const { connection, job } = await linkWeb(userId);
    assert.equal(connection.status, 'pending');
    assert.equal(job.status, 'queued');
    assert.deepEqual(job.steps.map((s: any) => s.name), ['verify-credentials', 'retrieve-accounts', 'retrieve-transactions', 'retrieve-identity']);
    const done = await t.waitForJob(job.id);
    assert.equal(done.status, 'succeeded', JSON.stringify(done));
    for (const step of done.steps) {
      assert.equal(step.status, 'success');
      assert.equal(step.resultCode, 'ok');
      assert.ok(step.startedAt && step.finishedAt && step.startedAt <= step.finishedAt);
    }
    const con = (await t.api('GET', `/v1/users/${userId}/connections/${connection.id}`)).body;
    assert.equal(con.status, 'active');
    assert.equal(con.statusReason, null);
    assert.ok(con.firstSyncedAt && con.lastSuccessfulSyncAt && con.lastUsedAt);
    assert.deepEqual(con.allowedActions, ['refresh', 'update_products', 'purge', 'unlink', 'delete']);
    const accounts = (await t.api('GET', `/v1/users/${userId}/accounts`)).body.data;
    assert.ok(accounts.length >= 4);
    assert.ok(new Set(accounts.map((a: any) => a.type)).size >= 4);
    const txns = (await t.api('GET', `/v1/users/${userId}/transactions?limit=500`)).body;
    assert.equal(txns.data.length, 500);
    assert.ok(txns.nextCursor);
    assert.ok(txns.data.some((x: any) => x.status === 'pending'));
    for (const x of txns.data) assert.ok(Number.isInteger(x.amount));
  });

  it('answers the job in flight with 200 when refresh is called again, and never starts a second one', async () => {
    const userId = await t.createUser();
    const { connection, job } = await linkWeb(userId);
    await t.waitForJob(job.id);
    const [a, b, c] = await Promise.all([0, 1, 2].map(() => t.api('POST', `/v1/users/${userId}/connections/${connection.id}/refresh`)));
    const statuses = [a!, b!, c!].map((r) => r.status).sort();
    assert.deepEqual(statuses, [200, 200, 202]);
    const ids = new Set([a!, b!, c!].map((r) => r.body.job.id));
    assert.equal(ids.size, 1);
    const refreshed = await t.waitForJob([...ids][0]!);
    assert.equal(refreshed.status, 'succeeded');
    assert.equal(refreshed.type, 'refresh');
    const history = (await t.api('GET', `/v1/users/${userId}/connections/${connection.id}/jobs`)).body.data;
    assert.deepEqual(history.map((j: any) => j.type), ['refresh', 'create']);
  });

  it('refreshes only the products asked for', async () => {
    const userId = await t.createUser();
    const { connection, job } = await linkWeb(userId);
    await t.waitForJob(job.id);
    const res = await t.api('POST', `/v1/users/${userId}/connections/${connection.id}/refresh`, { products: ['identity'] });
    assert.equal(res.status, 202);
    assert.deepEqual(res.body.job.steps.map((s: any) => s.name), ['verify-credentials', 'retrieve-accounts', 'retrieve-identity']);
    assert.equal((await t.waitForJob(res.body.job.id)).status, 'succeeded');
  });

  it('re-running refreshes changes no stored transaction', async () => {
    const userId = await t.createUser();
    const { connection, job } = await linkWeb(userId);
    await t.waitForJob(job.id);
    const before = (await t.api('GET', `/v1/users/${userId}/transactions?limit=500`)).body.data;
    const cursor = (await t.api('GET', `/v1/users/${userId}/transactions/sync?limit=500`)).body;
    let next = cursor.nextCursor;
    let more = cursor.hasMore;
    while (more) {
      const page = (await t.api('GET', `/v1/users/${userId}/transactions/sync?limit=500&cursor=${next}`)).body;
      next = page.nextCursor; more = page.hasMore;
    }
    for (let i = 0; i < 2; i++) {
      const r = await t.api('POST', `/v1/users/${userId}/connections/${connection.id}/refresh`);
      assert.equal((await t.waitForJob(r.body.job.id)).status, 'succeeded');
    }
    const afterList = (await t.api('GET', `/v1/users/${userId}/transactions?limit=500`)).body.data;
    assert.deepEqual(afterList, before);
    const feed = (await t.api('GET', `/v1/users/${userId}/transactions/sync?cursor=${next}`)).body;
    assert.deepEqual([feed.added.length, feed.modified.length, feed.removed.length], [0, 0, 0]);
  });

  it('pays out the refresh budget and then answers 429 with Retry-After', async () => {
    const userId = await t.createUser();
    const { connection, job } = await linkWeb(userId, 'user_good', 'ins_sandbox_slow');
    await t.waitForJob(job.id, undefined, 60_000);
    const con = (await t.api('GET', `/v1/users/${userId}/connections/${connection.id}`)).body;
    assert.equal(con.refreshBudget.remainingToday, 4);
    const first = await t.api('POST', `/v1/users/${userId}/connections/${connection.id}/refresh`);
    assert.equal(first.status, 202);
    await t.waitForJob(first.body.job.id, undefined, 60_000);
    const second = await t.api('POST', `/v1/users/${userId}/connections/${connection.id}/refresh`);
    assert.equal(second.status, 429);
    assert.equal(second.body.code, 'refresh_budget_exhausted');
    assert.ok(Number(second.headers['retry-after']) > 3500);
    assert.equal(second.body.refreshBudget.remainingToday, 3);
  });
});

describe('MFA', () => {
  it('waits for the code, resumes with 1234 and becomes active', async () => {
    const userId = await t.createUser();
    const { connection, job } = await linkWeb(userId, 'user_mfa');
    const waiting = await t.waitForJob(job.id, (j) => j.status === 'awaiting_input');
    assert.equal(waiting.steps[0].status, 'awaiting_input');
    assert.ok(waiting.mfa.prompt.length > 0);
    const again = await t.api('POST', `/v1/users/${userId}/connections/${connection.id}/refresh`);
    assert.equal(again.status, 200, 'a refresh while a job waits answers that job');
    assert.equal(again.body.job.id, job.id);
    assert.equal(again.body.job.status, 'awaiting_input');
    const answered = await t.api('POST', `/v1/jobs/${job.id}/mfa`, { code: '1234' });
    assert.equal(answered.status, 202);
    const done = await t.waitForJob(job.id);
    assert.equal(done.status, 'succeeded');
    assert.equal((await t.api('GET', `/v1/users/${userId}/connections/${connection.id}`)).body.status, 'active');
  });

  it('fails the step on a wrong code and the connection becomes failed', async () => {
    const userId = await t.createUser();
    const { connection, job } = await linkWeb(userId, 'user_mfa');
    await t.waitForJob(job.id, (j) => j.status === 'awaiting_input');
    await t.api('POST', `/v1/jobs/${job.id}/mfa`, { code: '9999' });
    const done = await t.waitForJob(job.id);
    assert.equal(done.status, 'failed');
    assert.equal(done.steps[0].status, 'failed');
    assert.equal(done.steps[0].resultCode, 'mfa_failed');
    assert.equal(done.error.code, 'mfa_failed');
    const con = (await t.api('GET', `/v1/users/${userId}/connections/${connection.id}`)).body;
    assert.deepEqual([con.status, con.statusReason], ['failed', 'mfa_failed']);
  });

  it('answers 409 to a code for a job that is not waiting', async () => {
    const userId = await t.createUser();
    const { job } = await linkWeb(userId);
    await t.waitForJob(job.id);
    const res = await t.api('POST', `/v1/jobs/${job.id}/mfa`, { code: '1234' });
    assert.equal(res.status, 409);
    assert.equal(res.body.code, 'job_not_awaiting_input');
  });
});

describe('openbanking connections', () => {
  async function linkOpenbanking(userId: string, institutionId = 'ins_sandbox_openbank') {
    const res = await t.api('POST', `/v1/users/${userId}/connections`, { institutionId, method: 'openbanking' });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.equal(res.body.connection.status, 'pre_init');
    assert.equal(res.body.job, null);
    return res.body as { connection: any; authorizationUrl: string };
  }

  it('approving on the consent page starts the job and the connection becomes active with a consent', async () => {
    const userId = await t.createUser();
    const { connection, authorizationUrl } = await linkOpenbanking(userId);
    const path = new URL(authorizationUrl).pathname;
    const page = await t.app.inject({ method: 'GET', url: path });
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /Approve/);
    const approved = await t.app.inject({ method: 'POST', url: path, payload: 'decision=approve&persona=user_good', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    assert.equal(approved.statusCode, 200, approved.body);
    const jobs = (await t.api('GET', `/v1/users/${userId}/connections/${connection.id}/jobs`)).body.data;
    assert.equal(jobs.length, 1);
    assert.equal(jobs[0].steps[0].name, 'authorize');
    assert.equal((await t.waitForJob(jobs[0].id)).status, 'succeeded');
    const con = (await t.api('GET', `/v1/users/${userId}/connections/${connection.id}`)).body;
    assert.equal(con.status, 'active');
    assert.ok(con.consent.grantedAt && con.consent.expiresAt);
    const days = (Date.parse(con.consent.expiresAt) - Date.parse(con.consent.grantedAt)) / 86_400_000;
    assert.ok(days > 360 && days < 370);
    const reuse = await t.app.inject({ method: 'POST', url: path, payload: 'decision=approve', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    assert.equal(reuse.statusCode, 404, 'an authorisation link works once');
  });

  it('denying fails the connection with authorization_denied', async () => {
    const userId = await t.createUser();
    const { connection, authorizationUrl } = await linkOpenbanking(userId);
    const denied = await t.app.inject({ method: 'POST', url: new URL(authorizationUrl).pathname, payload: 'decision=deny', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    assert.equal(denied.statusCode, 200);
    const con = (await t.api('GET', `/v1/users/${userId}/connections/${connection.id}`)).body;
    assert.deepEqual([con.status, con.statusReason], ['failed', 'authorization_denied']);
    assert.ok(con.allowedActions.includes('repair'));
  });

  it('refuses credentials on openbanking and openbanking on a web-only institution', async () => {
    const userId = await t.createUser();
    const withCreds = await t.api('POST', `/v1/users/${userId}/connections`, { institutionId: 'ins_sandbox_openbank', method: 'openbanking', credentials: { login: 'a', password: 'b' } });
    assert.equal(withCreds.status, 400);
    assert.equal(withCreds.body.code, 'credentials_not_allowed');
    const wrong = await t.api('POST', `/v1/users/${userId}/connections`, { institutionId: 'ins_sandbox_web', method: 'openbanking' });
    assert.equal(wrong.status, 400);
    assert.equal(wrong.body.code, 'unsupported_method');
  });
});

describe('transactions over time', () => {
  it('pending transactions post on a later refresh as the same transaction, and the feed reports it as modified', async () => {
    const userId = await t.createUser();
    const { job, connection } = await linkWeb(userId);
    await t.waitForJob(job.id);
    const pending = (await t.api('GET', `/v1/users/${userId}/transactions?status=pending&limit=500`)).body.data;
    assert.ok(pending.length > 0);
    let feed = (await t.api('GET', `/v1/users/${userId}/transactions/sync?limit=500`)).body;
    while (feed.hasMore) feed = (await t.api('GET', `/v1/users/${userId}/transactions/sync?limit=500&cursor=${feed.nextCursor}`)).body;
    const cursor = feed.nextCursor;
    const clock = await t.api('POST', '/v1/sandbox/clock', { advanceBy: 'P7D' });
    assert.equal(clock.status, 200);
    const r = await t.api('POST', `/v1/users/${userId}/connections/${connection.id}/refresh`);
    assert.equal((await t.waitForJob(r.body.job.id)).status, 'succeeded');
    const all = (await t.api('GET', `/v1/users/${userId}/transactions?limit=500`)).body.data;
    const byId = new Map(all.map((x: any) => [x.id, x]));
    let posted = 0;
    let removed = 0;
    for (const p of pending) {
      const now = byId.get(p.id) as any;
      if (!now) { removed++; continue; }
      assert.equal(now.status, 'posted', `pending ${p.id} should have posted after 7 days`);
      assert.equal(now.amount, p.amount);
      posted++;
    }
    assert.ok(posted > 0);
    const changes = (await t.api('GET', `/v1/users/${userId}/transactions/sync?limit=500&cursor=${cursor}`)).body;
    const modifiedIds = new Set(changes.modified.map((x: any) => x.id));
    for (const p of pending) if (byId.has(p.id)) assert.ok(modifiedIds.has(p.id));
    assert.equal(changes.removed.length, removed);
    assert.ok(changes.added.length > 0, 'a week brings new transactions');
    // No duplicates: every provider transaction is one row.
    const keys = all.map((x: any) => `${x.accountId}|${x.date}|${x.amount}|${x.description}`);
    assert.ok(new Set(all.map((x: any) => x.id)).size === all.length);
    void keys;
  });
});
