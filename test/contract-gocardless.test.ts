/**
 * The provider contract suite (test/helpers/contract.ts) for GoCardless Bank Account Data, against
 * the stateful GoCardless fake (test/fakes/gocardless/) through Causeway's HTTP API: links through
 * the requisition page (approve, deny, a bank error), repairs and renewals with a new agreement and
 * requisition (the same accounts), imports of requisitions made elsewhere, unlink deleting the
 * requisition, and the errors GoCardless documents for its account endpoints as statuses and reasons.
 *
 * The fake's clock follows Causeway's test clock (every move of POST /v1/sandbox/clock), so consent
 * dates and the four-a-day budgets agree on both sides. Each connection is its own bank login at the
 * fake, except that a repair signs in with the login the connection already has (the same accounts).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'drizzle-orm';
import { GOCARDLESS_ERRORS } from '../src/providers/gocardless/errors.js';
import { createGoCardlessProvider } from '../src/providers/gocardless/index.js';
import type { Provider, ProviderInstitution } from '../src/providers/types.js';
import { catalogueId, syncCatalogue } from '../src/services/catalogue.js';
import { sha256 } from '../src/services/crypto.js';
import { startGoCardlessFake, type GoCardlessFake } from './fakes/gocardless/index.js';
import { startTestApp, testConfig, type TestApp } from './helpers/app.js';
import { formHeaders, runContractSuite, type Conn, type ErrorCase, type LinkSession, type ProviderDriver } from './helpers/contract.js';
import { until } from './helpers/wait.js';

/** A job's runs when every one fails on a transient error: the first and each retry. */
const ALL_RUNS = testConfig().retryLimit + 1;
const HARBOUR = 'HARBOUR_HRBRGB2L';
const BALANCES = '/api/v2/accounts/{id}/balances/';
const TRANSACTIONS = '/api/v2/accounts/{id}/transactions/';
const DAY_MS = 86_400_000;

/** What can go wrong on the calls a refresh makes (the account endpoints' documented errors, the account statuses): each outcome is met below. */
const DATA_CALL_ERRORS = [
  'EUAExpiredError', 'AccessExpiredError', 'AccountValidEUAError', 'AccountAccessForbidden', 'AccountInactiveError', 'AccountEUAScopeError',
  'AccountResourceUnavailable', 'AccountSuspendedError', 'AccountNotFoundError', 'RateLimitError', 'RateLimitExceeded', 'UnknownRequestError',
  'ServiceError', 'ConnectionError', 'ACCOUNT_PROCESSING', 'ACCOUNT_ERROR', 'ACCOUNT_EXPIRED', 'ACCOUNT_SUSPENDED', 'InvalidToken',
  'IPAccessDenied', 'NotFoundError', 'InvalidID', 'DateRangeError', 'HTTP_5XX', 'HTTP_409',
];

function gocardlessDriver(): ProviderDriver {
  let t: TestApp;
  let fake: GoCardlessFake;
  let catalogued = false;
  /** Causeway's test clock ahead of real time; the fake's clock keeps to it. */
  let offsetMs = 0;
  let logins = 0;
  /** Each requisition's bank login (kept after GoCardless deletes the requisition), and each connection's newest requisition. */
  const loginOf = new Map<string, string>();
  const current = new Map<string, string>();

  /** The requisition Causeway holds for a connection, read from its stored access (the adapter's own token). */
  async function requisitionOf(connectionId: string): Promise<string> {
    const rows = ((await t.core.db.execute(sql`select access_enc from connections where id = ${connectionId}`)) as unknown as { rows: { access_enc: string | null }[] }).rows;
    const enc = rows[0]?.access_enc;
    assert.ok(enc, `access stored for ${connectionId}`);
    const access = JSON.parse(t.core.cipher.decrypt(enc)) as { token: string };
    return JSON.parse(access.token).requisitionId as string;
  }
  const requisition = (c: Conn) => current.get(c.id) ?? c.ref!;
  const accountsOf = async (c: Conn) => fake.accountsOf(await requisitionOf(c.id));
  const banksOf = (c: Conn) => {
    const login = loginOf.get(requisition(c));
    assert.ok(login, `the bank login of ${c.id}`);
    return fake.bankAccounts(HARBOUR, login);
  };
  /**
   * The next `times` calls to `template` for the connection's first account answer `answer`: a run
   * stops at its first failure, so the calls of `times` runs meet it exactly (the other accounts' would be left over).
   */
  const failAccounts = (template: string, answer: string, times = 1) => async (_t: TestApp, c: Conn) => {
    const [first] = await accountsOf(c);
    fake.failNext(template, answer, { accountId: first!.id, times });
  };
  const reconnect = (reason: string) => ({ status: 'reconnect_required', reason, job: { status: 'failed' as const, errorCode: reason, attempts: 1 } });
  const degraded = (reason: string, attempts: number) => ({ status: 'degraded', reason, job: { status: 'failed' as const, errorCode: reason, attempts } });
  const onBalances = (name: string, expect: ErrorCase['expect'], opts: Partial<ErrorCase> & { times?: number } = {}): ErrorCase =>
    ({ name: `${name} on the balances call`, providerCode: name, arrange: failAccounts(BALANCES, name, opts.times ?? 1), expect, ...opts });

  const errors: ErrorCase[] = [
    // Consent and access that only the user can mend: reconnect_required at once.
    onBalances('EUAExpiredError', reconnect('consent_expired')),
    onBalances('AccessExpiredError', reconnect('consent_expired')),
    onBalances('AccountAccessForbidden', reconnect('invalid_credentials')),
    onBalances('AccountEUAScopeError', reconnect('user_action_required')),
    {
      name: 'the requisition suspended after repeated failures (accounts SUSPENDED)', providerCode: 'ACCOUNT_SUSPENDED',
      arrange: async (_t, c) => fake.setRequisitionStatus(await requisitionOf(c.id), 'SU'), expect: reconnect('consent_revoked'),
    },
    {
      name: 'the requisition deleted elsewhere (AccountNotFoundError)', providerCode: 'AccountNotFoundError',
      arrange: async (_t, c) => { fake.world.deleteRequisition(fake.requisition(await requisitionOf(c.id))!); }, expect: reconnect('consent_revoked'),
    },
    {
      // The agreement runs out at GoCardless before Causeway's own clock says so (dates kept elsewhere): its metadata says EXPIRED.
      name: 'the agreement expired at GoCardless (account EXPIRED)', providerCode: 'ACCOUNT_EXPIRED',
      arrange: async (_t, c) => {
        const agreement = fake.world.agreements.get(fake.requisition(await requisitionOf(c.id))!.agreement)!;
        agreement.accepted = new Date(fake.now().getTime() - (agreement.access_valid_for_days * DAY_MS + 1000)).toISOString();
      },
      expect: reconnect('consent_expired'),
    },
    // The bank behind GoCardless: retried, then degraded; a refresh once it answers restores active.
    onBalances('ServiceError', degraded('institution_unavailable', ALL_RUNS), { times: ALL_RUNS, name: 'ServiceError (503) on every run' }),
    onBalances('ConnectionError', { status: 'active', reason: null, job: { status: 'succeeded', errorCode: null, attempts: 2 } }, { name: 'ConnectionError (503) once: the retry succeeds' }),
    {
      name: 'an account still PROCESSING on every run', providerCode: 'ACCOUNT_PROCESSING',
      arrange: async (_t, c) => { for (const a of await accountsOf(c)) fake.setAccountStatus(a.id, 'PROCESSING'); },
      expect: degraded('provider_error', ALL_RUNS),
      cleanup: async (_t, c) => { for (const a of await accountsOf(c)) fake.setAccountStatus(a.id, 'READY'); },
    },
    // Not transient, and not the user's to mend: degraded at once.
    onBalances('IPAccessDenied', degraded('provider_error', 1)),
    {
      // The four successful calls of the day are spent: a 429 with GoCardless's wait, this link's alone; never "no new transactions".
      name: 'the day\'s four transactions calls spent (429)', providerCode: 'RateLimitExceeded', recover: 'none',
      arrange: async (_t, c) => { for (const a of await accountsOf(c)) fake.spendBudget(a.id, 'transactions'); },
      expect: degraded('rate_limited', 1),
      verify: async (tt, c) => {
        const refused = fake.requestsTo(TRANSACTIONS).filter((r) => r.status === 429).at(-1);
        assert.ok(refused && Number(refused.responseHeaders!.HTTP_X_RATELIMIT_ACCOUNT_SUCCESS_RESET) > 3600, JSON.stringify(refused?.responseHeaders));
        const con = (await tt.api('GET', c.base)).body;
        assert.ok(Date.parse(con.nextScheduledRefreshAt) > fake.now().getTime() + 3600_000, `the next background refresh waits for the reset: ${con.nextScheduledRefreshAt}`);
      },
    },
  ];

  return {
    name: 'gocardless', provider: 'gocardless', method: 'openbanking', institutionId: catalogueId('gocardless', HARBOUR),
    async start() {
      fake = await startGoCardlessFake({ seed: 'contract', clock: () => new Date(Date.now() + offsetMs) });
      // The suite makes dozens of connections a minute; GoCardless's per-company minute limits are the adapter tests' subject.
      for (const group of ['accounts', 'institutions', 'create', 'read', 'delete', 'token-new', 'token-refresh']) fake.setGeneralLimit(group, 100_000);
      // The worker's start-up catalogue sync fails once, so the import test meets an institution Causeway does not know yet.
      fake.failNext('/api/v2/institutions/', { status: 503, body: { summary: 'Service unavailable', detail: 'Try again later.', status_code: 503 } });
      t = await startTestApp({
        config: { providerEnv: { CAUSEWAY_GOCARDLESS_SECRET_ID: fake.secretId, CAUSEWAY_GOCARDLESS_SECRET_KEY: fake.secretKey, CAUSEWAY_GOCARDLESS_URL: fake.url, CAUSEWAY_GOCARDLESS_COUNTRIES: 'GB' } },
        provider: quickerStarts(createGoCardlessProvider()),
      });
      // Every move of Causeway's test clock moves the fake's too.
      const api = t.api;
      t.api = async (method, url, body, headers) => {
        const res = await api(method, url, body, headers);
        if (url === '/v1/sandbox/clock' && res.status === 200 && typeof res.body?.offsetMs === 'number') offsetMs = res.body.offsetMs;
        return res;
      };
      await until('the start-up catalogue sync tried GoCardless', () => fake.requestsTo('/api/v2/institutions/').length > 0);
      return t;
    },
    async stop() {
      await fake?.stop();
      await t?.close();
    },
    importFetchesInstitution: true,
    async catalogueReady() {
      if (catalogued) return;
      await syncCatalogue(t.core, 'gocardless');
      catalogued = true;
      const listed = await t.api('GET', '/v1/institutions?provider=gocardless&search=Harbour');
      assert.ok(listed.body.data.some((i: any) => i.id === catalogueId('gocardless', HARBOUR)), JSON.stringify(listed.body));
    },
    async finishLink(_t, link: LinkSession, action) {
      const requisitionId = link.reference.split(':')[0]!;
      const req = fake.requisition(requisitionId);
      assert.ok(req, `the requisition of ${link.reference}`);
      // Which connection is this for, and does it already hold a requisition (a repair signs in with the same bank login)?
      const state = new URL(req.redirect).searchParams.get('state')!;
      const rows = ((await t.core.db.execute(sql`select id, access_enc from connections where auth_state_hash = ${sha256(state)}`)) as unknown as { rows: { id: string; access_enc: string | null }[] }).rows;
      assert.equal(rows.length, 1, 'one connection waits on this link');
      const connectionId = rows[0]!.id;
      const login = rows[0]!.access_enc ? loginOf.get(await requisitionOf(connectionId)) ?? `login-${++logins}` : `login-${++logins}`;
      const page = await fetch(link.url);
      assert.equal(page.status, 200, await page.text());
      const res = await fetch(link.url, { method: 'POST', body: new URLSearchParams({ action, login }).toString(), headers: formHeaders, redirect: 'manual' });
      assert.equal(res.status, 303, await res.text());
      const back = new URL(res.headers.get('location')!);
      assert.equal(back.pathname, '/link/return');
      assert.equal(back.searchParams.get('ref'), req.reference, 'GoCardless adds its reference to the return');
      const returned = await t.app.inject({ method: 'GET', url: back.pathname + back.search });
      assert.equal(returned.statusCode, 200, returned.body);
      if (action !== 'approve') return null;
      loginOf.set(requisitionId, login);
      current.set(connectionId, requisitionId);
      return requisitionId;
    },
    linkFailures: [
      { name: 'the user denies consent at the bank (RJ)', action: 'deny', expect: { status: 'failed', reason: 'authorization_denied' } },
      { name: 'the bank fails during consent (ER)', action: 'error', expect: { status: 'failed', reason: 'institution_unavailable' } },
    ],
    // GoCardless has no webhooks: a refresh finds the bank refusing the access it granted.
    loginBreaksVia: 'refresh',
    async breakLogin(_t, c) {
      await failAccounts(BALANCES, 'AccountAccessForbidden', 1_000)(t, c);
    },
    async expireConsent(tt, c) {
      // GoCardless announces nothing: Causeway knows the end from the agreement (accepted + access_valid_for_days) and its clock reaches it.
      const con = (await tt.api('GET', c.base)).body;
      const clock = Date.parse((await tt.api('GET', '/v1/sandbox/clock')).body.now);
      const seconds = Math.floor((Date.parse(con.consent.expiresAt) - 3 * DAY_MS - clock) / 1000);
      assert.ok(seconds > 0, `consent ends ${con.consent.expiresAt}`);
      assert.equal((await tt.api('POST', '/v1/sandbox/clock', { advanceBy: `PT${seconds}S` })).status, 200);
      // Months passed: the scheduler's background refresh is due at once. Let it run, so the repair that follows finds no job in its way.
      const now = clock + seconds * 1000;
      await until(`${c.id}'s due refresh done`, async () => {
        const view = (await tt.api('GET', c.base)).body;
        const live = ((await tt.api('GET', `${c.base}/jobs`)).body.data as any[]).some((j) => j.status === 'queued' || j.status === 'running');
        return !live && view.nextScheduledRefreshAt && Date.parse(view.nextScheduledRefreshAt) > now;
      }, 30_000);
      return { withinDays: 3 };
    },
    revokedAtProvider: (c) => fake.requestsTo(`/api/v2/requisitions/${requisition(c)}/`, 'DELETE').some((r) => r.status === 200),
    async importBody(_t, institution = HARBOUR) {
      const login = `login-${++logins}`;
      const req = fake.linkedRequisition({ institutionId: institution, login });
      loginOf.set(req.id, login);
      return { body: { provider: 'gocardless', requisitionId: req.id }, ref: req.id, institutionId: catalogueId('gocardless', institution) };
    },
    badImportBody: async () => ({ provider: 'gocardless', requisitionId: '6c1b1c1e-0000-4000-8000-000000000000' }),
    providerTruth(c) {
      const banks = banksOf(c);
      return { accounts: banks.length, transactions: banks.reduce((n, b) => n + b.booked.length + b.pending.length, 0) };
    },
    async addActivity(c) {
      return fake.addTransactions(banksOf(c)[0]!.iban, 3).length;
    },
    errors,
  };
}

const gocardless = gocardlessDriver();

describe('the GoCardless table', () => {
  it('covers every outcome a refresh can meet (GOCARDLESS_ERRORS on the account endpoints: Causeway code, transient or not)', () => {
    const outcome = (code: string) => { const m = GOCARDLESS_ERRORS[code]!; return `${m.code}${m.transient ? ' (transient)' : ''}`; };
    const all = new Set(DATA_CALL_ERRORS.filter((c) => GOCARDLESS_ERRORS[c]).map(outcome));
    const covered = new Set(gocardless.errors.filter((e) => e.providerCode && GOCARDLESS_ERRORS[e.providerCode]).map((e) => outcome(e.providerCode!)));
    assert.deepEqual([...all].filter((o) => !covered.has(o)), [], 'outcomes no case meets');
  });
});

runContractSuite(gocardless);

/**
 * The adapter with its institutions' starts a minute raised (15 → 600): the suite runs dozens of jobs
 * at one bank, and at GoCardless's pace each would wait its 4 s turn. Everything else is the adapter
 * as it is; the pace itself is tested with the institution limits (test/institution-limits.test.ts).
 */
function quickerStarts(p: Provider): Provider {
  const quick = (i: ProviderInstitution): ProviderInstitution => ({ ...i, limits: { ...i.limits, refreshesPerMinute: 600, maxConcurrentRefreshes: 20 } });
  return {
    ...p,
    async listInstitutions(ctx, cursor) {
      const page = await p.listInstitutions(ctx, cursor);
      return { ...page, institutions: page.institutions.map(quick) };
    },
    async getInstitution(id, ctx) {
      const found = await p.getInstitution(id, ctx);
      return found && quick(found);
    },
  };
}
