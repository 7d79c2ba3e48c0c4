/**
 * The Plaid fake (test/fakes/plaid), driven with the official `plaid` client the way Causeway's
 * adapter will drive real Plaid: Hosted Link, exchange, paginated sync, pending → posted,
 * reset_login and update mode, injected failures, signed webhooks, removal. Its conformance to
 * Plaid's OpenAPI spec is checked separately by scripts/check-plaid-fake-spec.ts.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeProtectedHeader, importJWK, jwtVerify } from 'jose';
import { Configuration, CountryCode, PlaidApi, Products, type RemovedTransaction, type Transaction } from 'plaid';
import { sha256Hex, startPlaidFake, type PlaidFake } from './fakes/plaid/index.js';

interface Received { headers: http.IncomingHttpHeaders; body: string }

async function startReceiver() {
  const got: Received[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => { got.push({ headers: req.headers, body }); res.writeHead(200).end(); });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/plaid`;
  return { url, got, close: () => new Promise<void>((r) => server.close(() => r())) };
}

/** The Plaid error a client call failed with. */
async function plaidErrorOf(p: Promise<unknown>): Promise<{ status: number; error_code: string; error_type: string }> {
  try {
    await p;
  } catch (e: any) {
    if (!e.response) throw e;
    return { status: e.response.status, ...e.response.data };
  }
  throw new Error('expected the call to fail');
}

/** Completes the Hosted Link page with a plain form POST, as a fetch-only test would. */
async function completeHostedLink(url: string, fields: Record<string, string>) {
  const res = await fetch(url, { method: 'POST', body: new URLSearchParams(fields), redirect: 'manual' });
  return { status: res.status, location: res.headers.get('location') };
}

describe('Plaid fake', () => {
  let fake: PlaidFake;
  let plaid: PlaidApi;
  let hooks: Awaited<ReturnType<typeof startReceiver>>;

  before(async () => {
    fake = await startPlaidFake({ seed: 'plaid-fake-test' });
    hooks = await startReceiver();
    plaid = new PlaidApi(new Configuration({ basePath: fake.url, baseOptions: { headers: { 'PLAID-CLIENT-ID': fake.clientId, 'PLAID-SECRET': fake.secret } } }));
  });
  after(async () => {
    await fake.close();
    await hooks.close();
  });

  const verify = async (r: Received) => {
    const jwt = String(r.headers['plaid-verification']);
    const { kid, alg } = decodeProtectedHeader(jwt);
    assert.equal(alg, 'ES256');
    const { data } = await plaid.webhookVerificationKeyGet({ key_id: kid! });
    const { payload } = await jwtVerify(jwt, await importJWK(data.key as any, 'ES256'), { algorithms: ['ES256'], maxTokenAge: '5 min' });
    assert.equal(payload.request_body_sha256, sha256Hex(r.body));
    return JSON.parse(r.body);
  };

  it('links through Hosted Link, syncs every page, posts pending, breaks, repairs, signs webhooks and removes', async () => {
    const created = await plaid.linkTokenCreate({
      user: { client_user_id: 'user-1' }, client_name: 'Causeway', products: [Products.Transactions], country_codes: [CountryCode.Us],
      language: 'en', webhook: hooks.url, hosted_link: { completion_redirect_uri: 'https://app.example/plaid/done?connection=c1' },
    });
    assert.match(created.data.link_token, /^link-sandbox-/);
    assert.equal(created.data.hosted_link_url, `${fake.url}/hl/${created.data.link_token}`);

    const page = await fetch(created.data.hosted_link_url!);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /user_good/);
    const done = await completeHostedLink(created.data.hosted_link_url!, { action: 'success', institution_id: 'ins_109508' });
    assert.deepEqual(done, { status: 303, location: 'https://app.example/plaid/done?connection=c1' });

    const got = await plaid.linkTokenGet({ link_token: created.data.link_token });
    const session = got.data.link_sessions![0]!;
    assert.ok(session.finished_at);
    const publicToken = session.results!.item_add_results[0]!.public_token;
    assert.equal(session.on_success!.public_token, publicToken);
    assert.equal(session.on_success!.metadata!.institution!.institution_id, 'ins_109508');

    const ex = await plaid.itemPublicTokenExchange({ public_token: publicToken });
    assert.match(ex.data.access_token, /^access-sandbox-/);
    assert.equal((await plaidErrorOf(plaid.itemPublicTokenExchange({ public_token: publicToken }))).error_code, 'INVALID_PUBLIC_TOKEN');
    const access = ex.data.access_token;
    const itemId = ex.data.item_id;

    const accounts = (await plaid.accountsGet({ access_token: access })).data.accounts;
    assert.deepEqual(accounts.map((a) => a.subtype), ['checking', 'savings', 'credit card']);
    const card = accounts.find((a) => a.type === 'credit')!;
    assert.ok(card.balances.current! > 0, 'a credit card balance is the amount owed, positive');

    // Sync from the beginning, 40 at a time, until has_more is false.
    fake.setPageSize(40);
    const seen = new Map<string, Transaction>();
    let cursor: string | undefined;
    let pages = 0;
    for (let more = true; more; pages++) {
      const r = await plaid.transactionsSync({ access_token: access, ...(cursor ? { cursor } : {}) });
      assert.ok(r.data.added.length <= 40);
      for (const t of r.data.added) seen.set(t.transaction_id, t);
      cursor = r.data.next_cursor;
      more = r.data.has_more;
      assert.equal(r.data.transactions_update_status, 'HISTORICAL_UPDATE_COMPLETE');
    }
    const truth = fake.transactions(itemId);
    assert.equal(seen.size, truth.length);
    assert.equal(pages, Math.ceil(truth.length / 40));
    const pending = [...seen.values()].filter((t) => t.pending);
    assert.ok(pending.length > 0);

    // Pending transactions post: removed, and added again under a new id that points back.
    fake.postPending(itemId);
    const after = await plaid.transactionsSync({ access_token: access, cursor: cursor! });
    assert.deepEqual(new Set(after.data.removed.map((r: RemovedTransaction) => r.transaction_id)), new Set(pending.map((t) => t.transaction_id)));
    assert.equal(after.data.added.length, pending.length);
    for (const t of after.data.added) {
      assert.equal(t.pending, false);
      assert.ok(pending.some((p) => p.transaction_id === t.pending_transaction_id));
    }
    cursor = after.data.next_cursor;

    // reset_login: data calls answer ITEM_LOGIN_REQUIRED, and the Item's webhook hears about it.
    await plaid.sandboxItemResetLogin({ access_token: access });
    const broken = await plaidErrorOf(plaid.accountsGet({ access_token: access }));
    assert.deepEqual([broken.status, broken.error_type, broken.error_code], [400, 'ITEM_ERROR', 'ITEM_LOGIN_REQUIRED']);
    assert.equal((await plaid.itemGet({ access_token: access })).data.item.error?.error_code, 'ITEM_LOGIN_REQUIRED');
    await fake.flushWebhooks();
    const errorHook = hooks.got.map((r) => JSON.parse(r.body)).find((b) => b.webhook_code === 'ERROR');
    assert.deepEqual([errorHook.webhook_type, errorHook.item_id, errorHook.error.error_code], ['ITEM', itemId, 'ITEM_LOGIN_REQUIRED']);

    // Update mode through Hosted Link repairs the same Item.
    const upd = await plaid.linkTokenCreate({ user: { client_user_id: 'user-1' }, client_name: 'Causeway', access_token: access, country_codes: [CountryCode.Us], language: 'en', hosted_link: { completion_redirect_uri: 'https://app.example/plaid/done' } });
    assert.equal((await completeHostedLink(upd.data.hosted_link_url!, { action: 'success' })).status, 303);
    assert.equal((await plaid.itemGet({ access_token: access })).data.item.error, null);
    assert.equal((await plaid.accountsGet({ access_token: access })).data.item.item_id, itemId);
    assert.equal(fake.items().length, 1, 'update mode makes no new Item');

    // An injected mutation error, then the same cursor works again.
    fake.injectError('/transactions/sync', { error_type: 'TRANSACTIONS_ERROR', error_code: 'TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION' });
    const mutation = await plaidErrorOf(plaid.transactionsSync({ access_token: access, cursor }));
    assert.deepEqual([mutation.status, mutation.error_code], [400, 'TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION']);
    assert.equal((await plaid.transactionsSync({ access_token: access, cursor })).data.added.length, 0);

    // Webhooks verify against the key Plaid publishes; the LINK webhooks came too.
    const fired = await fake.fireWebhook(itemId, { webhook_type: 'TRANSACTIONS', webhook_code: 'SYNC_UPDATES_AVAILABLE' });
    assert.equal(fired.status, 200);
    await fake.flushWebhooks();
    const bodies = await Promise.all(hooks.got.map(verify));
    assert.deepEqual(bodies.map((b) => `${b.webhook_type}/${b.webhook_code}`), ['LINK/ITEM_ADD_RESULT', 'LINK/SESSION_FINISHED', 'ITEM/ERROR', 'TRANSACTIONS/SYNC_UPDATES_AVAILABLE']);
    assert.equal(bodies[3].historical_update_complete, true);

    await plaid.itemRemove({ access_token: access });
    const gone = await plaidErrorOf(plaid.itemGet({ access_token: access }));
    assert.deepEqual([gone.status, gone.error_code], [400, 'ITEM_NOT_FOUND']);
    fake.setPageSize(100);
  });

  it('answers the same page for the same cursor, and a mutation mid-pagination as Plaid does', async () => {
    const { itemId, accessToken } = fake.createItem({ transactions: 30 });
    const first = await plaid.transactionsSync({ access_token: accessToken, count: 10 });
    const again = await plaid.transactionsSync({ access_token: accessToken, count: 10 });
    assert.deepEqual(again.data.added, first.data.added);
    assert.equal(again.data.next_cursor, first.data.next_cursor);
    const second = await plaid.transactionsSync({ access_token: accessToken, count: 10, cursor: first.data.next_cursor });
    assert.equal(second.data.has_more, true);
    fake.addTransactions(itemId, 2);
    const err = await plaidErrorOf(plaid.transactionsSync({ access_token: accessToken, count: 10, cursor: second.data.next_cursor }));
    assert.equal(err.error_code, 'TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION');
    // Restarting from the beginning sees all 32.
    let cursor: string | undefined;
    const ids = new Set<string>();
    for (let more = true; more;) {
      const r = await plaid.transactionsSync({ access_token: accessToken, count: 10, ...(cursor ? { cursor } : {}) });
      r.data.added.forEach((t) => ids.add(t.transaction_id));
      cursor = r.data.next_cursor;
      more = r.data.has_more;
    }
    assert.equal(ids.size, 32);
    const tx = fake.transactions(itemId)[0]!;
    fake.modifyTransaction(itemId, tx.transaction_id, { amount: 12.34 });
    fake.removeTransaction(itemId, fake.transactions(itemId)[1]!.transaction_id);
    const delta = await plaid.transactionsSync({ access_token: accessToken, cursor: cursor! });
    assert.deepEqual([delta.data.added.length, delta.data.modified.length, delta.data.removed.length], [0, 1, 1]);
    assert.equal(delta.data.modified[0]!.amount, 12.34);
    assert.equal((await plaidErrorOf(plaid.transactionsSync({ access_token: accessToken, cursor: 'bm90LWEtY3Vyc29y' }))).error_code, 'INVALID_FIELD');
  });

  it('refuses wrong keys, missing and unknown fields, and unknown tokens in Plaid\'s shapes', async () => {
    const post = (path: string, body: object, headers: Record<string, string> = {}) =>
      fetch(`${fake.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) }).then(async (r) => ({ status: r.status, body: await r.json() as any }));
    const wrong = await post('/item/get', { client_id: fake.clientId, secret: 'nope', access_token: 'x' });
    assert.deepEqual([wrong.status, wrong.body.error_type, wrong.body.error_code], [400, 'INVALID_INPUT', 'INVALID_API_KEYS']);
    assert.ok(wrong.body.request_id);
    const creds = { client_id: fake.clientId, secret: fake.secret };
    assert.equal((await post('/accounts/get', creds)).body.error_code, 'MISSING_FIELDS');
    assert.equal((await post('/accounts/get', { ...creds, access_token: 'x', acces_token: 'y' })).body.error_code, 'UNKNOWN_FIELDS');
    assert.equal((await post('/accounts/get', { ...creds, access_token: 'access-sandbox-nope' })).body.error_code, 'INVALID_ACCESS_TOKEN');
    const limited = fake.createItem();
    fake.injectError('/accounts/balance/get', { error_type: 'RATE_LIMIT_EXCEEDED', error_code: 'RATE_LIMIT_EXCEEDED', http: 429, times: 2 });
    for (let i = 0; i < 2; i++) assert.equal((await plaidErrorOf(plaid.accountsBalanceGet({ access_token: limited.accessToken }))).status, 429);
    assert.equal((await plaid.accountsBalanceGet({ access_token: limited.accessToken })).status, 200);
    fake.injectError('/item/get', { error_type: 'API_ERROR', error_code: 'INTERNAL_SERVER_ERROR' });
    assert.equal((await plaidErrorOf(plaid.itemGet({ access_token: limited.accessToken }))).status, 500);
  });

  it('serves a catalogue of institutions with the fixed ones, paging and optional metadata', async () => {
    const page = await plaid.institutionsGet({ count: 500, offset: 0, country_codes: [CountryCode.Us, CountryCode.Gb, CountryCode.Ca], options: { include_optional_metadata: true } });
    assert.equal(page.data.institutions.length, 500);
    assert.ok(page.data.total >= 2000, `total ${page.data.total}`);
    const platypus = page.data.institutions.find((i) => i.institution_id === 'ins_109508')!;
    assert.equal(platypus.name, 'First Platypus Bank');
    assert.equal(platypus.primary_color, '#1f6feb');
    assert.equal(Buffer.from(platypus.logo!, 'base64').subarray(1, 4).toString(), 'PNG');
    const bare = await plaid.institutionsGet({ count: 1, offset: 0, country_codes: [CountryCode.Us] });
    assert.equal(bare.data.institutions[0]!.logo, undefined);
    assert.equal((await plaidErrorOf(plaid.institutionsGet({ count: 501, offset: 0, country_codes: [CountryCode.Us] }))).error_code, 'INVALID_FIELD');
    const royal = await plaid.institutionsGetById({ institution_id: 'ins_117650', country_codes: [CountryCode.Gb] });
    assert.deepEqual([royal.data.institution.name, royal.data.institution.oauth], ['Royal Bank of Plaid', true]);
    assert.equal((await plaidErrorOf(plaid.institutionsGetById({ institution_id: 'ins_0', country_codes: [CountryCode.Us] }))).error_code, 'INVALID_INSTITUTION');
    const { accessToken } = fake.createItem({ institutionId: 'ins_109512' });
    const yen = (await plaid.accountsGet({ access_token: accessToken })).data.accounts.find((a) => a.balances.iso_currency_code === 'JPY')!;
    assert.ok(Number.isInteger(yen.balances.current));
  });

  it('records Hosted Link exits and institution errors, and signs with the right key only', async () => {
    const make = () => plaid.linkTokenCreate({ user: { client_user_id: 'u2' }, client_name: 'Causeway', products: [Products.Transactions], country_codes: [CountryCode.Us], language: 'en', institution_id: 'ins_109509', hosted_link: { completion_redirect_uri: 'https://app.example/back' } });
    const left = await make();
    assert.equal((await completeHostedLink(left.data.hosted_link_url!, { action: 'exit' })).status, 303);
    const exit = (await plaid.linkTokenGet({ link_token: left.data.link_token })).data.link_sessions![0]!;
    assert.equal(exit.on_exit!.error, null);
    const failed = await make();
    await completeHostedLink(failed.data.hosted_link_url!, { action: 'error' });
    const err = (await plaid.linkTokenGet({ link_token: failed.data.link_token })).data.link_sessions![0]!;
    assert.equal(err.exit!.error!.error_code, 'INSTITUTION_NOT_RESPONDING');
    assert.equal((await fetch(failed.data.hosted_link_url!)).status, 410, 'a Hosted Link URL works once');

    const body = '{"webhook_type":"ITEM"}';
    const key = await importJWK(fake.webhookKey as any, 'ES256');
    await jwtVerify(await fake.signWebhook(body), key);
    await assert.rejects(jwtVerify(await fake.signWebhook(body, { key: 'other' }), key));
    const stale = await jwtVerify(await fake.signWebhook(body, { iat: Math.floor(Date.now() / 1000) - 600 }), key);
    assert.ok(stale.payload.iat! < Date.now() / 1000 - 300);
    const old = fake.webhookKey;
    const fresh = await fake.rotateWebhookKey();
    assert.notEqual(fresh.kid, old.kid);
    const oldKey = (await plaid.webhookVerificationKeyGet({ key_id: old.kid })).data.key;
    assert.ok(oldKey.expired_at);
  });

  it('with autoWebhooks, tells a synced Item about new data and new accounts; account selection shares them', async () => {
    const auto = await startPlaidFake({ autoWebhooks: true });
    try {
      const client = new PlaidApi(new Configuration({ basePath: auto.url, baseOptions: { headers: { 'PLAID-CLIENT-ID': auto.clientId, 'PLAID-SECRET': auto.secret } } }));
      const { itemId, accessToken } = auto.createItem({ webhook: hooks.url, transactions: 10 });
      auto.addTransactions(itemId, 1);
      await auto.flushWebhooks();
      assert.equal(auto.webhooks.length, 0, 'no SYNC_UPDATES_AVAILABLE before the first /transactions/sync');
      const first = await client.transactionsSync({ access_token: accessToken });
      auto.addTransactions(itemId, 2);
      const account = auto.addAccount(itemId);
      await auto.flushWebhooks();
      assert.deepEqual(auto.webhooks.map((d) => d.payload.webhook_code), ['SYNC_UPDATES_AVAILABLE', 'NEW_ACCOUNTS_AVAILABLE']);
      const next = await client.transactionsSync({ access_token: accessToken, cursor: first.data.next_cursor });
      assert.equal(next.data.added.length, 2);
      assert.ok(!(await client.accountsGet({ access_token: accessToken })).data.accounts.some((a) => a.account_id === account.account_id));
      const upd = await client.linkTokenCreate({ user: { client_user_id: 'u3' }, client_name: 'Causeway', access_token: accessToken, country_codes: [CountryCode.Us], language: 'en', update: { account_selection_enabled: true }, hosted_link: {} });
      assert.equal((await completeHostedLink(upd.data.hosted_link_url!, { action: 'success' })).status, 200);
      assert.ok((await client.accountsGet({ access_token: accessToken })).data.accounts.some((a) => a.account_id === account.account_id));
    } finally {
      await auto.close();
    }
  });

  it('lets a test slow an endpoint and act before a request is answered', async () => {
    const { accessToken } = fake.createItem({ transactions: 5 });
    const seen: string[] = [];
    fake.onRequest = (e) => { seen.push(e.path); };
    fake.delay('/item/get', 150, 1);
    const t0 = Date.now();
    await plaid.itemGet({ access_token: accessToken });
    assert.ok(Date.now() - t0 >= 140);
    fake.onRequest = null;
    assert.deepEqual(seen, ['/item/get']);
    assert.equal(fake.requestsTo('/item/get').at(-1)!.status, 200);
  });
});
