/**
 * The provider contract suite (test/helpers/contract.ts), run for each provider against its fake:
 * the sandbox (its own fake, with a spy on revoke) and Plaid (test/fakes/plaid). A new provider
 * (GoCardless next) is one more driver here.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { createSandboxProvider } from '../src/providers/sandbox/provider.js';
import type { Provider } from '../src/providers/types.js';
import { PLAID_ERRORS } from '../src/providers/plaid/errors.js';
import { syncCatalogue } from '../src/services/catalogue.js';
import { startPlaidFake, type PlaidFake } from './fakes/plaid/index.js';
import { startTestApp, testConfig, type TestApp } from './helpers/app.js';
import { formHeaders, runContractSuite, type Conn, type ErrorCase, type LinkSession, type ProviderDriver } from './helpers/contract.js';
import { until } from './helpers/wait.js';

/** A job's runs when every one fails on a transient error: the first and each retry. */
const ALL_RUNS = testConfig().retryLimit + 1;

// ── sandbox ──────────────────────────────────────────────────────────────────────────────────

function sandboxDriver(): ProviderDriver {
  let t: TestApp;
  const INSTITUTION = 'ins_sandbox_openbank';
  // The sandbox holds nothing at the bank, so its revoke leaves no trace but this spy (runKey revoke:<connection id>).
  const inner = createSandboxProvider({ latencyMs: 0 });
  const revoked = new Set<string>();
  const spy: Provider = { ...inner, async revoke(link, ctx) { revoked.add(ctx.runKey); return inner.revoke(link, ctx); } };

  const control = async (path: string, body: unknown) => {
    const res = await t.api('POST', path, body);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body;
  };
  const simulate = (c: Conn, event: string) => control(`/v1/sandbox/connections/${c.id}/simulate`, { event });

  const errors: ErrorCase[] = [
    {
      name: 'institution outage',
      arrange: () => control(`/v1/sandbox/institutions/${INSTITUTION}/outage`, { enabled: true }),
      expect: { status: 'degraded', reason: 'institution_unavailable', job: { status: 'failed', errorCode: 'institution_unavailable', attempts: ALL_RUNS } },
      cleanup: () => control(`/v1/sandbox/institutions/${INSTITUTION}/outage`, { enabled: false }),
    },
    {
      name: 'institution answers 429',
      institution: 'ins_sandbox_universal',
      arrange: () => control('/v1/sandbox/institutions/ins_sandbox_universal/rate-limit', { enabled: true, retryAfterSeconds: 1 }),
      expect: { status: 'degraded', reason: 'rate_limited', job: { status: 'failed', errorCode: 'rate_limited', attempts: ALL_RUNS } },
      cleanup: () => control('/v1/sandbox/institutions/ins_sandbox_universal/rate-limit', { enabled: false }),
    },
    { name: 'login required', via: 'event', arrange: (_, c) => simulate(c, 'login_required'), expect: { status: 'reconnect_required', reason: 'invalid_credentials' } },
    { name: 'consent expired', via: 'event', arrange: (_, c) => simulate(c, 'consent_expired'), expect: { status: 'reconnect_required', reason: 'consent_expired' } },
    { name: 'consent revoked', via: 'event', arrange: (_, c) => simulate(c, 'consent_revoked'), expect: { status: 'reconnect_required', reason: 'consent_revoked' } },
    { name: 'new accounts at the bank', via: 'event', arrange: (_, c) => simulate(c, 'new_accounts'), expect: { status: 'active', reason: 'new_accounts_available' }, recover: 'repair' },
  ];

  return {
    name: 'sandbox', provider: 'sandbox', method: 'openbanking', institutionId: INSTITUTION,
    async start() {
      t = await startTestApp({ provider: spy });
      return t;
    },
    stop: () => t.close(),
    importFetchesInstitution: false, // the sandbox's institutions are part of the code, written at start
    async catalogueReady() {},
    async finishLink(_t, link: LinkSession, action) {
      // The sandbox bank's consent page, served by Causeway: approve or deny, as the user would.
      const page = await t.app.inject({ method: 'GET', url: new URL(link.url).pathname });
      assert.equal(page.statusCode, 200);
      const decision = action === 'approve' ? 'approve' : action;
      const res = await t.app.inject({ method: 'POST', url: new URL(link.url).pathname, payload: `decision=${decision}&persona=user_good`, headers: formHeaders });
      assert.equal(res.statusCode, 200, res.body);
      return null;
    },
    linkFailures: [{ name: 'the user denies consent', action: 'deny', expect: { status: 'failed', reason: 'authorization_denied' } }],
    breakLogin: async (_t, c) => { await simulate(c, 'login_required'); },
    async expireConsent(_t, c) {
      await simulate(c, 'consent_expiring');
      return { withinDays: 3 };
    },
    revokedAtProvider: (c) => revoked.has(`revoke:${c.id}`),
    async importBody(_t, institution) {
      const token = await t.api('POST', '/v1/sandbox/tokens', { institutionId: institution ?? INSTITUTION });
      assert.equal(token.status, 201, JSON.stringify(token.body));
      // PRODUCT.md §7's form, the institution told by the token; naming the institution works too.
      const body = institution ? { institutionId: institution, accessToken: token.body.accessToken } : { provider: 'sandbox', accessToken: token.body.accessToken };
      return { body, ref: null, institutionId: institution ?? INSTITUTION };
    },
    badImportBody: async () => ({ institutionId: INSTITUTION, accessToken: 'sbx_user_good_notatoken.0' }),
    errors,
  };
}

// ── Plaid ────────────────────────────────────────────────────────────────────────────────────

function plaidDriver(): ProviderDriver {
  let t: TestApp;
  let fake: PlaidFake;
  let catalogued = false;
  const causewayId = (plaidId: string) => `ins_plaid_${plaidId.replace(/^ins_/, '')}`;
  const item = (c: Conn) => {
    assert.ok(c.ref, 'the Plaid item of the connection');
    return c.ref;
  };
  /** The next `times` calls to /accounts/get for this connection's Item fail with `code`. */
  const failAccounts = (code: string, times = 1, http?: number) => async (_t: TestApp, c: Conn) => {
    fake.injectError('/accounts/get', { error_code: code, times, itemId: item(c), ...(http ? { http } : {}) });
  };
  const webhook = async (c: Conn, event: Parameters<PlaidFake['fireWebhook']>[1]) => {
    const d = await fake.fireWebhook(item(c), event);
    assert.equal(d.status, 200, `webhook ${event.webhook_code} answered ${d.status}`);
  };
  const reconnect = (reason: string, code: string) => ({ status: 'reconnect_required', reason, job: { status: 'failed' as const, errorCode: code, attempts: 1 } });
  const degraded = (reason: string, attempts: number) => ({ status: 'degraded', reason, job: { status: 'failed' as const, errorCode: reason, attempts } });
  /** A Plaid error code met by a refresh: /accounts/get answers it `times` times. */
  const onRefresh = (code: string, expect: ErrorCase['expect'], opts: { times?: number; http?: number; name?: string } & Partial<ErrorCase> = {}): ErrorCase =>
    ({ name: opts.name ?? code, providerCode: code, arrange: failAccounts(code, opts.times ?? 1, opts.http), expect, ...opts });

  // Codes of PLAID_ERRORS (src/providers/plaid/errors.ts), at least one for each outcome Causeway maps them to
  // (checked below: "the Plaid table covers …"), met on a refresh of a synced connection; then what Plaid says by webhook.
  const errors: ErrorCase[] = [
    // What only the user can mend: reconnect_required with the mapped reason, at once (no retry can help).
    {
      name: 'ITEM_LOGIN_REQUIRED on the Item, found by a refresh', providerCode: 'ITEM_LOGIN_REQUIRED',
      arrange: async (_t, c) => fake.setItemError(item(c), 'ITEM_LOGIN_REQUIRED'), expect: reconnect('invalid_credentials', 'invalid_credentials'),
    },
    onRefresh('ITEM_LOCKED', reconnect('account_locked', 'account_locked')),
    onRefresh('USER_SETUP_REQUIRED', reconnect('user_action_required', 'user_action_required')),
    onRefresh('INSUFFICIENT_CREDENTIALS', reconnect('user_action_required', 'authorization_denied')),
    onRefresh('USER_PERMISSION_REVOKED', reconnect('consent_revoked', 'consent_revoked')),
    // A refused one-time code in a refresh the app asked for says nothing about the login: the job fails, the connection stays.
    onRefresh('INVALID_MFA', { status: 'active', reason: null, job: { status: 'failed', errorCode: 'mfa_failed', attempts: 1 } }),
    // Transient: retried, then degraded (the scheduler keeps trying); a refresh once it answers restores active.
    onRefresh('INSTITUTION_DOWN', degraded('institution_unavailable', ALL_RUNS), { times: ALL_RUNS, name: 'INSTITUTION_DOWN on every run' }),
    onRefresh('INTERNAL_SERVER_ERROR', degraded('provider_error', ALL_RUNS), { times: ALL_RUNS, name: 'INTERNAL_SERVER_ERROR (HTTP 500) on every run' }),
    // Not transient, and not the user's to mend: degraded at once.
    onRefresh('INSTITUTION_NO_LONGER_SUPPORTED', degraded('institution_unavailable', 1)),
    onRefresh('INVALID_API_KEYS', degraded('provider_error', 1)),
    // A transient failure that clears: the retry succeeds and the user never sees it.
    onRefresh('INSTITUTION_NOT_RESPONDING', { status: 'active', reason: null, job: { status: 'succeeded', errorCode: null, attempts: 2 } }, { name: 'INSTITUTION_NOT_RESPONDING once' }),
    {
      name: 'TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION', providerCode: 'TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION',
      arrange: async (_t, c) => { fake.injectError('/transactions/sync', { error_code: 'TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION', itemId: item(c) }); },
      expect: { status: 'active', reason: null, job: { status: 'succeeded', errorCode: null } },
    },
    // Rate limits hold the institution back for a minute (Plaid sends no Retry-After), so each has its own institution and is not refreshed again here.
    onRefresh('CREDITS_EXHAUSTED', degraded('rate_limited', 1), { http: 429, institution: 'ins_109512', recover: 'none', name: 'CREDITS_EXHAUSTED (a plan cap, not transient)' }),
    onRefresh('RATE_LIMIT_EXCEEDED', { status: 'active', reason: null, job: { status: 'queued', attempts: 1, step: { name: 'retrieve-accounts', resultCode: 'retrying:rate_limited' } } },
      { institution: 'ins_109509', recover: 'none', name: 'RATE_LIMIT_EXCEEDED (transient: the job waits for the institution)' }),
    // What Plaid says by webhook (ITEM_LOGIN_REQUIRED by webhook is the lifecycle's breakLogin).
    {
      name: 'an ERROR webhook (ITEM_LOGIN_REQUIRED, OAUTH_CONSENT_EXPIRED)', via: 'event',
      arrange: (_t, c) => webhook(c, { webhook_code: 'ERROR', error: { error_type: 'ITEM_ERROR', error_code: 'ITEM_LOGIN_REQUIRED', error_code_reason: 'OAUTH_CONSENT_EXPIRED', error_message: 'the consent has expired', display_message: null, request_id: 'req_contract', causes: [], status: 400, documentation_url: '', suggested_action: null } }),
      expect: { status: 'reconnect_required', reason: 'consent_expired' },
    },
    { name: 'a USER_PERMISSION_REVOKED webhook', via: 'event', arrange: (_t, c) => webhook(c, { webhook_code: 'USER_PERMISSION_REVOKED' }), expect: { status: 'reconnect_required', reason: 'consent_revoked' } },
    {
      // The new account waits at Plaid until the user selects it in update mode.
      name: 'a NEW_ACCOUNTS_AVAILABLE webhook', via: 'event', recover: 'repair', moreAccountsAfterRecovery: true,
      arrange: async (_t, c) => { fake.addAccount(item(c)); await webhook(c, { webhook_code: 'NEW_ACCOUNTS_AVAILABLE' }); },
      expect: { status: 'active', reason: 'new_accounts_available' },
    },
  ];

  return {
    name: 'plaid', provider: 'plaid', method: 'hosted', institutionId: causewayId('ins_109508'),
    async start() {
      fake = await startPlaidFake({ seed: 'contract' });
      // The worker's start-up catalogue sync fails once, so the import test meets an institution Causeway does not know yet.
      fake.injectError('/institutions/get', { error_code: 'INTERNAL_SERVER_ERROR' });
      t = await startTestApp({
        config: { providerEnv: { CAUSEWAY_PLAID_CLIENT_ID: fake.clientId, CAUSEWAY_PLAID_SECRET: fake.secret, CAUSEWAY_PLAID_ENV: 'sandbox', CAUSEWAY_PLAID_URL: fake.url } },
      });
      // Plaid's webhooks need an address to reach: Causeway listens, and says so as its public URL.
      await t.app.listen({ port: 0, host: '127.0.0.1' });
      t.core.config.publicUrl = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
      await until('the start-up catalogue sync tried Plaid', () => fake.requestsTo('/institutions/get').length > 0);
      return t;
    },
    async stop() {
      await fake?.close();
      await t?.close();
    },
    importFetchesInstitution: true,
    async catalogueReady() {
      if (catalogued) return;
      await syncCatalogue(t.core, 'plaid');
      catalogued = true;
      const listed = await t.api('GET', '/v1/institutions?provider=plaid&search=Platypus');
      assert.ok(listed.body.data.some((i: any) => i.id === causewayId('ins_109508')), JSON.stringify(listed.body));
    },
    async finishLink(_t, link: LinkSession, action) {
      // Plaid Hosted Link: the page, then its form, which sends the user back to Causeway's return page.
      const page = await fetch(link.url);
      assert.equal(page.status, 200, await page.text());
      const fields: Record<string, string> = action === 'approve' ? { action: 'success' }
        : action.startsWith('error:') ? { action: 'error', error_code: action.slice('error:'.length) }
          : { action };
      const res = await fetch(link.url, { method: 'POST', body: new URLSearchParams(fields).toString(), headers: formHeaders, redirect: 'manual' });
      assert.equal(res.status, 303, await res.text());
      const back = new URL(res.headers.get('location')!);
      assert.equal(back.pathname, '/link/return');
      const returned = await t.app.inject({ method: 'GET', url: back.pathname + back.search });
      assert.equal(returned.statusCode, 200, returned.body);
      const session = fake.linkToken(link.reference)?.sessions.find((s) => s.outcome?.kind === 'success');
      return session?.outcome?.kind === 'success' ? session.outcome.item.itemId : null;
    },
    linkFailures: [
      { name: 'the user leaves Plaid Link', action: 'exit', expect: { status: 'failed', reason: 'authorization_denied' } },
      { name: 'the bank fails during Link (INSTITUTION_NOT_RESPONDING)', action: 'error:INSTITUTION_NOT_RESPONDING', expect: { status: 'failed', reason: 'institution_unavailable' } },
    ],
    async breakLogin(_t, c) {
      fake.setItemError(item(c), 'ITEM_LOGIN_REQUIRED');
      await webhook(c, { webhook_code: 'ERROR' });
    },
    async expireConsent(_t, c) {
      await webhook(c, { webhook_code: 'PENDING_EXPIRATION' });
      return { withinDays: 7 };
    },
    revokedAtProvider(c) {
      const token = fake.item(item(c)).accessToken;
      return fake.requestsTo('/item/remove').some((r) => r.body.access_token === token && r.status === 200);
    },
    async importBody(_t, institution = 'ins_109508') {
      const created = fake.createItem({ institutionId: institution, products: ['transactions', 'identity'] });
      return { body: { provider: 'plaid', accessToken: created.accessToken }, ref: created.itemId, institutionId: causewayId(institution) };
    },
    badImportBody: async () => ({ provider: 'plaid', accessToken: 'access-sandbox-00000000-0000-4000-8000-000000000000' }),
    providerTruth: (c) => ({ accounts: fake.item(item(c)).accounts.length, transactions: fake.transactions(item(c)).length }),
    addActivity: async (c) => fake.addTransactions(item(c), 3).length,
    errors,
  };
}

const plaid = plaidDriver();

describe('the Plaid table', () => {
  it('covers every outcome PLAID_ERRORS maps a code to (Causeway code, transient or not)', () => {
    const outcome = (code: string) => { const m = PLAID_ERRORS[code]!; return `${m.code}${m.transient ? ' (transient)' : ''}`; };
    const all = new Set(Object.keys(PLAID_ERRORS).map(outcome));
    const covered = new Set(plaid.errors.filter((e) => e.providerCode && PLAID_ERRORS[e.providerCode] && (e.via ?? 'refresh') === 'refresh').map((e) => outcome(e.providerCode!)));
    assert.deepEqual([...all].filter((o) => !covered.has(o)), [], 'outcomes no case meets');
  });
});

// The providers' suites run side by side: each has its own Causeway and database.
describe('every provider against its fake', { concurrency: true }, () => {
  runContractSuite(sandboxDriver());
  runContractSuite(plaid);
});
