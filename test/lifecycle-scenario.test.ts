/**
 * One openbanking connection walked through its whole life (issue: the scenario test): create →
 * active → login required → repair → expiring → renew → new accounts → update products → unlink →
 * repair → purge → refresh → delete. At every step: status, reason, allowedActions, the account
 * ids that stay the same, and no transaction stored twice.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApp, type TestApp } from './helpers/app.js';

const form = { 'content-type': 'application/x-www-form-urlencoded' };

describe('a connection from creation to deletion', () => {
  let t: TestApp;
  before(async () => { t = await startTestApp(); });
  after(async () => { await t.close(); });

  it('keeps its id, its account ids and one copy of each transaction through every operation', async () => {
    const userId = await t.createUser();
    const users = `/v1/users/${userId}`;
    const simulate = async (connectionId: string, event: string) => {
      const r = await t.api('POST', `/v1/sandbox/connections/${connectionId}/simulate`, { event });
      assert.equal(r.status, 200, JSON.stringify(r.body));
    };
    const approve = async (authorizationUrl: string) => {
      const r = await t.app.inject({ method: 'POST', url: new URL(authorizationUrl).pathname, payload: 'decision=approve&persona=user_good', headers: form });
      assert.equal(r.statusCode, 200, r.body);
    };
    const accountIds = async () => (await t.api('GET', `${users}/accounts`)).body.data.map((a: any) => a.id).sort();
    /** Every transaction through the paginated list; fails if an id or a provider-side duplicate appears twice. */
    const transactionIds = async () => {
      const ids: string[] = [];
      let cursor: string | null = null;
      do {
        const page: any = (await t.api('GET', `${users}/transactions?limit=500${cursor ? `&cursor=${cursor}` : ''}`)).body;
        ids.push(...page.data.map((x: any) => x.id));
        cursor = page.nextCursor;
      } while (cursor);
      assert.equal(new Set(ids).size, ids.length, 'no transaction listed twice');
      return ids.sort();
    };
    let base = '';
    const expect = async (step: string, status: string, reason: string | null, actions: string[]) => {
      const c = (await t.api('GET', base)).body;
      assert.deepEqual([c.status, c.statusReason, c.allowedActions], [status, reason, actions], step);
      return c;
    };
    const lastJobSucceeds = async (type: string) => {
      const job = (await t.api('GET', `${base}/jobs`)).body.data[0];
      assert.equal(job.type, type);
      assert.equal((await t.waitForJob(job.id)).status, 'succeeded', `${type} job`);
    };
    const ACTIVE = ['refresh', 'update_products', 'purge', 'unlink', 'delete'];
    const ACTIVE_REPAIRABLE = ['refresh', 'repair', 'update_products', 'purge', 'unlink', 'delete'];

    // create → active
    const created = await t.api('POST', `${users}/connections`, { institutionId: 'ins_sandbox_openbank', method: 'openbanking', products: ['accounts', 'transactions'] });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const connectionId = created.body.connection.id as string;
    base = `${users}/connections/${connectionId}`;
    await expect('created', 'pre_init', null, ['repair', 'update_products', 'purge', 'delete']);
    await approve(created.body.authorizationUrl);
    await lastJobSucceeds('create');
    const first = await expect('first sync', 'active', null, ACTIVE);
    const accounts = await accountIds();
    const txns = await transactionIds();
    assert.ok(accounts.length >= 4 && txns.length > 100, `${accounts.length} accounts, ${txns.length} transactions`);

    // login required → repair
    await simulate(connectionId, 'login_required');
    await expect('login required', 'reconnect_required', 'invalid_credentials', ['repair', 'update_products', 'purge', 'unlink', 'delete']);
    assert.equal((await t.api('POST', `${base}/refresh`)).status, 409, 'no refresh without the user');
    const repair = await t.api('POST', `${base}/repair`, {});
    assert.equal(repair.status, 200, JSON.stringify(repair.body));
    await approve(repair.body.authorizationUrl);
    await lastJobSucceeds('repair');
    await expect('repaired', 'active', null, ACTIVE);
    assert.deepEqual(await accountIds(), accounts);
    assert.deepEqual(await transactionIds(), txns, 'repair fetched no history twice');

    // expiring → renew
    await simulate(connectionId, 'consent_expiring');
    const expiring = await expect('expiring', 'active', 'access_expiring_soon', ACTIVE_REPAIRABLE);
    const renew = await t.api('POST', `${base}/repair`, {});
    await approve(renew.body.authorizationUrl);
    await lastJobSucceeds('repair');
    const renewed = await expect('renewed', 'active', null, ACTIVE);
    assert.ok(Date.parse(renewed.consent.expiresAt) - Date.parse(expiring.consent.expiresAt) > 300 * 86_400_000, 'consent renewed for a year');
    assert.ok(Date.parse(renewed.consent.grantedAt) > Date.parse(first.consent.grantedAt));
    assert.deepEqual(await accountIds(), accounts);
    assert.deepEqual(await transactionIds(), txns);

    // new accounts → update products
    await simulate(connectionId, 'new_accounts');
    await expect('new accounts', 'active', 'new_accounts_available', ACTIVE_REPAIRABLE);
    assert.equal((await t.api('GET', `${base}/profile`)).status, 404, 'identity was not linked yet');
    const products = await t.api('POST', `${base}/products`, { products: ['identity'] });
    assert.equal(products.status, 202, JSON.stringify(products.body));
    await lastJobSucceeds('update_products');
    const updated = await expect('products updated', 'active', null, ACTIVE);
    assert.deepEqual(updated.products, ['accounts', 'transactions', 'identity']);
    assert.equal((await t.api('GET', `${base}/profile`)).status, 200);
    assert.deepEqual(await accountIds(), accounts);
    assert.deepEqual(await transactionIds(), txns);

    // unlink → repair
    assert.equal((await t.api('POST', `${base}/unlink`)).status, 200);
    await expect('unlinked', 'unlinked', 'unlinked_by_app', ['repair', 'purge', 'delete']);
    assert.deepEqual(await accountIds(), accounts, 'unlinked data stays readable');
    const relink = await t.api('POST', `${base}/repair`, {});
    assert.equal(relink.status, 200, JSON.stringify(relink.body));
    await approve(relink.body.authorizationUrl);
    await lastJobSucceeds('repair');
    await expect('relinked', 'active', null, ACTIVE);
    assert.deepEqual(await accountIds(), accounts);
    assert.deepEqual(await transactionIds(), txns);

    // purge → refresh
    const purged = await t.api('POST', `${base}/purge`);
    assert.equal(purged.status, 200, JSON.stringify(purged.body));
    assert.deepEqual([purged.body.deletion.counts.accounts, purged.body.deletion.counts.transactions, purged.body.deletion.counts.identities], [accounts.length, txns.length, 1]);
    await expect('purged', 'active', null, ACTIVE);
    assert.deepEqual([await accountIds(), await transactionIds()], [[], []]);
    const refresh = await t.api('POST', `${base}/refresh`);
    assert.equal(refresh.status, 202, JSON.stringify(refresh.body));
    assert.equal((await t.waitForJob(refresh.body.job.id)).status, 'succeeded');
    await expect('refetched', 'active', null, ACTIVE);
    assert.equal((await accountIds()).length, accounts.length);
    assert.equal((await transactionIds()).length, txns.length, 'the same history, once');

    // delete
    const deleted = await t.api('DELETE', base);
    assert.equal(deleted.status, 200, JSON.stringify(deleted.body));
    await expect('deleted', 'deleted', null, []);
    for (const [method, path, body] of [['POST', `${base}/refresh`, undefined], ['POST', `${base}/repair`, {}], ['POST', `${base}/purge`, undefined], ['DELETE', base, undefined]] as const) {
      const r = await t.api(method, path, body);
      assert.equal(r.status, 409, `${method} ${path}`);
      assert.deepEqual([r.body.connectionStatus, r.body.allowedActions], ['deleted', []]);
    }
    assert.equal((await accountIds()).length, accounts.length, 'delete keeps the data by default');

    // The timeline tells the same story, from the start.
    const timeline = (await t.api('GET', `${base}/timeline?order=asc&limit=100`)).body.data;
    const path = timeline.filter((e: any) => e.kind === 'status_change').map((e: any) => `${e.to}${e.reason ? `/${e.reason}` : ''}`);
    assert.deepEqual(path, [
      'pre_init', 'init', 'active', 'reconnect_required/invalid_credentials', 'init', 'active', 'active/access_expiring_soon', 'init', 'active',
      'active/new_accounts_available', 'active', 'unlinked/unlinked_by_app', 'init', 'active', 'deleted',
    ]);
    const operations = timeline.filter((e: any) => e.kind === 'operation').map((e: any) => e.type);
    assert.deepEqual(operations, [
      'connection.repair_requested', 'connection.repair_requested', 'connection.products_updated', 'connection.unlinked',
      'connection.repair_requested', 'connection.purged', 'connection.deleted',
    ]);
    const consent = timeline.filter((e: any) => e.kind === 'consent').map((e: any) => e.type);
    assert.deepEqual(consent, ['consent.granted', 'consent.granted', 'consent.expiring', 'consent.granted', 'consent.granted']);
    assert.deepEqual(timeline.filter((e: any) => e.kind === 'job').map((e: any) => e.job.type), ['create', 'repair', 'repair', 'update_products', 'repair', 'refresh']);
  });
});
