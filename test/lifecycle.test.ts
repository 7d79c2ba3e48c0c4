/**
 * Purge, unlink, delete and delete user through the HTTP API (PRODUCT.md §3), with their deletion
 * records, and racing a running refresh.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { eq } from 'drizzle-orm';
import { accounts, connections, identities, jobs, transactions } from '../src/db/schema.js';
import { insertApplication } from '../src/db/repos/applications.js';
import { systemClock } from '../src/domain/clock.js';
import { newId } from '../src/domain/ids.js';
import { createSandboxProvider } from '../src/providers/sandbox/index.js';
import type { Provider, ProviderLink } from '../src/providers/types.js';
import { createApiKey } from '../src/services/applications.js';
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
    const { userId, connectionId, base } = await linked();
    const stranger = await t.createUser();
    assertProblem(await t.api('POST', `/v1/users/${stranger}/connections/${connectionId}/purge`), 404, 'not_found');
    assertProblem(await t.api('GET', '/v1/deletions/del_nope'), 404, 'not_found');
    const purged = await t.api('POST', `${base}/purge`);
    const other = await insertApplication(t.core.db, { id: newId('app'), name: 'other', environment: 'sandbox', createdAt: new Date() });
    const as = { authorization: `Bearer ${(await createApiKey(t.core.db, systemClock, other, 'other')).key}` };
    for (const [method, path] of [
      ['POST', `${base}/purge`], ['POST', `${base}/unlink`], ['DELETE', base], ['POST', `${base}/repair`], ['POST', `${base}/products`],
      ['GET', `${base}/timeline`], ['GET', `/v1/deletions/${purged.body.deletion.id}`], ['DELETE', `/v1/users/${userId}`],
      ['POST', `/v1/sandbox/connections/${connectionId}/simulate`], ['POST', `/v1/users/${userId}/connections/import`],
    ] as const) {
      const body = path.endsWith('/products') ? { products: ['identity'] } : path.endsWith('/simulate') ? { event: 'login_required' }
        : path.endsWith('/import') ? { institutionId: 'ins_sandbox_openbank', accessToken: 'x' } : path.endsWith('/repair') ? {} : undefined;
      assertProblem(await t.api(method, path, body, as), 404, 'not_found');
    }
    assert.deepEqual((await t.api('GET', '/v1/deletions', undefined, as)).body.data, []);
    assert.equal((await t.api('GET', base)).body.status, 'active', 'untouched');
  });

  it('purged transactions reach the sync feed as removed; the refetch comes as added, once', async () => {
    const { userId, base } = await linked();
    const feed = `/v1/users/${userId}/transactions/sync?limit=500`;
    /** Reads the feed from a cursor to its end. */
    const drain = async (from: string | null) => {
      const out = { added: [] as string[], modified: [] as string[], removed: [] as string[], cursor: from };
      for (;;) {
        const page = (await t.api('GET', `${feed}${out.cursor ? `&cursor=${out.cursor}` : ''}`)).body;
        out.added.push(...page.added.map((x: any) => x.id));
        out.modified.push(...page.modified.map((x: any) => x.id));
        out.removed.push(...page.removed.map((x: any) => x.id));
        out.cursor = page.nextCursor;
        if (!page.hasMore) return out;
      }
    };
    const first = await drain(null);
    assert.ok(first.added.length > 100);
    assert.equal((await t.api('POST', `${base}/purge`)).status, 200);
    const afterPurge = await drain(first.cursor);
    assert.deepEqual([afterPurge.added, afterPurge.modified], [[], []]);
    assert.deepEqual(afterPurge.removed.sort(), [...first.added].sort(), 'every transaction the client holds is removed');
    const refresh = await t.api('POST', `${base}/refresh`);
    assert.equal((await t.waitForJob(refresh.body.job.id)).status, 'succeeded');
    const refetched = await drain(afterPurge.cursor);
    assert.equal(refetched.added.length, first.added.length);
    assert.ok(refetched.added.every((id) => !first.added.includes(id)), 'new ids');
    assert.deepEqual(refetched.removed, []);
    // A client that starts now is given what is stored, once; `removed` may name purged ids it never
    // had (a client ignores ids it does not know), never a stored one.
    const fresh = await drain(null);
    assert.deepEqual(fresh.added.sort(), [...refetched.added].sort());
    assert.ok(fresh.removed.every((id) => first.added.includes(id)));
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

  it('purge during a repair starts the repair again, so the connection still gets back to active', async () => {
    const { connectionId, base, jobId } = await refreshing();
    await t.waitForJob(jobId, undefined, 30_000);
    await t.api('POST', `/v1/sandbox/connections/${connectionId}/simulate`, { event: 'login_required' });
    const repair = await t.api('POST', `${base}/repair`, { credentials: { login: 'user_good', password: 'pass_good' } });
    assert.equal(repair.status, 202, JSON.stringify(repair.body));
    await t.waitForJob(repair.body.job.id, (j) => j.steps.some((s: any) => s.status === 'success'), 30_000);
    const purged = await t.api('POST', `${base}/purge`);
    assert.equal(purged.status, 202, JSON.stringify(purged.body));
    assert.equal(purged.body.job.type, 'repair');
    assert.notEqual(purged.body.job.id, repair.body.job.id);
    assert.equal((await t.waitForJob(purged.body.job.id, undefined, 30_000)).status, 'succeeded');
    const c = (await t.api('GET', base)).body;
    assert.deepEqual([c.status, c.statusReason], ['active', null]);
    assert.ok((await t.core.db.select().from(accounts).where(eq(accounts.connectionId, connectionId))).length >= 4);
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

describe('an openbanking authorisation racing a delete', () => {
  let t: TestApp;
  const sandbox = createSandboxProvider({ latencyMs: 0 });
  let release: () => void = () => {};
  let entered: () => void = () => {};
  const revoked: ProviderLink[] = [];
  // The sandbox, except that the grant exchange waits until the test lets it go.
  const provider: Provider = {
    ...sandbox,
    completeLink: async (input, ctx) => {
      entered();
      await new Promise<void>((r) => { release = r; });
      return sandbox.completeLink(input, ctx);
    },
    revoke: async (link) => { revoked.push(link); },
  };
  before(async () => { t = await startTestApp({ provider }); });
  after(async () => { await t.close(); });

  it('a token issued after the delete is revoked and never stored; the connection stays deleted', async () => {
    const userId = await t.createUser();
    const created = await t.api('POST', `/v1/users/${userId}/connections`, { institutionId: 'ins_sandbox_openbank', method: 'openbanking' });
    const base = `/v1/users/${userId}/connections/${created.body.connection.id}`;
    const exchanging = new Promise<void>((r) => { entered = r; });
    // The user is back from the bank: the grant is being exchanged (services/link.ts) while the app deletes the connection.
    const approving = t.app.inject({
      method: 'POST', url: new URL(created.body.authorizationUrl).pathname, payload: 'decision=approve', headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    await exchanging;
    assert.equal((await t.api('DELETE', `${base}?data=purge`)).status, 200);
    release();
    const approved = await approving;
    assert.equal(approved.statusCode, 404, 'the link no longer applies');
    const [row] = await t.core.db.select().from(connections).where(eq(connections.id, created.body.connection.id));
    assert.deepEqual([row!.status, row!.accessEnc, row!.consentGrantedAt], ['deleted', null, null]);
    assert.equal(revoked.length, 1, 'the token issued too late is revoked');
    assert.equal(revoked[0]!.access.kind, 'token');
    assert.deepEqual((await t.api('GET', `${base}/jobs`)).body.data, [], 'no job started');
    const types = (await t.api('GET', `${base}/timeline?order=asc`)).body.data.map((e: any) => e.type);
    assert.ok(!types.includes('consent.granted'), types.join(', '));
  });
});
