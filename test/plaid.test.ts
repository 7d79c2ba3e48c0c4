/**
 * Causeway with Plaid, end to end against the stateful Plaid fake (test/fakes/plaid): Hosted Link
 * and the return route, signed webhooks in through POST /v1/providers/plaid/webhooks, cursor sync
 * (many pages, a mutation during pagination, pending → posted, modified, removed), amounts in minor
 * units, identity, import by access token, a duplicate Item, and what the API answers about
 * Plaid's settings.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { sql } from 'drizzle-orm';
import { startPlaidFake, type PlaidFake, type PlaidTransaction } from './fakes/plaid/index.js';
import { startTestApp, type TestApp } from './helpers/app.js';
import { until } from './helpers/wait.js';
import { syncCatalogue } from '../src/services/catalogue.js';

const PLATYPUS = 'ins_plaid_109508';
const HOUNDSTOOTH = 'ins_plaid_109512';

/** Rows of a raw query, on either driver. */
async function rows<T = any>(t: TestApp, query: ReturnType<typeof sql>): Promise<T[]> {
  return ((await t.core.db.execute(query)) as unknown as { rows: T[] }).rows;
}

/** Plaid's amount (positive: money out, decimal) as Causeway's (negative: money out, minor units). */
const exponentOf = (currency: string) => (currency === 'JPY' ? 0 : 2);
const expectedMinor = (p: PlaidTransaction) => {
  const minor = Math.round(p.amount * 10 ** exponentOf(p.iso_currency_code!));
  return minor === 0 ? 0 : -minor;
};

interface Linked { userId: string; connectionId: string; jobId: string; itemId: string; accessToken: string }

describe('Plaid through Causeway', () => {
  let fake: PlaidFake;
  let t: TestApp;
  let publicUrl: string;
  const hookPath = '/v1/providers/plaid/webhooks';

  before(async () => {
    fake = await startPlaidFake({ seed: 'causeway-plaid-test' });
    t = await startTestApp({
      config: { providerEnv: { CAUSEWAY_PLAID_CLIENT_ID: fake.clientId, CAUSEWAY_PLAID_SECRET: fake.secret, CAUSEWAY_PLAID_URL: fake.url } },
    });
    // A public address, so Plaid's webhooks (Items linked or imported here) are sent to this server.
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    publicUrl = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
    t.core.config.publicUrl = publicUrl;
    // The worker fills the Plaid catalogue at start (from the deployment's settings).
    await until('the Plaid catalogue', async () => (await t.api('GET', `/v1/institutions/${PLATYPUS}`)).status === 200, 60_000);
  });

  after(async () => {
    await t?.close();
    await fake?.close();
  });

  /** A job's end (deadline generous for a loaded machine). */
  const finished = (jobId: string) => t.waitForJob(jobId, undefined, 60_000);

  async function jobsOf(userId: string, connectionId: string): Promise<any[]> {
    const res = await t.api('GET', `/v1/users/${userId}/connections/${connectionId}/jobs`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body.data;
  }

  async function connectionOf(userId: string, connectionId: string): Promise<any> {
    const res = await t.api('GET', `/v1/users/${userId}/connections/${connectionId}`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body;
  }

  /** The user on Plaid's Hosted Link page, then back on Causeway's return route. */
  async function hostedLink(userId: string, institutionId: string) {
    const created = await t.api('POST', `/v1/users/${userId}/connections`, { institutionId, method: 'hosted' });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.connection.status, 'pre_init');
    const url: string = created.body.link.url;
    assert.ok(url.startsWith(`${fake.url}/hl/`), url);
    const itemsBefore = new Set(fake.items().map((i) => i.itemId));
    const page = await fetch(url, { method: 'POST', body: new URLSearchParams({ action: 'success' }), redirect: 'manual' });
    assert.equal(page.status, 303, await page.text());
    const location = new URL(page.headers.get('location')!);
    assert.equal(`${location.origin}${location.pathname}`, `${publicUrl}/link/return`);
    const item = fake.items().find((i) => !itemsBefore.has(i.itemId)) ?? null;
    return {
      connectionId: created.body.connection.id as string, item,
      /** Comes back to Causeway (after the test has set up the fake for what follows). */
      async back() {
        const res = await t.app.inject({ method: 'GET', url: `${location.pathname}${location.search}` });
        assert.equal(res.statusCode, 200, res.body);
        return res.body;
      },
    };
  }

  /** A connection linked through Hosted Link whose first job has finished. */
  async function link(institutionId = PLATYPUS): Promise<Linked> {
    const uid = await t.createUser();
    const started = await hostedLink(uid, institutionId);
    assert.ok(started.item, 'Hosted Link made an Item');
    await started.back();
    const jobs = await jobsOf(uid, started.connectionId);
    assert.equal(jobs.length, 1);
    assert.equal(jobs[0].type, 'create');
    const done = await finished(jobs[0].id);
    assert.equal(done.status, 'succeeded', JSON.stringify(done));
    return { userId: uid, connectionId: started.connectionId, jobId: done.id, itemId: started.item.itemId, accessToken: started.item.accessToken };
  }

  async function storedTransactions(connectionId: string) {
    return rows<{ provider_transaction_id: string; amount: number; currency: string; status: string; id: string; provider_pending_id: string | null }>(t,
      sql`select id, provider_transaction_id, provider_pending_id, amount, currency, status from transactions where connection_id = ${connectionId} and removed_at is null`);
  }

  async function storedCursor(connectionId: string): Promise<string | null> {
    const [row] = await rows<{ provider_cursor: string | null }>(t, sql`select provider_cursor from connections where id = ${connectionId}`);
    return row!.provider_cursor;
  }

  /** The next_cursor of the last /transactions/sync page the fake served for this Item. */
  function fakeCursor(accessToken: string): string {
    const pages = fake.requestsTo('/transactions/sync').filter((r) => r.body.access_token === accessToken && r.status === 200);
    return (pages.at(-1)!.response as { next_cursor: string }).next_cursor;
  }

  /** Causeway holds exactly the Item's current transactions, once each, and the fake's cursor. */
  async function assertInStep(l: Linked) {
    const stored = await storedTransactions(l.connectionId);
    const truth = fake.transactions(l.itemId);
    assert.equal(stored.length, truth.length, 'as many transactions as the Item has');
    assert.deepEqual(stored.map((r) => r.provider_transaction_id).sort(), truth.map((x) => x.transaction_id).sort(), 'the same transactions, once each');
    assert.equal(await storedCursor(l.connectionId), fakeCursor(l.accessToken), "the stored cursor is the fake's latest");
  }

  /** A webhook body as Plaid sends it (pretty-printed), signed by the fake. */
  async function signed(payload: Record<string, unknown>, sign: Parameters<PlaidFake['signWebhook']>[1] = {}) {
    const body = JSON.stringify({ ...payload, environment: 'sandbox' }, null, 2);
    return { body, jwt: await fake.signWebhook(body, sign) };
  }

  const postHook = (body: string, jwt: string | null) => t.app.inject({
    method: 'POST', url: hookPath, payload: body,
    headers: { 'content-type': 'application/json', ...(jwt ? { 'plaid-verification': jwt } : {}) },
  });

  /** A webhook from the fake to the Item's webhook URL (Causeway's), as Plaid delivers it. */
  async function fire(itemId: string, event: Parameters<PlaidFake['fireWebhook']>[1]) {
    const d = await fake.fireWebhook(itemId, event);
    assert.equal(d.status, 200, `${event.webhook_code}: ${d.error ?? ''}`);
    return d;
  }

  describe('webhooks', () => {
    it('points Items linked here at Causeway', async () => {
      const l = await link();
      assert.equal(fake.item(l.itemId).webhook, `${publicUrl}${hookPath}`);
    });

    it('SYNC_UPDATES_AVAILABLE: a burst of five at once is one refresh job', async () => {
      const l = await link();
      const before = await jobsOf(l.userId, l.connectionId);
      fake.addTransactions(l.itemId, 4);
      // The refresh stays in flight while the burst is answered, however slow the machine.
      fake.delay('/accounts/get', 3_000, 1);
      const hook = await signed({ webhook_type: 'TRANSACTIONS', webhook_code: 'SYNC_UPDATES_AVAILABLE', item_id: l.itemId, initial_update_complete: true, historical_update_complete: true });
      const answers = await Promise.all(Array.from({ length: 5 }, () => postHook(hook.body, hook.jwt)));
      for (const a of answers) assert.equal(a.statusCode, 200, a.body);
      const actions = answers.map((a) => JSON.parse(a.body).action as string);
      const started = actions.filter((a) => a.startsWith('refresh '));
      assert.equal(started.length, 1, actions.join('; '));
      const jobId = started[0]!.slice('refresh '.length);
      assert.deepEqual(actions.filter((a) => a !== started[0]), Array(4).fill(`coalesced with ${jobId}`));
      const jobs = await jobsOf(l.userId, l.connectionId);
      const added = jobs.filter((j) => !before.some((b) => b.id === j.id));
      assert.deepEqual(added.map((j) => [j.id, j.type, j.trigger]), [[jobId, 'refresh', 'system']], 'one job for five webhooks');
      const done = await finished(jobId);
      assert.equal(done.status, 'succeeded', JSON.stringify(done));
      await assertInStep(l);
      assert.equal((await jobsOf(l.userId, l.connectionId)).length, before.length + 1);
    });

    it('ITEM ERROR, LOGIN_REPAIRED, PENDING_EXPIRATION and NEW_ACCOUNTS_AVAILABLE move the connection', async () => {
      const l = await link();
      const status = async () => {
        const c = await connectionOf(l.userId, l.connectionId);
        return [c.status, c.statusReason];
      };
      assert.deepEqual(await status(), ['active', null]);

      fake.setItemError(l.itemId, 'ITEM_LOGIN_REQUIRED');
      await fire(l.itemId, { webhook_code: 'ERROR' });
      assert.deepEqual(await status(), ['reconnect_required', 'invalid_credentials']);

      fake.setItemError(l.itemId, null);
      const jobsBefore = (await jobsOf(l.userId, l.connectionId)).length;
      await fire(l.itemId, { webhook_code: 'LOGIN_REPAIRED' });
      assert.deepEqual(await status(), ['active', null]);
      const jobs = await jobsOf(l.userId, l.connectionId);
      assert.equal(jobs.length, jobsBefore + 1, 'a repaired login is refreshed');
      assert.equal((await finished(jobs[0].id)).status, 'succeeded');
      assert.deepEqual(await status(), ['active', null]);

      const expiring = await fire(l.itemId, { webhook_code: 'PENDING_EXPIRATION' });
      assert.deepEqual(await status(), ['active', 'access_expiring_soon']);
      const c = await connectionOf(l.userId, l.connectionId);
      assert.equal(c.consent.expiresAt, new Date(expiring.payload.consent_expiration_time as string).toISOString(), 'the end date Plaid gave');

      await fire(l.itemId, { webhook_code: 'NEW_ACCOUNTS_AVAILABLE' });
      assert.deepEqual(await status(), ['active', 'new_accounts_available']);
    });

    it('USER_PERMISSION_REVOKED: reconnect_required (consent_revoked)', async () => {
      const l = await link();
      await fire(l.itemId, { webhook_code: 'USER_PERMISSION_REVOKED' });
      const c = await connectionOf(l.userId, l.connectionId);
      assert.deepEqual([c.status, c.statusReason], ['reconnect_required', 'consent_revoked']);
    });

    it('refuses a wrong key, an old iat, a body changed after signing and no header, changing nothing', async () => {
      const l = await link();
      // The refresh budget's next time is "now" for a connection never refreshed by the API: left out.
      const stable = async () => {
        const { refreshBudget, ...c } = await connectionOf(l.userId, l.connectionId);
        assert.equal(refreshBudget.remainingToday, 20);
        return c;
      };
      const before = { connection: await stable(), jobs: await jobsOf(l.userId, l.connectionId) };
      const events = async () => (await rows(t, sql`select count(*)::int as n from events where connection_id = ${l.connectionId}`))[0].n;
      const eventsBefore = await events();
      const payload = {
        webhook_type: 'ITEM', webhook_code: 'ERROR', item_id: l.itemId,
        error: { error_type: 'ITEM_ERROR', error_code: 'ITEM_LOGIN_REQUIRED', error_message: 'the login details of this item have changed', display_message: null, request_id: 'req1', causes: [], status: 400, documentation_url: '', suggested_action: null },
      };
      const good = await signed(payload);
      const sixMinutesAgo = Math.floor(Date.now() / 1000) - 6 * 60;
      const cases: Array<[string, string, string | null, RegExp]> = [
        ['a key Plaid never published', good.body, (await signed(payload, { key: 'other' })).jwt, /signature/],
        ['an iat six minutes old', good.body, (await signed(payload, { iat: sixMinutesAgo })).jwt, /issued \d+ s ago/],
        ['the body re-serialised after signing', JSON.stringify(JSON.parse(good.body)), good.jwt, /body does not match/],
        ['the body changed after signing', good.body.replace('ITEM_LOGIN_REQUIRED', 'INVALID_UPDATED_USERNAME'), good.jwt, /body does not match/],
        ['no Plaid-Verification header', good.body, null, /no Plaid-Verification header/],
      ];
      for (const [what, body, jwt, why] of cases) {
        const res = await postHook(body, jwt);
        assert.equal(res.statusCode, 400, `${what}: ${res.body}`);
        const problem = JSON.parse(res.body);
        assert.equal(problem.code, 'invalid_webhook_signature', what);
        assert.match(problem.detail, why, what);
      }
      assert.deepEqual(await stable(), before.connection, 'the connection is as it was');
      assert.deepEqual(await jobsOf(l.userId, l.connectionId), before.jobs, 'no job was started');
      assert.equal(await events(), eventsBefore, 'no event was recorded');

      // The same body with its own signature acts.
      const res = await postHook(good.body, good.jwt);
      assert.equal(res.statusCode, 200, res.body);
      assert.deepEqual(JSON.parse(res.body), { type: 'ITEM:ERROR', connectionId: l.connectionId, action: 'status reconnect_required (invalid_credentials)' });
    });
  });

  describe('data', () => {
    it('stores amounts as integer minor units with money out negative, JPY with exponent 0', async () => {
      const l = await link(HOUNDSTOOTH);
      await assertInStep(l);
      const stored = new Map((await storedTransactions(l.connectionId)).map((r) => [r.provider_transaction_id, r]));
      const truth = fake.transactions(l.itemId);
      const jpy = truth.filter((x) => x.iso_currency_code === 'JPY');
      const out = truth.filter((x) => x.iso_currency_code === 'USD' && x.amount > 0 && !Number.isInteger(x.amount));
      const inflow = truth.filter((x) => x.iso_currency_code === 'USD' && x.amount < 0);
      assert.ok(jpy.length >= 3 && out.length >= 3 && inflow.length >= 1, 'the Item has yen, cents out and money in');
      for (const p of [...jpy.slice(0, 5), ...out.slice(0, 5), ...inflow.slice(0, 3)]) {
        const r = stored.get(p.transaction_id)!;
        assert.ok(Number.isInteger(r.amount), `${r.amount} is an integer`);
        assert.equal(r.currency, p.iso_currency_code);
        assert.equal(r.amount, expectedMinor(p), `Plaid ${p.amount} ${p.iso_currency_code}`);
        assert.equal(Math.sign(r.amount), -Math.sign(p.amount), 'money out is negative');
      }
      // Through the API too: a yen amount is whole yen.
      const yen = jpy.find((x) => x.amount > 100)!;
      const api = (await t.api('GET', `/v1/users/${l.userId}/transactions?limit=500`)).body.data.find((x: any) => x.id === stored.get(yen.transaction_id)!.id);
      assert.deepEqual([api.amount, api.currency], [-yen.amount, 'JPY']);
      const accounts = (await t.api('GET', `/v1/users/${l.userId}/accounts`)).body.data;
      const yenAccount = accounts.find((a: any) => a.currency === 'JPY');
      assert.equal(yenAccount.balances.current, 1_250_000, "a yen balance is whole yen");
    });

    it('a pending transaction posted at Plaid is one transaction; modified and removed ones are reflected', async () => {
      const l = await link();
      const before = await storedTransactions(l.connectionId);
      const pending = before.filter((r) => r.status === 'pending');
      assert.ok(pending.length > 0, 'the Item has pending transactions');
      const posted = fake.postPending(l.itemId);
      assert.equal(posted.length, pending.length);
      const [toModify, toRemove] = fake.transactions(l.itemId).filter((x) => !x.pending && !posted.some((p) => p.posted.transaction_id === x.transaction_id));
      fake.modifyTransaction(l.itemId, toModify!.transaction_id, { amount: 12.34, name: 'Corrected merchant' });
      fake.removeTransaction(l.itemId, toRemove!.transaction_id);
      const refresh = await refreshByWebhook(l);
      assert.equal(refresh.status, 'succeeded', JSON.stringify(refresh));
      await assertInStep(l);
      const after = await storedTransactions(l.connectionId);
      assert.equal(after.length, before.length - 1, 'posting adds nothing; the removal takes one away');
      for (const { pending: p, posted: q } of posted) {
        const was = before.find((r) => r.provider_transaction_id === p.transaction_id)!;
        const now = after.find((r) => r.id === was.id);
        assert.ok(now, 'the pending transaction keeps its Causeway id');
        assert.deepEqual([now.status, now.provider_transaction_id, now.provider_pending_id], ['posted', q.transaction_id, p.transaction_id]);
        assert.equal(after.filter((r) => r.provider_transaction_id === q.transaction_id || r.provider_transaction_id === p.transaction_id).length, 1);
      }
      const modified = after.find((r) => r.provider_transaction_id === toModify!.transaction_id)!;
      assert.equal(modified.amount, -1234);
      const view = (await t.api('GET', `/v1/users/${l.userId}/transactions?limit=500`)).body.data;
      assert.equal(view.find((x: any) => x.id === modified.id).description, 'Corrected merchant');
      assert.ok(!after.some((r) => r.provider_transaction_id === toRemove!.transaction_id), 'the removed transaction is gone');
      assert.equal(view.length, after.length);
    });

    it('a first sync of many pages (page size 7) stores each transaction once, with the last cursor', async (tc) => {
      fake.setPageSize(7);
      try {
        const l = await link();
        const pages = fake.requestsTo('/transactions/sync').filter((r) => r.body.access_token === l.accessToken);
        const truth = fake.transactions(l.itemId);
        tc.diagnostic(`${truth.length} transactions in ${pages.length} pages`);
        assert.ok(pages.length >= Math.ceil(truth.length / 7), `${pages.length} pages`);
        assert.equal((pages.at(-1)!.response as { has_more: boolean }).has_more, false);
        await assertInStep(l);
        // A refresh with nothing new reads one page from the stored cursor and changes nothing.
        const refresh = await refreshByWebhook(l);
        assert.equal(refresh.status, 'succeeded');
        const next = fake.requestsTo('/transactions/sync').filter((r) => r.body.access_token === l.accessToken).slice(pages.length);
        assert.equal(next.length, 1);
        assert.equal(next[0]!.body.cursor, fakeCursor(l.accessToken));
        await assertInStep(l);
      } finally {
        fake.setPageSize(100);
      }
    });

    it('survives TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION mid-pagination with one copy of each', async () => {
      fake.setPageSize(7);
      try {
        const uid = await t.createUser();
        const started = await hostedLink(uid, PLATYPUS);
        const item = started.item!;
        let served = 0;
        fake.onRequest = (entry) => {
          if (entry.path !== '/transactions/sync' || entry.body.access_token !== item.accessToken) return;
          served += 1;
          // After three pages: an injected mutation error, then after six the data really changes under the pagination.
          if (served === 4) fake.injectError('/transactions/sync', { error_type: 'TRANSACTIONS_ERROR', error_code: 'TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION', itemId: item.itemId });
          if (served === 10) fake.addTransactions(item.itemId, 2);
        };
        await started.back();
        const [job] = await jobsOf(uid, started.connectionId);
        const done = await finished(job.id);
        assert.equal(done.status, 'succeeded', JSON.stringify(done));
        const syncs = fake.requestsTo('/transactions/sync').filter((r) => r.body.access_token === item.accessToken);
        const mutations = syncs.filter((r) => (r.response as { error_code?: string }).error_code === 'TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION');
        assert.equal(mutations.length, 2, 'the injected and the real mutation error were both met');
        await assertInStep({ userId: uid, connectionId: started.connectionId, jobId: job.id, itemId: item.itemId, accessToken: item.accessToken });
        const calls = await rows(t, sql`select provider_code, request_id from provider_calls where connection_id = ${started.connectionId} and outcome = 'error'`);
        assert.equal(calls.filter((c) => c.provider_code === 'TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION').length, 2, 'each restart is journaled');
        assert.ok(calls.every((c) => typeof c.request_id === 'string' && c.request_id.length > 0), "with Plaid's request id");
      } finally {
        fake.onRequest = null;
        fake.setPageSize(100);
      }
    });

    it('stores the identity, masked by default', async () => {
      const l = await link();
      const masked = await t.api('GET', `/v1/users/${l.userId}/connections/${l.connectionId}/profile`);
      assert.equal(masked.status, 200, JSON.stringify(masked.body));
      const full = await t.api('GET', `/v1/users/${l.userId}/connections/${l.connectionId}/profile?unmasked=true`);
      assert.equal(full.status, 200);
      assert.equal(masked.body.masked, true);
      assert.equal(full.body.masked, false);
      const identity = fake.requestsTo('/identity/get').filter((r) => r.body.access_token === l.accessToken).at(-1)!.response as { accounts: Array<{ owners: Array<{ names: string[]; emails: Array<{ data: string }> }> }> };
      const names = [...new Set(identity.accounts.flatMap((a) => a.owners.flatMap((o) => o.names)))];
      assert.ok(names.length > 0);
      assert.deepEqual(full.body.names.slice().sort(), names.slice().sort());
      assert.ok(full.body.emails.length > 0);
      for (const [i, n] of full.body.names.entries()) {
        assert.notEqual(masked.body.names[i], n, 'names are masked');
        assert.equal(masked.body.names[i][0], n[0]);
      }
      for (const e of masked.body.emails) assert.match(e.address, /^.\*\*\*@/);
    });
  });

  /** A SYNC_UPDATES_AVAILABLE webhook, and the refresh it starts, to its end. */
  async function refreshByWebhook(l: Linked) {
    const before = new Set((await jobsOf(l.userId, l.connectionId)).map((j) => j.id));
    await fire(l.itemId, { webhook_code: 'SYNC_UPDATES_AVAILABLE' });
    const job = (await jobsOf(l.userId, l.connectionId)).find((j) => !before.has(j.id));
    assert.ok(job, 'the webhook started a refresh');
    return finished(job.id);
  }

  describe('import', () => {
    it('imports an access token with no institution: init, an import job, active with its data, webhooks pointed here', async () => {
      const { itemId, accessToken } = fake.createItem({ institutionId: 'ins_109508' });
      const userId = await t.createUser();
      const res = await t.api('POST', `/v1/users/${userId}/connections/import`, { provider: 'plaid', accessToken });
      assert.equal(res.status, 202, JSON.stringify(res.body));
      assert.equal(res.body.connection.status, 'init');
      assert.equal(res.body.connection.institution.id, PLATYPUS);
      assert.equal(res.body.connection.provider, 'plaid');
      assert.equal(res.body.job.type, 'import');
      const done = await finished(res.body.job.id);
      assert.equal(done.status, 'succeeded', JSON.stringify(done));
      const c = await connectionOf(userId, res.body.connection.id);
      assert.equal(c.status, 'active');
      const accounts = (await t.api('GET', `/v1/users/${userId}/accounts`)).body.data;
      assert.equal(accounts.length, fake.item(itemId).accounts.length);
      await assertInStep({ userId, connectionId: c.id, jobId: done.id, itemId, accessToken });
      const update = fake.requestsTo('/item/webhook/update').filter((r) => r.body.access_token === accessToken);
      assert.equal(update.length, 1);
      assert.equal(update[0]!.body.webhook, `${publicUrl}${hookPath}`);
      assert.equal(fake.item(itemId).webhook, `${publicUrl}${hookPath}`);
      // And the Item's webhooks now reach the imported connection.
      const l = { userId, connectionId: c.id, jobId: done.id, itemId, accessToken };
      fake.addTransactions(itemId, 3);
      assert.equal((await refreshByWebhook(l)).status, 'succeeded');
      await assertInStep(l);
    });

    it('answers 400 naming body.accessToken for a token Plaid does not know', async () => {
      const userId = await t.createUser();
      const res = await t.api('POST', `/v1/users/${userId}/connections/import`, { provider: 'plaid', accessToken: 'access-sandbox-00000000-0000-4000-8000-000000000000' });
      assert.equal(res.status, 400, JSON.stringify(res.body));
      assert.equal(res.body.code, 'validation_failed');
      assert.deepEqual(res.body.errors.map((e: any) => e.field), ['body.accessToken']);
      assert.deepEqual((await t.api('GET', `/v1/users/${userId}/connections`)).body.data, []);
    });
  });

  describe('duplicate Items', () => {
    it('a second link of the same bank for the same user fails as duplicate_connection, its Item removed, the first kept and repaired', async () => {
      const first = await link(PLATYPUS);
      const firstJobs = await jobsOf(first.userId, first.connectionId);
      const second = await hostedLink(first.userId, PLATYPUS);
      assert.ok(second.item);
      const page = await second.back();
      assert.match(page, /Already connected/);
      const c2 = await connectionOf(first.userId, second.connectionId);
      assert.deepEqual([c2.status, c2.statusReason], ['failed', 'duplicate_connection']);
      const removed = fake.requestsTo('/item/remove').filter((r) => r.body.access_token === second.item!.accessToken);
      assert.equal(removed.length, 1, 'the second Item is removed at Plaid');
      assert.equal(fake.item(second.item.itemId).removed, true);
      assert.equal(fake.item(first.itemId).removed, false);
      assert.equal((await jobsOf(first.userId, second.connectionId)).length, 0, 'the duplicate never synced');
      const c1 = await connectionOf(first.userId, first.connectionId);
      assert.equal(c1.status, 'active');
      const jobs = await jobsOf(first.userId, first.connectionId);
      assert.equal(jobs.length, firstJobs.length + 1);
      assert.equal(jobs[0].type, 'repair');
      assert.equal((await finished(jobs[0].id)).status, 'succeeded');
      await assertInStep(first);
    });
  });
});

describe('Plaid settings and what the API answers without them', () => {
  let fake: PlaidFake;
  let t: TestApp;

  before(async () => {
    fake = await startPlaidFake({ seed: 'causeway-plaid-settings' });
    // The deployment names Plaid's host (the fake) but sets no keys: no application has Plaid by default.
    t = await startTestApp({ config: { providerEnv: { CAUSEWAY_PLAID_URL: fake.url } } });
  });

  after(async () => {
    await t?.close();
    await fake?.close();
  });

  it('refuses bad settings naming each field; shows a secret as set, never its value; stores it encrypted', async () => {
    const bad = await t.api('PUT', '/v1/application/providers/plaid', { clientId: 42, environment: 'staging', baseUrl: 'https://evil.example', colour: 'blue' });
    assert.equal(bad.status, 400, JSON.stringify(bad.body));
    assert.equal(bad.body.code, 'validation_failed');
    assert.deepEqual(bad.body.errors.map((e: any) => e.field).sort(), ['body.baseUrl', 'body.clientId', 'body.colour', 'body.environment', 'body.secret']);
    assert.deepEqual(await rows(t, sql`select * from provider_settings`), [], 'nothing stored');

    const secret = fake.secret;
    const put = await t.api('PUT', '/v1/application/providers/plaid', { clientId: fake.clientId, secret, environment: 'sandbox' });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    const got = await t.api('GET', '/v1/application/providers');
    assert.equal(got.status, 200);
    const plaid = got.body.data.find((p: any) => p.provider === 'plaid');
    assert.equal(plaid.configured, true);
    assert.equal(plaid.source, 'application');
    const field = (name: string) => plaid.fields.find((f: any) => f.name === name);
    assert.deepEqual([field('secret').set, field('secret').value, field('secret').secret], [true, null, true]);
    assert.deepEqual([field('clientId').set, field('clientId').value], [true, fake.clientId]);
    assert.equal(field('baseUrl'), undefined, "the deployment's host is not an application's setting");
    assert.ok(!JSON.stringify(got.body).includes(secret));
    assert.ok(!JSON.stringify(put.body).includes(secret));
    const stored = await rows(t, sql`select * from provider_settings`);
    assert.equal(stored.length, 1);
    assert.ok(!JSON.stringify(stored).includes(secret), 'the secret is not in the table in plain text');
    assert.ok(!String(stored[0].settings_enc).includes(fake.clientId), 'the settings are sealed whole');
    assert.deepEqual(JSON.parse(t.core.cipher.decrypt(stored[0].settings_enc)), { clientId: fake.clientId, secret, environment: 'sandbox' });
    assert.deepEqual(stored[0].shown, { clientId: fake.clientId, secret: '', environment: 'sandbox' }, 'what GET may show: the secret only as set');
  });

  it("lists no Plaid institution and answers 404 for one when the application has no Plaid settings", async () => {
    // The catalogue holds Plaid's institutions (read with the application's settings)…
    await t.api('PUT', '/v1/application/providers/plaid', { clientId: fake.clientId, secret: fake.secret });
    const synced = await syncCatalogue(t.core, 'plaid');
    assert.ok(synced.synced > 0);
    const withSettings = await t.api('GET', '/v1/institutions?search=Platypus');
    assert.ok(withSettings.body.data.some((i: any) => i.id === PLATYPUS), JSON.stringify(withSettings.body));
    // …but once the application's settings are gone, none is its to use.
    assert.equal((await t.api('DELETE', '/v1/application/providers/plaid')).status, 204);
    const plaid = (await t.api('GET', '/v1/application/providers')).body.data.find((p: any) => p.provider === 'plaid');
    assert.deepEqual([plaid.configured, plaid.source], [false, null]);
    for (const q of ['', '?search=Platypus', '?provider=plaid']) {
      const listed = await t.api('GET', `/v1/institutions${q}`);
      assert.equal(listed.status, 200, JSON.stringify(listed.body));
      assert.ok(!listed.body.data.some((i: any) => i.provider === 'plaid'), `GET /v1/institutions${q} lists no Plaid institution`);
    }
    assert.equal((await t.api('GET', `/v1/institutions/${PLATYPUS}`)).status, 404);
    const userId = await t.createUser();
    const created = await t.api('POST', `/v1/users/${userId}/connections`, { institutionId: PLATYPUS, method: 'hosted' });
    assert.equal(created.status, 404, JSON.stringify(created.body));
    assert.equal(created.body.code, 'not_found');
    assert.equal(fake.requestsTo('/link/token/create').length, 0, 'Plaid was not asked');
  });
});
