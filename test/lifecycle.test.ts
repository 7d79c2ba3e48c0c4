/**
 * Purge, unlink, delete and delete user through the HTTP API (PRODUCT.md §3), with their deletion
 * records, and racing a running refresh.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { eq } from 'drizzle-orm';
import { accounts, connections, identities, jobs, transactions } from '../src/db/schema.js';
import { startTestApp, type TestApp } from './helpers/app.js';

function assertProblem(res: { status: number; body: any }, status: number, code: string) {
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.equal(res.body.code, code, JSON.stringify(res.body));
}

describe('purge, unlink, delete', () => {
  let t: TestApp;
  before(async () => { t = await startTestApp(); });
  after(async () => { await t.close(); });

  /** A user with an active web connection to the sandbox's web bank. */
  async function linked(login = 'user_good') {
    const userId = await t.createUser();
    const res = await t.api('POST', `/v1/users/${userId}/connections`, {
      institutionId: 'ins_sandbox_web', method: 'web', credentials: { login, password: 'pass_good' },
    });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    assert.equal((await t.waitForJob(res.body.job.id)).status, 'succeeded');
    return { userId, connectionId: res.body.connection.id as string, base: `/v1/users/${userId}/connections/${res.body.connection.id}` };
  }

  const rowsOf = async (connectionId: string) => ({
    accounts: (await t.core.db.select().from(accounts).where(eq(accounts.connectionId, connectionId))).length,
    transactions: (await t.core.db.select().from(transactions).where(eq(transactions.connectionId, connectionId))).length,
    identities: (await t.core.db.select().from(identities).where(eq(identities.connectionId, connectionId))).length,
  });

  it('purge deletes the data with a deletion record that can be read back; the connection stays and a refresh fetches it again', async () => {
    const { userId, connectionId, base } = await linked();
    const before = await rowsOf(connectionId);
    assert.ok(before.accounts >= 4 && before.transactions > 100 && before.identities === 1, JSON.stringify(before));
    const res = await t.api('POST', `${base}/purge`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.connection.status, 'active');
    assert.deepEqual(res.body.deletion.counts, before);
    assert.deepEqual([res.body.deletion.operation, res.body.deletion.connectionId, res.body.deletion.userId], ['purge', connectionId, userId]);
    assert.match(res.body.deletion.requestedBy, /^api_key:key_/);
    assert.deepEqual(await rowsOf(connectionId), { accounts: 0, transactions: 0, identities: 0 });
    assert.deepEqual((await t.api('GET', `/v1/users/${userId}/accounts`)).body.data, []);
    assert.equal((await t.api('GET', `/v1/users/${userId}/connections/${connectionId}/profile`)).status, 404);

    const record = await t.api('GET', `/v1/deletions/${res.body.deletion.id}`);
    assert.deepEqual(record.body, res.body.deletion);
    const listed = await t.api('GET', `/v1/deletions?connectionId=${connectionId}`);
    assert.deepEqual(listed.body.data.map((d: any) => d.id), [res.body.deletion.id]);

    const refresh = await t.api('POST', `${base}/refresh`);
    assert.equal(refresh.status, 202, JSON.stringify(refresh.body));
    assert.equal((await t.waitForJob(refresh.body.job.id)).status, 'succeeded');
    const again = await rowsOf(connectionId);
    assert.deepEqual([again.accounts, again.identities], [before.accounts, 1]);
    assert.ok(again.transactions >= before.transactions, `${again.transactions} transactions after the refresh`);
  });

  it('unlink revokes access and stops refreshes; the data stays readable', async () => {
    const { userId, connectionId, base } = await linked();
    const before = await rowsOf(connectionId);
    const res = await t.api('POST', `${base}/unlink`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual([res.body.connection.status, res.body.connection.statusReason], ['unlinked', 'unlinked_by_app']);
    assert.deepEqual(res.body.connection.allowedActions, ['repair', 'purge', 'delete']);
    const [row] = await t.core.db.select().from(connections).where(eq(connections.id, connectionId));
    assert.equal(row!.accessEnc, null, 'the credentials are dropped');
    assert.deepEqual(await rowsOf(connectionId), before);
    assert.equal((await t.api('GET', `/v1/users/${userId}/accounts`)).body.data.length, before.accounts);
    assertProblem(await t.api('POST', `${base}/refresh`), 409, 'invalid_state');
    assertProblem(await t.api('POST', `${base}/unlink`), 409, 'invalid_state');
  });

  it('delete keeps the data by default; a deleted connection is never refreshed, purged or deleted again', async () => {
    const { userId, connectionId, base } = await linked();
    const before = await rowsOf(connectionId);
    const res = await t.api('DELETE', base);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.connection.status, 'deleted');
    assert.deepEqual(res.body.connection.allowedActions, []);
    assert.equal(res.body.deletion, null);
    assert.deepEqual(await rowsOf(connectionId), before);
    assert.equal((await t.api('GET', `/v1/users/${userId}/accounts`)).body.data.length, before.accounts);
    for (const [method, url] of [['POST', `${base}/refresh`], ['POST', `${base}/purge`], ['POST', `${base}/unlink`], ['DELETE', base]] as const) {
      const r = await t.api(method, url);
      assertProblem(r, 409, 'invalid_state');
      assert.deepEqual(r.body.allowedActions, []);
    }
  });

  it('delete with data=purge deletes the connection and its data in one call, with a deletion record', async () => {
    const { connectionId, base } = await linked();
    const before = await rowsOf(connectionId);
    const res = await t.api('DELETE', `${base}?data=purge`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.connection.status, 'deleted');
    assert.deepEqual([res.body.deletion.operation, res.body.deletion.counts], ['delete_connection', before]);
    assert.deepEqual(await rowsOf(connectionId), { accounts: 0, transactions: 0, identities: 0 });
    assertProblem(await t.api('DELETE', `${base}?data=everything`), 400, 'validation_failed');
  });

  it('delete user removes every connection and all the data, and leaves a deletion record', async () => {
    const { userId, connectionId } = await linked();
    const before = await rowsOf(connectionId);
    const res = await t.api('DELETE', `/v1/users/${userId}`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body.deletion.counts, { ...before, connections: 1, jobs: 1 });
    assert.equal(res.body.deletion.operation, 'delete_user');
    assert.equal((await t.core.db.select().from(connections).where(eq(connections.id, connectionId))).length, 0);
    assert.deepEqual(await rowsOf(connectionId), { accounts: 0, transactions: 0, identities: 0 });
    assert.equal((await t.api('GET', `/v1/deletions/${res.body.deletion.id}`)).status, 200);
    assert.deepEqual((await t.api('GET', `/v1/deletions?userId=${userId}`)).body.data.map((d: any) => d.operation), ['delete_user']);
    assertProblem(await t.api('DELETE', `/v1/users/${userId}`), 404, 'not_found');
  });

  it('answers 404 for another application, and for a connection of another user', async () => {
    const { connectionId } = await linked();
    const stranger = await t.createUser();
    assertProblem(await t.api('POST', `/v1/users/${stranger}/connections/${connectionId}/purge`), 404, 'not_found');
    assertProblem(await t.api('GET', '/v1/deletions/del_nope'), 404, 'not_found');
  });
});

describe('purge, unlink and delete racing a running refresh', () => {
  let t: TestApp;
  // A slow sandbox, so the refresh is mid-job when the operation arrives.
  before(async () => { t = await startTestApp({ config: { sandboxLatencyMs: 60 } }); });
  after(async () => { await t.close(); });

  async function refreshing() {
    const userId = await t.createUser();
    const res = await t.api('POST', `/v1/users/${userId}/connections`, {
      institutionId: 'ins_sandbox_web', method: 'web', credentials: { login: 'user_good', password: 'pass_good' },
    });
    await t.waitForJob(res.body.job.id, undefined, 30_000);
    const base = `/v1/users/${userId}/connections/${res.body.connection.id}`;
    const refresh = await t.api('POST', `${base}/refresh`);
    assert.equal(refresh.status, 202);
    // Wait until the run is inside its steps, writing.
    await t.waitForJob(refresh.body.job.id, (j) => j.steps.some((s: any) => s.status === 'success'), 30_000);
    return { connectionId: res.body.connection.id as string, base, jobId: refresh.body.job.id as string };
  }

  /** Nothing the cancelled run could still write may appear afterwards. */
  async function settled(jobId: string) {
    await new Promise((r) => setTimeout(r, 600)); // longer than the run's remaining steps would take
    const [job] = await t.core.db.select().from(jobs).where(eq(jobs.id, jobId));
    return job!;
  }

  for (const op of ['purge', 'delete?data=purge'] as const) {
    it(`${op} during a refresh cancels the job and leaves no data behind`, async () => {
      const { connectionId, base, jobId } = await refreshing();
      const res = op === 'purge' ? await t.api('POST', `${base}/purge`) : await t.api('DELETE', `${base}?data=purge`);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      const job = await settled(jobId);
      assert.deepEqual([job.status, job.errorCode], ['cancelled', 'cancelled']);
      assert.ok(job.steps.some((s) => s.resultCode === 'cancelled'));
      const left = {
        accounts: (await t.core.db.select().from(accounts).where(eq(accounts.connectionId, connectionId))).length,
        transactions: (await t.core.db.select().from(transactions).where(eq(transactions.connectionId, connectionId))).length,
        identities: (await t.core.db.select().from(identities).where(eq(identities.connectionId, connectionId))).length,
      };
      assert.deepEqual(left, { accounts: 0, transactions: 0, identities: 0 });
      const jobView = (await t.api('GET', `/v1/jobs/${jobId}`)).body;
      assert.equal(jobView.status, 'cancelled');
    });
  }

  it('delete user during a refresh cancels the job and leaves nothing of the user behind', async () => {
    const { connectionId, base, jobId } = await refreshing();
    const userId = base.split('/')[3]!;
    const res = await t.api('DELETE', `/v1/users/${userId}`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    await new Promise((r) => setTimeout(r, 600));
    const left = {
      jobs: (await t.core.db.select().from(jobs).where(eq(jobs.id, jobId))).length,
      connections: (await t.core.db.select().from(connections).where(eq(connections.id, connectionId))).length,
      accounts: (await t.core.db.select().from(accounts).where(eq(accounts.connectionId, connectionId))).length,
      transactions: (await t.core.db.select().from(transactions).where(eq(transactions.connectionId, connectionId))).length,
      identities: (await t.core.db.select().from(identities).where(eq(identities.connectionId, connectionId))).length,
    };
    assert.deepEqual(left, { jobs: 0, connections: 0, accounts: 0, transactions: 0, identities: 0 });
    assert.equal((await t.api('GET', `/v1/users/${userId}`)).status, 404);
  });

  it('unlink during a refresh cancels the job; the connection stays unlinked', async () => {
    const { base, jobId } = await refreshing();
    const res = await t.api('POST', `${base}/unlink`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.cancelledJobId, jobId);
    const job = await settled(jobId);
    assert.equal(job.status, 'cancelled');
    assert.equal((await t.api('GET', base)).body.status, 'unlinked');
  });
});
