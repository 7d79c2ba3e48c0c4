/**
 * The Plaid adapter against a scripted stand-in for Plaid (node:http): what it sends and how it reads
 * the answers. The stateful fake (test/fakes/plaid) drives the whole flow in the integration tests.
 */
import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createPlaidProvider } from '../../src/providers/plaid/index.js';
import { HOSTED_LINK_LIFETIME_SECONDS } from '../../src/providers/plaid/link.js';
import { ProviderError, type ProviderCallContext, type ProviderLink, type ProviderSettings } from '../../src/providers/types.js';

const NOW = new Date('2026-05-01T12:00:00Z');
const TOKEN = 'access-sandbox-11111111-2222-3333-4444-555555555555';

type Answer = { status?: number; body: unknown; headers?: Record<string, string> } | 'hang';
const answers = new Map<string, Answer[] | ((body: Record<string, unknown>) => Answer)>();
const seen: { path: string; body: Record<string, unknown>; headers: http.IncomingHttpHeaders }[] = [];
let server: http.Server;
let ctx: ProviderCallContext;

/** Answers for a path, one per call, in order. */
function answer(path: string, ...list: Answer[]): void {
  answers.set(path, list);
}
/** The same answer for every call. */
function always(path: string, a: Answer): void {
  answers.set(path, () => a);
}
const sent = (path: string) => seen.filter((s) => s.path === path).map((s) => s.body);

before(async () => {
  server = http.createServer((req, res) => {
    let text = '';
    req.on('data', (c: Buffer) => { text += c.toString('utf8'); });
    req.on('end', () => {
      const body = JSON.parse(text || '{}') as Record<string, unknown>;
      seen.push({ path: req.url ?? '', body, headers: req.headers });
      const script = answers.get(req.url ?? '');
      const a: Answer | undefined = typeof script === 'function' ? script(body) : script?.shift();
      if (a === 'hang') return;
      if (!a) {
        res.writeHead(500).end();
        return;
      }
      res.writeHead(a.status ?? 200, { 'content-type': 'application/json', ...a.headers }).end(JSON.stringify(a.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  ctx = { now: NOW, runKey: 'job_1:1', settings: { clientId: 'client_1', secret: 'secret_1', environment: 'sandbox', baseUrl } };
});

after(() => {
  server.closeAllConnections();
  return new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(() => {
  answers.clear();
  seen.length = 0;
});

const provider = createPlaidProvider({ fetchTimeoutMs: 1_000 });
const link: ProviderLink = { institutionId: 'ins_1', access: { kind: 'token', token: TOKEN, itemId: 'item_1' }, firstSyncedAt: null };

const institution = (id: string, over: Record<string, unknown> = {}) => ({
  institution_id: id, name: `Bank ${id}`, products: ['transactions', 'balance', 'identity', 'investments'], country_codes: ['GB', 'IE'],
  routing_numbers: [], oauth: true, logo: 'iVBORw0KGgo=', primary_color: '#1A2B3C', url: 'https://bank.example', ...over,
});
const item = (over: Record<string, unknown> = {}) => ({
  item: {
    item_id: 'item_1', institution_id: 'ins_1', webhook: null, error: null, available_products: ['identity'], billed_products: ['transactions'],
    products: ['transactions'], consent_expiration_time: null, update_type: 'background', created_at: '2026-01-02T03:04:05Z', ...over,
  },
  request_id: 'req_item',
});

describe('Plaid adapter: settings and calls', () => {
  it('sends the application\'s keys to its host', async () => {
    answer('/accounts/get', { body: { accounts: [], item: item().item, request_id: 'r' } });
    await provider.fetchAccounts(link, ctx);
    const [call] = seen;
    assert.equal(call!.headers['plaid-client-id'], 'client_1');
    assert.equal(call!.headers['plaid-secret'], 'secret_1');
    assert.equal(call!.headers['plaid-version'], '2020-09-14');
    assert.deepEqual(call!.body, { access_token: TOKEN });
  });

  it('says NOT_CONFIGURED without keys', async () => {
    const broken: (ProviderSettings | undefined)[] = [undefined, {}, { clientId: 'c' }, { clientId: 'c', secret: 's', environment: 'development' }, { clientId: 'c', secret: 's', baseUrl: 'ftp://x' }];
    for (const settings of broken) {
      await assert.rejects(provider.fetchAccounts(link, { ...ctx, settings }), (e: unknown) =>
        e instanceof ProviderError && e.code === 'provider_error' && e.providerCode === 'NOT_CONFIGURED' && !e.transient);
    }
  });

  it('reads its settings from the environment', () => {
    assert.equal(provider.settingsFromEnv!({}), null);
    assert.equal(provider.settingsFromEnv!({ CAUSEWAY_PLAID_CLIENT_ID: 'c' }), null);
    assert.deepEqual(provider.settingsFromEnv!({ CAUSEWAY_PLAID_CLIENT_ID: 'c', CAUSEWAY_PLAID_SECRET: 's' }), { clientId: 'c', secret: 's', environment: 'sandbox' });
    assert.deepEqual(
      provider.settingsFromEnv!({ CAUSEWAY_PLAID_CLIENT_ID: 'c', CAUSEWAY_PLAID_SECRET: 's', CAUSEWAY_PLAID_ENV: 'production', CAUSEWAY_PLAID_URL: 'http://fake:4010' }),
      { clientId: 'c', secret: 's', environment: 'production', baseUrl: 'http://fake:4010' },
    );
    assert.deepEqual(provider.settingFields!.map((f) => [f.name, f.secret, f.required]), [['clientId', false, true], ['secret', true, true], ['environment', false, false], ['baseUrl', false, false]]);
  });

  it('gives up on a call that hangs, as a transient failure', async () => {
    answer('/accounts/get', 'hang');
    await assert.rejects(provider.fetchAccounts(link, ctx), (e: unknown) => e instanceof ProviderError && e.transient && e.providerCode === 'TIMEOUT');
  });

  it('maps an error answer, keeping the request id and never the token', async () => {
    answer('/transactions/sync', {
      status: 400,
      body: { error_type: 'ITEM_ERROR', error_code: 'ITEM_LOGIN_REQUIRED', error_message: `login required for ${TOKEN}`, display_message: null, request_id: 'req_9' },
    });
    await assert.rejects(provider.syncTransactions!(link, null, ctx), (e: unknown) => {
      assert.ok(e instanceof ProviderError);
      assert.deepEqual([e.code, e.transient, e.providerCode, e.requestId], ['invalid_credentials', false, 'ITEM_LOGIN_REQUIRED', 'req_9']);
      assert.ok(!e.message.includes(TOKEN) && !e.message.includes('secret_1'));
      return true;
    });
  });
});

describe('Plaid adapter: catalogue', () => {
  it('pages through /institutions/get by offset', async () => {
    answer('/institutions/get',
      { body: { institutions: [institution('ins_1'), institution('ins_2', { logo: null, primary_color: null, country_codes: ['US'] })], total: 3, request_id: 'r' } },
      { body: { institutions: [institution('ins_3')], total: 3, request_id: 'r' } });
    const first = await provider.listInstitutions(ctx, null);
    assert.deepEqual([first.next, first.total, first.institutions.map((i) => i.id)], ['2', 3, ['ins_1', 'ins_2']]);
    const second = await provider.listInstitutions(ctx, first.next);
    assert.deepEqual([second.next, second.institutions.map((i) => i.id)], [null, ['ins_3']]);
    const [q1, q2] = sent('/institutions/get');
    assert.deepEqual([q1!.count, q1!.offset, q2!.offset, (q1!.options as Record<string, unknown>).include_optional_metadata], [500, 0, 2, true]);
    assert.equal((q1!.country_codes as string[]).length, 20);
    assert.deepEqual(first.institutions[0], {
      id: 'ins_1', name: 'Bank ins_1', country: 'GB', methods: ['hosted'], products: ['accounts', 'transactions', 'balances', 'identity'],
      logo: 'data:image/png;base64,iVBORw0KGgo=', primaryColor: '#1a2b3c', url: 'https://bank.example', alwaysMfa: false,
      linksPendingTransactions: true, limits: { refreshesPerDay: 24, minIntervalSeconds: 60, maxConcurrentRefreshes: 20, refreshesPerMinute: 300 },
    });
    assert.deepEqual([first.institutions[1]!.logo, first.institutions[1]!.primaryColor, first.institutions[1]!.country], [null, null, 'US']);
  });

  it('finds one institution, or null for an id Plaid does not know', async () => {
    answer('/institutions/get_by_id',
      { body: { institution: institution('ins_1'), request_id: 'r' } },
      { status: 400, body: { error_type: 'INVALID_INPUT', error_code: 'INVALID_INSTITUTION', error_message: 'invalid institution_id', request_id: 'r' } });
    assert.equal((await provider.getInstitution('ins_1', ctx))?.id, 'ins_1');
    assert.equal(await provider.getInstitution('ins_nope', ctx), null);
  });
});

describe('Plaid adapter: Hosted Link', () => {
  const start = { institutionId: 'ins_1', state: 'st_1', returnUrl: 'https://causeway.example/v1/return?state=st_1', webhookUrl: 'https://causeway.example/v1/webhooks/plaid', userId: 'usr_1' };

  it('starts a link for the bank, its countries and the Plaid products asked for', async () => {
    answer('/institutions/get_by_id', { body: { institution: institution('ins_1'), request_id: 'r' } });
    answer('/link/token/create', { body: { link_token: 'link-sandbox-1', expiration: '2026-05-01T16:00:00Z', hosted_link_url: 'https://hosted.plaid.com/link/lp1', request_id: 'r' } });
    const session = await provider.startLink!({ ...start, products: ['accounts', 'balances', 'transactions', 'identity', 'investments'], update: null }, ctx);
    assert.deepEqual(session, { url: 'https://hosted.plaid.com/link/lp1', reference: 'link-sandbox-1', expiresAt: new Date(NOW.getTime() + HOSTED_LINK_LIFETIME_SECONDS * 1000) });
    assert.deepEqual(sent('/link/token/create')[0], {
      client_name: 'Causeway', language: 'en', country_codes: ['GB', 'IE'], user: { client_user_id: 'usr_1' },
      hosted_link: { completion_redirect_uri: start.returnUrl, url_lifetime_seconds: HOSTED_LINK_LIFETIME_SECONDS },
      webhook: start.webhookUrl, products: ['transactions', 'identity'], institution_id: 'ins_1',
    });
  });

  it('asks for transactions when only accounts and balances are wanted, and sends no webhook without one', async () => {
    answer('/institutions/get_by_id', { body: { institution: institution('ins_1'), request_id: 'r' } });
    answer('/link/token/create', { body: { link_token: 'link-sandbox-2', expiration: '2026-05-01T12:10:00Z', hosted_link_url: 'https://h/2', request_id: 'r' } });
    const session = await provider.startLink!({ ...start, webhookUrl: null, products: ['accounts', 'balances'], update: null }, ctx);
    assert.deepEqual(session.expiresAt, new Date('2026-05-01T12:10:00Z'), 'the token\'s own expiry when sooner');
    const body = sent('/link/token/create')[0]!;
    assert.deepEqual([body.products, 'webhook' in body], [['transactions'], false]);
  });

  it('repairs in update mode with the access token and no products, adding only products the Item lacks', async () => {
    always('/institutions/get_by_id', { body: { institution: institution('ins_1'), request_id: 'r' } });
    always('/item/get', { body: item({ consented_products: ['transactions'] }) });
    always('/link/token/create', { body: { link_token: 'link-sandbox-3', expiration: '2026-05-01T12:30:00Z', hosted_link_url: 'https://h/3', request_id: 'r' } });
    await provider.startLink!({ ...start, products: ['accounts', 'transactions'], update: link }, ctx);
    await provider.startLink!({ ...start, products: ['accounts', 'transactions', 'identity'], update: link }, ctx);
    const [repair, addIdentity] = sent('/link/token/create');
    assert.equal(repair!.access_token, TOKEN);
    assert.ok(!('products' in repair!) && !('institution_id' in repair!) && !('additional_consented_products' in repair!));
    assert.deepEqual(addIdentity!.additional_consented_products, ['identity']);
  });

  it('refuses a link token without a Hosted Link URL', async () => {
    answer('/institutions/get_by_id', { body: { institution: institution('ins_1'), request_id: 'r' } });
    answer('/link/token/create', { body: { link_token: 'link-sandbox-4', expiration: '2026-05-01T16:00:00Z', request_id: 'r9' } });
    await assert.rejects(provider.startLink!({ ...start, products: ['transactions'], update: null }, ctx), (e: unknown) =>
      e instanceof ProviderError && e.providerCode === 'NO_HOSTED_LINK_URL' && e.requestId === 'r9');
  });

  const complete = (update: ProviderLink | null = null) => provider.completeLink!({ institutionId: 'ins_1', params: {}, reference: 'link-sandbox-1', update }, ctx);
  const tokenGet = (sessions: unknown[]) => ({ body: { link_token: 'link-sandbox-1', created_at: null, expiration: null, metadata: {}, link_sessions: sessions, request_id: 'r' } });
  const success = {
    link_session_id: 's2', started_at: '2026-05-01T12:01:00Z', finished_at: '2026-05-01T12:03:00Z',
    results: { item_add_results: [{ public_token: 'public-sandbox-9', accounts: [{ id: 'a1', name: 'Checking', mask: '0000' }, { id: 'a2', name: 'Card', mask: null }], institution: { name: 'Bank', institution_id: 'ins_1' } }] },
  };

  it('is pending until a session finishes', async () => {
    answer('/link/token/get', tokenGet([]), tokenGet([{ link_session_id: 's1', started_at: '2026-05-01T12:01:00Z', finished_at: null }]));
    assert.deepEqual(await complete(), { kind: 'pending' });
    assert.deepEqual(await complete(), { kind: 'pending' });
  });

  it('exchanges the public token of a successful session and reads the Item\'s consent', async () => {
    answer('/link/token/get', tokenGet([{ link_session_id: 's1', started_at: '2026-05-01T12:00:30Z', finished_at: '2026-05-01T12:00:50Z', exit: { error: null, metadata: { status: 'institution_not_found' } } }, success]));
    answer('/item/public_token/exchange', { body: { access_token: TOKEN, item_id: 'item_1', request_id: 'r' } });
    answer('/item/get', { body: item({ consent_expiration_time: '2026-10-28T00:00:00Z' }) });
    assert.deepEqual(await complete(), {
      kind: 'granted',
      grant: {
        token: TOKEN, itemId: 'item_1', grantedAt: NOW, expiresAt: new Date('2026-10-28T00:00:00Z'), institutionId: 'ins_1',
        accounts: [{ name: 'Checking', mask: '0000' }, { name: 'Card', mask: null }],
      },
    });
    assert.deepEqual(sent('/item/public_token/exchange'), [{ public_token: 'public-sandbox-9' }]);
  });

  it('keeps the access token in update mode (nothing to exchange)', async () => {
    answer('/link/token/get', tokenGet([{ link_session_id: 's3', started_at: '2026-05-01T12:01:00Z', finished_at: '2026-05-01T12:02:00Z', results: { item_add_results: [] }, on_success: { public_token: 'public-sandbox-x', metadata: null } }]));
    answer('/item/get', { body: item() });
    const result = await complete(link);
    assert.equal(result.kind, 'granted');
    assert.deepEqual(result.kind === 'granted' && [result.grant.token, result.grant.itemId, result.grant.expiresAt], [TOKEN, 'item_1', null]);
    assert.equal(sent('/item/public_token/exchange').length, 0);
  });

  it('reads a user who left as authorization_denied, and an error exit by its code', async () => {
    answer('/link/token/get',
      tokenGet([{ link_session_id: 's1', started_at: '2026-05-01T12:01:00Z', finished_at: '2026-05-01T12:02:00Z', exit: { error: null, metadata: { status: 'requires_credentials' } } }]),
      tokenGet([{ link_session_id: 's1', started_at: '2026-05-01T12:01:00Z', finished_at: '2026-05-01T12:02:00Z', on_exit: { error: { error_type: 'INSTITUTION_ERROR', error_code: 'INSTITUTION_NOT_RESPONDING', error_message: 'x' }, metadata: null } }]),
      tokenGet([{ link_session_id: 's1', started_at: '2026-05-01T12:01:00Z', finished_at: '2026-05-01T12:02:00Z', exit: { error: { error_type: 'ITEM_ERROR', error_code: 'ITEM_LOCKED', error_message: 'x' }, metadata: null } }]));
    const left = await complete();
    assert.deepEqual(left.kind === 'denied' && [left.code, left.providerCode], ['authorization_denied', 'LINK_EXITED']);
    const down = await complete();
    assert.deepEqual(down.kind === 'denied' && [down.code, down.providerCode], ['institution_unavailable', 'INSTITUTION_NOT_RESPONDING']);
    const locked = await complete();
    assert.deepEqual(locked.kind === 'denied' && [locked.code, locked.providerCode], ['account_locked', 'ITEM_LOCKED']);
  });
});

describe('Plaid adapter: data', () => {
  const plaidAccount = { account_id: 'a1', name: 'Checking', official_name: null, mask: '1234', type: 'depository', subtype: 'checking', balances: { current: 100.5, available: 90, limit: null, iso_currency_code: 'USD', unofficial_currency_code: null } };
  const plaidTx = (id: string, amount: number) => ({
    transaction_id: id, account_id: 'a1', amount, iso_currency_code: 'USD', unofficial_currency_code: null, date: '2026-04-30', authorized_date: '2026-04-29',
    name: 'Shop', merchant_name: 'Shop Inc', pending: false, pending_transaction_id: null, personal_finance_category: { primary: 'GENERAL_MERCHANDISE', detailed: 'x' },
  });

  it('syncs one page: no cursor at first, then the one given', async () => {
    answer('/transactions/sync',
      { body: { transactions_update_status: 'HISTORICAL_UPDATE_COMPLETE', accounts: [plaidAccount], added: [plaidTx('t1', 12.5)], modified: [plaidTx('t2', -3)], removed: [{ transaction_id: 't0', account_id: 'a1' }], next_cursor: 'c1', has_more: true, request_id: 'r' } },
      { body: { transactions_update_status: 'HISTORICAL_UPDATE_COMPLETE', accounts: [], added: [], modified: [], removed: [], next_cursor: 'c2', has_more: false, request_id: 'r' } });
    const page = await provider.syncTransactions!(link, null, ctx);
    assert.deepEqual([page.added.map((t) => t.amount), page.modified.map((t) => t.amount), page.removed, page.nextCursor, page.hasMore], [[-1250], [300], ['t0'], 'c1', true]);
    assert.deepEqual(page.accounts.map((a) => [a.id, a.mask, a.balances!.current]), [['a1', '1234', 10050]]);
    const last = await provider.syncTransactions!(link, 'c1', ctx);
    assert.deepEqual([last.nextCursor, last.hasMore], ['c2', false]);
    const [q1, q2] = sent('/transactions/sync');
    assert.ok(!('cursor' in q1!));
    assert.deepEqual([q1!.count, q2!.cursor], [500, 'c1']);
  });

  it('merges identity across accounts', async () => {
    const owner = (name: string, email: string, primary: boolean) => ({
      names: [name], emails: [{ data: email, primary, type: 'primary' }], phone_numbers: [{ data: '+1 555 0100', primary, type: 'mobile' }, { data: '555 0101', primary: false, type: 'office' }],
      addresses: [{ data: { street: '1 Main St', city: 'Springfield', region: 'IL', postal_code: '62701', country: 'US' }, primary }],
    });
    answer('/identity/get', { body: { accounts: [{ ...plaidAccount, owners: [owner('Alex Doe', 'ALEX@example.com', false)] }, { ...plaidAccount, account_id: 'a2', owners: [owner('Alex Doe', 'alex@example.com', true), owner('Sam Doe', 'sam@example.com', false)] }], item: item().item, request_id: 'r' } });
    const id = await provider.fetchIdentity(link, ctx);
    assert.deepEqual(id.names, ['Alex Doe', 'Sam Doe']);
    assert.deepEqual(id.emails, [{ address: 'ALEX@example.com', primary: true }, { address: 'sam@example.com', primary: false }]);
    assert.deepEqual(id.phones, [{ number: '+1 555 0100', type: 'mobile', primary: true }, { number: '555 0101', type: 'work', primary: false }]);
    assert.deepEqual(id.addresses, [{ line1: '1 Main St', city: 'Springfield', region: 'IL', postalCode: '62701', country: 'US', primary: true }]);
  });

  it('revokes, and counts an Item already gone as revoked', async () => {
    answer('/item/remove', { body: { request_id: 'r' } }, { status: 400, body: { error_type: 'ITEM_ERROR', error_code: 'ITEM_NOT_FOUND', error_message: 'x', request_id: 'r' } },
      { status: 500, body: { error_type: 'API_ERROR', error_code: 'INTERNAL_SERVER_ERROR', error_message: 'x', request_id: 'r' } });
    await provider.revoke(link, ctx);
    await provider.revoke(link, ctx);
    await assert.rejects(provider.revoke(link, ctx), (e: unknown) => e instanceof ProviderError && e.transient);
  });

  it('imports an access token with its Item\'s institution and consent, and refuses one Plaid does not know', async () => {
    answer('/item/get',
      { body: item({ consent_expiration_time: '2026-09-01T00:00:00Z' }) },
      { body: item() },
      { status: 400, body: { error_type: 'INVALID_INPUT', error_code: 'INVALID_ACCESS_TOKEN', error_message: 'could not find matching access token', request_id: 'r' } });
    assert.deepEqual(await provider.importAccess!({ institutionId: null, token: TOKEN }, ctx), {
      token: TOKEN, itemId: 'item_1', grantedAt: new Date('2026-01-02T03:04:05Z'), expiresAt: new Date('2026-09-01T00:00:00Z'), institutionId: 'ins_1',
    });
    await assert.rejects(provider.importAccess!({ institutionId: 'ins_other', token: TOKEN }, ctx), (e: unknown) =>
      e instanceof ProviderError && e.code === 'invalid_credentials' && e.providerCode === 'INSTITUTION_MISMATCH');
    await assert.rejects(provider.importAccess!({ institutionId: null, token: 'access-sandbox-bad' }, ctx), (e: unknown) =>
      e instanceof ProviderError && e.code === 'invalid_credentials' && !e.transient && e.providerCode === 'INVALID_ACCESS_TOKEN');
  });

  it('points the Item\'s webhooks at Causeway', async () => {
    answer('/item/webhook/update', { body: { item: item().item, request_id: 'r' } });
    await provider.setWebhook!(link, 'https://causeway.example/v1/webhooks/plaid', ctx);
    assert.deepEqual(sent('/item/webhook/update'), [{ access_token: TOKEN, webhook: 'https://causeway.example/v1/webhooks/plaid' }]);
  });
});
