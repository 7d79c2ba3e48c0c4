/**
 * Repair, update products and the sandbox's simulate call through the HTTP API (PRODUCT.md §3, §5):
 * the same connection and account ids, no history fetched twice, consent renewed.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { eq } from 'drizzle-orm';
import { connections, jobs, transactions } from '../src/db/schema.js';
import { createSandboxProvider } from '../src/providers/sandbox/index.js';
import { ProviderError, type Provider } from '../src/providers/types.js';
import { startTestApp, type TestApp } from './helpers/app.js';
import { insertJobUnlessLive } from '../src/db/repos/jobs.js';
import { newJobRow } from '../src/services/connections.js';

function assertProblem(res: { status: number; body: any }, status: number, code: string) {
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.equal(res.body.code, code, JSON.stringify(res.body));
}

const form = { 'content-type': 'application/x-www-form-urlencoded' };

describe('repair', () => {
  let t: TestApp;
  before(async () => { t = await startTestApp(); });
  after(async () => { await t.close(); });

  async function linkWeb(password = 'pass_good', products?: string[]) {
    const userId = await t.createUser();
    const res = await t.api('POST', `/v1/users/${userId}/connections`, {
      institutionId: 'ins_sandbox_web', method: 'web', credentials: { login: 'user_good', password }, ...(products ? { products } : {}),
    });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    await t.waitForJob(res.body.job.id);
    const base = `/v1/users/${userId}/connections/${res.body.connection.id}`;
    return { userId, connectionId: res.body.connection.id as string, base };
  }
  const state = async (base: string) => (await t.api('GET', base)).body;
  const accountIds = async (userId: string) => (await t.api('GET', `/v1/users/${userId}/accounts`)).body.data.map((a: any) => a.id).sort();
  const txnCount = async (connectionId: string) => (await t.core.db.select().from(transactions).where(eq(transactions.connectionId, connectionId))).length;

  it('a web connection that needs the user again is repaired with new credentials: same id, same accounts, no duplicate history', async () => {
    const { userId, connectionId, base } = await linkWeb();
    const accounts = await accountIds(userId);
    const count = await txnCount(connectionId);
    const broken = await t.api('POST', `/v1/sandbox/connections/${connectionId}/simulate`, { event: 'login_required' });
    assert.deepEqual([broken.body.status, broken.body.statusReason, broken.body.allowedActions], ['reconnect_required', 'invalid_credentials', ['repair', 'update_products', 'purge', 'unlink', 'delete']]);
    assertProblem(await t.api('POST', `${base}/repair`, {}), 400, 'credentials_required');
    const res = await t.api('POST', `${base}/repair`, { credentials: { login: 'user_good', password: 'pass_good' } });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    assert.deepEqual([res.body.connection.id, res.body.connection.status, res.body.job.type], [connectionId, 'pending', 'repair']);
    assert.equal((await t.waitForJob(res.body.job.id)).status, 'succeeded');
    const after = await state(base);
    assert.deepEqual([after.status, after.statusReason], ['active', null]);
    assert.deepEqual(await accountIds(userId), accounts);
    assert.equal(await txnCount(connectionId), count);
    assert.equal((await t.api('GET', `/v1/users/${userId}/connections`)).body.data.length, 1);
  });

  it('a background refresh still queued gives way to the user\'s repair; one the app asked for does not', async () => {
    const { connectionId, base } = await linkWeb();
    await t.api('POST', `/v1/sandbox/connections/${connectionId}/simulate`, { event: 'login_required' });
    const [c] = await t.core.db.select().from(connections).where(eq(connections.id, connectionId));
    // Queued and not yet sent to the queue: it waits as a background refresh would behind a busy worker.
    const { job: queued } = await insertJobUnlessLive(t.core.db, newJobRow(c!, 'refresh', 'scheduled', ['accounts'], new Date()));
    const res = await t.api('POST', `${base}/repair`, { credentials: { login: 'user_good', password: 'pass_good' } });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const [gone] = await t.core.db.select().from(jobs).where(eq(jobs.id, queued.id));
    assert.deepEqual([gone!.status, gone!.errorCode], ['cancelled', 'cancelled']);
    assert.equal((await t.waitForJob(res.body.job.id)).status, 'succeeded');
    assert.equal((await state(base)).status, 'active');
    // A refresh the app asked for is its own: the repair waits for it (409), as before.
    await t.api('POST', `/v1/sandbox/connections/${connectionId}/simulate`, { event: 'login_required' });
    const [again] = await t.core.db.select().from(connections).where(eq(connections.id, connectionId));
    const { job: asked } = await insertJobUnlessLive(t.core.db, newJobRow(again!, 'refresh', 'api', ['accounts'], new Date()));
    assertProblem(await t.api('POST', `${base}/repair`, { credentials: { login: 'user_good', password: 'pass_good' } }), 409, 'job_in_progress');
    await t.core.db.update(jobs).set({ status: 'cancelled' }).where(eq(jobs.id, asked.id));
  });

  it('adds the accounts a refresh found (new_accounts_available) and keeps the others', async () => {
    const userId = await t.createUser();
    const res = await t.api('POST', `/v1/users/${userId}/connections`, {
      institutionId: 'ins_sandbox_web', method: 'web', credentials: { login: 'user_new_accounts', password: 'pass_good' },
    });
    await t.waitForJob(res.body.job.id);
    const base = `/v1/users/${userId}/connections/${res.body.connection.id}`;
    const before = await accountIds(userId);
    const refresh = await t.api('POST', `${base}/refresh`);
    await t.waitForJob(refresh.body.job.id);
    assert.deepEqual([(await state(base)).statusReason, await accountIds(userId)], ['new_accounts_available', before], 'seen, not added');
    const repaired = await t.api('POST', `${base}/repair`, { credentials: { login: 'user_new_accounts', password: 'pass_good' } });
    assert.equal(repaired.status, 202, JSON.stringify(repaired.body));
    assert.equal((await t.waitForJob(repaired.body.job.id)).status, 'succeeded');
    const after = await accountIds(userId);
    assert.equal(after.length, before.length + 1);
    assert.ok(before.every((id: string) => after.includes(id)), 'the old account ids stay');
    assert.deepEqual([(await state(base)).status, (await state(base)).statusReason], ['active', null]);
  });

  it('a first link that failed on a bad password is repaired into an active connection', async () => {
    const { base } = await linkWeb('pass_bad');
    assert.deepEqual([(await state(base)).status, (await state(base)).statusReason], ['failed', 'invalid_credentials']);
    const res = await t.api('POST', `${base}/repair`, { credentials: { login: 'user_good', password: 'pass_good' } });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    assert.equal((await t.waitForJob(res.body.job.id)).status, 'succeeded');
    assert.equal((await state(base)).status, 'active');
  });

  it('an unlinked connection is relinked by repair', async () => {
    const { base } = await linkWeb();
    assert.equal((await t.api('POST', `${base}/unlink`)).status, 200);
    const res = await t.api('POST', `${base}/repair`, { credentials: { login: 'user_good', password: 'pass_good' } });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    assert.equal((await t.waitForJob(res.body.job.id)).status, 'succeeded');
    assert.deepEqual([(await state(base)).status, (await state(base)).statusReason], ['active', null]);
  });

  it('refuses a healthy connection, with the actions it allows', async () => {
    const { base } = await linkWeb();
    const refused = await t.api('POST', `${base}/repair`, { credentials: { login: 'user_good', password: 'pass_good' } });
    assertProblem(refused, 409, 'invalid_state');
    assert.deepEqual(refused.body.allowedActions, ['refresh', 'update_products', 'purge', 'unlink', 'delete']);
  });

  it('an openbanking consent that expired is renewed through a new authorisation: same connection, new expiry', async () => {
    const userId = await t.createUser();
    const created = await t.api('POST', `/v1/users/${userId}/connections`, { institutionId: 'ins_sandbox_openbank', method: 'openbanking' });
    const connectionId = created.body.connection.id as string;
    const base = `/v1/users/${userId}/connections/${connectionId}`;
    await t.app.inject({ method: 'POST', url: new URL(created.body.authorizationUrl).pathname, payload: 'decision=approve&persona=user_good', headers: form });
    const firstJob = (await t.api('GET', `${base}/jobs`)).body.data[0];
    await t.waitForJob(firstJob.id);
    const before = await state(base);
    const accounts = await accountIds(userId);
    const expired = await t.api('POST', `/v1/sandbox/connections/${connectionId}/simulate`, { event: 'consent_expired' });
    assert.deepEqual([expired.body.status, expired.body.statusReason], ['reconnect_required', 'consent_expired']);
    await t.api('POST', '/v1/sandbox/clock', { advanceBy: 'P2D' });
    assertProblem(await t.api('POST', `${base}/repair`, { credentials: { login: 'x', password: 'y' } }), 400, 'credentials_not_allowed');
    const res = await t.api('POST', `${base}/repair`, {});
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.job, null);
    assert.equal(res.body.connection.status, 'reconnect_required', 'the status stays until the user approves');
    const approved = await t.app.inject({ method: 'POST', url: new URL(res.body.authorizationUrl).pathname, payload: 'decision=approve&persona=user_good', headers: form });
    assert.equal(approved.statusCode, 200, approved.body);
    const repairJob = (await t.api('GET', `${base}/jobs`)).body.data[0];
    assert.equal(repairJob.type, 'repair');
    assert.equal((await t.waitForJob(repairJob.id)).status, 'succeeded');
    const after = await state(base);
    assert.deepEqual([after.id, after.status, after.statusReason], [connectionId, 'active', null]);
    assert.ok(Date.parse(after.consent.expiresAt) > Date.parse(before.consent.expiresAt), `${after.consent.expiresAt} after ${before.consent.expiresAt}`);
    assert.deepEqual(await accountIds(userId), accounts);
  });

  it('simulate refuses what the status or the method does not allow', async () => {
    const { connectionId } = await linkWeb();
    assertProblem(await t.api('POST', `/v1/sandbox/connections/${connectionId}/simulate`, { event: 'consent_expired' }), 400, 'validation_failed');
    assertProblem(await t.api('POST', `/v1/sandbox/connections/${connectionId}/simulate`, { event: 'meteor' }), 400, 'validation_failed');
    await t.api('POST', `/v1/sandbox/connections/${connectionId}/simulate`, { event: 'login_required' });
    assertProblem(await t.api('POST', `/v1/sandbox/connections/${connectionId}/simulate`, { event: 'new_accounts' }), 409, 'invalid_state');
    assertProblem(await t.api('POST', '/v1/sandbox/connections/con_nope/simulate', { event: 'login_required' }), 404, 'not_found');
  });
});

describe('repair and update products while a job is in flight', () => {
  let t: TestApp;
  before(async () => { t = await startTestApp({ worker: false }); }); // jobs stay queued
  after(async () => { await t.close(); });

  it('answer 409 job_in_progress naming the job', async () => {
    const userId = await t.createUser();
    const res = await t.api('POST', `/v1/users/${userId}/connections`, {
      institutionId: 'ins_sandbox_web', method: 'web', credentials: { login: 'user_good', password: 'pass_good' },
    });
    const base = `/v1/users/${userId}/connections/${res.body.connection.id}`;
    // As if the first sync had finished and left a reason that allows repair.
    await t.core.db.update(jobs).set({ status: 'succeeded' }).where(eq(jobs.id, res.body.job.id));
    await t.core.db.update(connections).set({ status: 'active', statusReason: 'new_accounts_available', firstSyncedAt: new Date() })
      .where(eq(connections.id, res.body.connection.id));
    const refresh = await t.api('POST', `${base}/refresh`);
    assert.equal(refresh.status, 202, JSON.stringify(refresh.body));
    const repair = await t.api('POST', `${base}/repair`, { credentials: { login: 'user_good', password: 'pass_good' } });
    assertProblem(repair, 409, 'job_in_progress');
    assert.equal(repair.body.jobId, refresh.body.job.id);
    assertProblem(await t.api('POST', `${base}/products`, { products: ['identity'] }), 409, 'job_in_progress');
  });
});

describe('update products', () => {
  let t: TestApp;
  // The sandbox, except that this run's identity profile cannot be fetched.
  const sandbox = createSandboxProvider({ latencyMs: 0 });
  let failIdentity = false;
  const provider: Provider = {
    ...sandbox,
    id: sandbox.id,
    fetchIdentity: (link, ctx) => (failIdentity
      ? Promise.reject(new ProviderError('provider_error', 'The institution returned no profile', false, 'no_profile'))
      : sandbox.fetchIdentity(link, ctx)),
  };
  before(async () => { t = await startTestApp({ provider }); });
  after(async () => { await t.close(); });

  async function linkWithout(products: string[]) {
    const userId = await t.createUser();
    const res = await t.api('POST', `/v1/users/${userId}/connections`, {
      institutionId: 'ins_sandbox_web', method: 'web', credentials: { login: 'user_good', password: 'pass_good' }, products,
    });
    await t.waitForJob(res.body.job.id);
    return { userId, base: `/v1/users/${userId}/connections/${res.body.connection.id}` };
  }

  it('adds a product and a job fetches it', async () => {
    failIdentity = false;
    const { base } = await linkWithout(['transactions']);
    assert.equal((await t.api('GET', `${base}/profile`)).status, 404);
    const res = await t.api('POST', `${base}/products`, { products: ['identity'] });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    assert.deepEqual(res.body.job.steps.map((s: any) => s.name), ['verify-credentials', 'retrieve-accounts', 'retrieve-identity']);
    assert.equal(res.body.job.type, 'update_products');
    assert.ok(res.body.connection.products.includes('identity'));
    assert.equal((await t.waitForJob(res.body.job.id)).status, 'succeeded');
    assert.equal((await t.api('GET', `${base}/profile`)).status, 200);
    assertProblem(await t.api('POST', `${base}/products`, { products: ['identity'] }), 409, 'products_already_linked');
    assertProblem(await t.api('POST', `${base}/products`, { products: [] }), 400, 'validation_failed');
  });

  it('a product that fails leaves the connection active with partial_data, and the step says why', async () => {
    failIdentity = true;
    const { base } = await linkWithout(['transactions']);
    const res = await t.api('POST', `${base}/products`, { products: ['identity'] });
    const job = await t.waitForJob(res.body.job.id);
    assert.equal(job.status, 'succeeded');
    const step = job.steps.find((s: any) => s.name === 'retrieve-identity');
    assert.deepEqual([step.status, step.resultCode], ['failed', 'provider_error']);
    const con = (await t.api('GET', base)).body;
    assert.deepEqual([con.status, con.statusReason], ['active', 'partial_data']);
    failIdentity = false;
  });
});
