/**
 * The GoCardless adapter's data calls against the fake: balances chosen by type, transactions with
 * stable ids (the bank's, GoCardless's internal ones, or a hash of the content), pending → booked,
 * the history clamp; the 4-a-day budgets reported from the headers and respected (a spent scope is
 * not called), 429s with their Retry-After, and every documented error to Causeway's code.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createGoCardlessProvider } from '../src/providers/gocardless/index.js';
import { ProviderError, type ProviderLink, type ProviderTransaction, type TransactionsWindow } from '../src/providers/types.js';
import { startGoCardlessFake, type GoCardlessFake } from './fakes/gocardless/index.js';
import { harness, linkOf, linkThrough, rejection, type Harness } from './fakes/gocardless/harness.js';

const START = new Date('2026-03-02T09:00:00Z');
const HARBOUR = 'HARBOUR_HRBRGB2L';
const BALANCES = '/api/v2/accounts/{id}/balances/';
const TRANSACTIONS = '/api/v2/accounts/{id}/transactions/';
const DAY_MS = 86_400_000;
const day = (d: Date, plus = 0) => new Date(d.getTime() + plus * DAY_MS).toISOString().slice(0, 10);

describe('GoCardless data calls against the fake', () => {
  let fake: GoCardlessFake;
  let h: Harness;
  const gc = createGoCardlessProvider();
  let n = 0;

  before(async () => {
    fake = await startGoCardlessFake({ seed: 'gocardless-data', now: START });
    h = harness(fake, { countries: 'GB' });
  });
  after(async () => { await fake?.stop(); });

  /** A new bank login linked at `institutionId`: the link, its GoCardless account ids and its bank accounts. */
  async function linked(institutionId = HARBOUR) {
    // A minute on, so GoCardless's per-minute company limits (100 account calls) start afresh for each case.
    fake.advance(61);
    const login = `customer ${++n}`;
    const { result, requisitionId } = await linkThrough(gc, h, { institutionId, login });
    const link: ProviderLink = linkOf(result, institutionId);
    return { link, ids: fake.requisition(requisitionId)!.accounts, banks: fake.bankAccounts(institutionId, login) };
  }
  const range = (days = 90) => ({ from: day(fake.now(), -days), to: day(fake.now()) });
  const list = (got: ProviderTransaction[] | TransactionsWindow) => (Array.isArray(got) ? got : got.transactions);

  describe('accounts and balances', () => {
    it('maps accounts with stable keys (resourceId, else the IBAN), masks and types; current and available by balance type', async () => {
      const { link, banks } = await linked();
      const accounts = await gc.fetchAccounts(link, h.ctx());
      const [current, savings] = accounts;
      assert.equal(current!.id, banks[0]!.resourceId);
      assert.match(savings!.id, /^iban-[0-9a-f]{32}$/, 'no resourceId: a hash of the IBAN');
      assert.deepEqual([current!.name, current!.type, current!.mask, current!.currency], ['Current Account', 'transaction', banks[0]!.iban.slice(-4), 'GBP']);
      assert.equal(savings!.type, 'savings');
      const sum = (xs: { amount: number }[]) => xs.reduce((s, t) => s + t.amount, 0);
      const b = banks[0]!;
      const closing = b.opening + sum(b.booked);
      // current = closingBooked (the ledger); available = interimAvailable (pending and overdraft included).
      assert.deepEqual(current!.balances, { current: closing, available: closing + sum(b.pending) + b.creditLine, limit: null });
    });

    it('picks the nearest balance type the bank sends, in minor units of the account\'s currency', async () => {
      const { link, banks } = await linked();
      const set = (types: Array<[string, string]>) => fake.setBalances(banks[0]!.iban, types.map(([balanceType, amount]) => ({ balanceType, balanceAmount: { amount, currency: 'GBP' } })));
      const balances = async () => (await gc.fetchAccounts(link, h.ctx()))[0]!.balances;
      set([['expected', '10.00'], ['interimBooked', '1234.56'], ['closingAvailable', '-0.05']]);
      assert.deepEqual(await balances(), { current: 123456, available: 1000, limit: null });
      set([['interimAvailable', '99.99'], ['openingBooked', '5']]);
      assert.deepEqual(await balances(), { current: 500, available: 9999, limit: null });
      set([['forwardAvailable', '1.005']]);
      assert.deepEqual(await balances(), { current: 101, available: 101, limit: null });
    });

    it('leaves balances unread (null) where the bank offers none for the account, and its other accounts read', async () => {
      const { link, ids } = await linked();
      fake.failNext(BALANCES, 'AccountResourceUnavailable', { accountId: ids[0]! });
      const accounts = await gc.fetchAccounts(link, h.ctx());
      assert.equal(accounts[0]!.balances, null);
      assert.ok(accounts[1]!.balances !== null);
    });
  });

  describe('transactions', () => {
    it('maps booked and pending with stable ids: the bank\'s, GoCardless\'s internal ones, else a content hash with an occurrence counter', async () => {
      const { link, banks } = await linked();
      const first = list(await gc.fetchTransactions!(link, range(), h.ctx()));
      const b = banks[0]!;
      assert.equal(first.filter((t) => t.accountId === b.resourceId).length, b.booked.length + b.pending.length);
      assert.equal(new Set(first.map((t) => t.id)).size, first.length, 'every id distinct');
      assert.ok(b.booked.some((t) => !t.transactionId && !t.internalTransactionId), 'the fake has rows without ids');
      const coffees = first.filter((t) => t.description === 'Card payment Corner Café' && t.amount === -320 && t.date === day(START, -4));
      assert.equal(coffees.length, 2, 'two identical rows, two transactions');
      const second = list(await gc.fetchTransactions!(link, range(), h.ctx()));
      assert.deepEqual(second.map((t) => t.id).sort(), first.map((t) => t.id).sort(), 'the same ids in every answer');
      const salary = first.find((t) => t.amount > 0)!;
      assert.deepEqual([salary.description, salary.merchantName, salary.status], ['Salary', null, 'posted']);
      const card = first.find((t) => t.amount < 0 && t.status === 'posted')!;
      assert.ok(card.merchantName && card.description.endsWith(card.merchantName));
      assert.deepEqual(first.filter((t) => t.status === 'pending').length, b.pending.length);
    });

    it('gives a pending transaction the bank books a distinct id, under its new id or a hash, and the pending row goes', async () => {
      const { link, banks } = await linked();
      const iban = banks[0]!.iban;
      const before = list(await gc.fetchTransactions!(link, range(), h.ctx()));
      const pendingIds = before.filter((t) => t.status === 'pending').map((t) => t.id);
      assert.equal(pendingIds.length, 2);
      fake.bookPending(iban, { index: 0, id: 'BOOKED-0001' });
      fake.bookPending(iban, { index: 0, id: null });
      const afterBooking = list(await gc.fetchTransactions!(link, range(), h.ctx()));
      assert.equal(afterBooking.filter((t) => t.status === 'pending').length, 0);
      const fresh = afterBooking.filter((t) => !before.some((x) => x.id === t.id));
      assert.equal(fresh.length, 2);
      assert.ok(fresh.every((t) => t.status === 'posted' && t.date === day(fake.now()) && !pendingIds.includes(t.id)));
      assert.ok(fresh.some((t) => t.id.endsWith('.BOOKED-0001')));
      const again = list(await gc.fetchTransactions!(link, range(), h.ctx()));
      assert.deepEqual(again.map((t) => t.id).sort(), afterBooking.map((t) => t.id).sort(), 'the hashed one keeps its id');
    });

    it('asks no further back than the agreement allows', async () => {
      const { link } = await linked('MERIDIAN_MRDNGB21');
      await gc.fetchTransactions!(link, range(120), h.ctx());
      const asked = fake.requestsTo(TRANSACTIONS).at(-1)!;
      assert.deepEqual(asked.query, { date_from: day(fake.now(), -29), date_to: day(fake.now()) });
    });
  });

  describe('budgets', () => {
    it('reports each account scope\'s budget from the HTTP_X_RATELIMIT_ACCOUNT_SUCCESS_* headers, under the stable key', async () => {
      const { link } = await linked();
      h.reported.length = 0;
      const [current] = await gc.fetchAccounts(link, h.ctx());
      await gc.fetchTransactions!(link, range(), h.ctx());
      const mine = h.reported.filter((b) => b.accountId === current!.id);
      assert.deepEqual(mine.map((b) => [b.scope, b.limit, b.remaining]), [['balances', 4, 3], ['transactions', 4, 3]]);
      const reset = mine[0]!.resetAt.getTime() - fake.now().getTime();
      assert.ok(reset > DAY_MS - 60_000 && reset <= DAY_MS, `resets in a day: ${reset}`);
    });

    it('does not call a scope whose budget is spent: balances null, transactions deferred until the reset; the other scope still read', async () => {
      const { link, ids } = await linked();
      const accounts = await gc.fetchAccounts(link, h.ctx());
      const resetAt = new Date(fake.now().getTime() + 5 * 3600_000);
      const budgets = [
        { accountId: accounts[0]!.id, scope: 'balances', limit: 4, remaining: 0, resetAt },
        { accountId: accounts[0]!.id, scope: 'transactions', limit: 4, remaining: 0, resetAt },
        { accountId: accounts[1]!.id, scope: 'transactions', limit: 4, remaining: 0, resetAt: new Date(fake.now().getTime() - 1000) },
      ];
      const calls = (template: string, id: string) => fake.requestsTo(template.replace('{id}', id)).length;
      const before = [calls(BALANCES, ids[0]!), calls(TRANSACTIONS, ids[0]!), calls(TRANSACTIONS, ids[1]!)];
      const again = await gc.fetchAccounts(link, h.ctx({ budgets }));
      assert.equal(again[0]!.balances, null);
      assert.ok(again[1]!.balances);
      const got = await gc.fetchTransactions!(link, range(), h.ctx({ budgets }));
      assert.ok(!Array.isArray(got));
      assert.deepEqual((got as TransactionsWindow).deferred, [{ accountId: accounts[0]!.id, until: resetAt }]);
      assert.ok((got as TransactionsWindow).transactions.every((t) => t.accountId === accounts[1]!.id) && (got as TransactionsWindow).transactions.length > 0);
      assert.deepEqual([calls(BALANCES, ids[0]!), calls(TRANSACTIONS, ids[0]!), calls(TRANSACTIONS, ids[1]!)], [before[0], before[1], before[2]! + 1], 'the spent scopes were not called; a budget past its reset was');
    });

    it('answers a 429 past the fourth call as rate_limited with the Retry-After GoCardless gives, never as no data; a day later it reads again', async () => {
      const { link, ids } = await linked();
      for (let i = 0; i < 4; i++) await gc.fetchTransactions!(link, range(), h.ctx());
      fake.advance(600);
      const e = await rejection(gc.fetchTransactions!(link, range(), h.ctx()));
      assert.ok(e instanceof ProviderError);
      assert.deepEqual([e.code, e.transient, e.providerCode, e.limitScope], ['rate_limited', false, 'RateLimitExceeded', 'link']);
      assert.ok(e.retryAfterSeconds! > 86_400 - 620 && e.retryAfterSeconds! <= 86_400 - 600, String(e.retryAfterSeconds));
      assert.match(e.message, /4\/day\. Please try again in \d+ seconds/);
      const refused = fake.requestsTo(TRANSACTIONS.replace('{id}', ids[0]!)).at(-1)!;
      assert.equal(refused.status, 429);
      assert.equal(refused.responseHeaders!.HTTP_X_RATELIMIT_ACCOUNT_SUCCESS_REMAINING, '0');
      fake.advance(86_400);
      assert.ok(list(await gc.fetchTransactions!(link, range(), h.ctx())).length > 0);
    });

    it('takes the wait from the headers when a 429 does not say it, and from GoCardless\'s per-minute limits', async () => {
      const { link, ids } = await linked();
      fake.spendBudget(ids[0]!, 'balances');
      fake.failNext(BALANCES, { status: 429, body: { summary: 'Rate limit exceeded', detail: 'Too many requests.', status_code: 429 } }, { accountId: ids[0]! });
      const e = await rejection(gc.fetchAccounts(link, h.ctx()));
      assert.ok(e.retryAfterSeconds > 86_000, `from HTTP_X_RATELIMIT_ACCOUNT_SUCCESS_RESET: ${e.retryAfterSeconds}`);
      assert.equal(e.limitScope, 'link', 'the account\'s own calls: other links do not wait');
      fake.setGeneralLimit('institutions', 1);
      try {
        fake.advance(60);
        await gc.getInstitution(HARBOUR, h.ctx());
        const limited = await rejection(gc.getInstitution(HARBOUR, h.ctx()));
        assert.deepEqual([limited.code, limited.providerCode, limited.limitScope], ['rate_limited', 'RateLimitExceeded', 'institution'], 'a company-wide limit slows every connection');
        assert.ok(limited.retryAfterSeconds > 0 && limited.retryAfterSeconds <= 60, String(limited.retryAfterSeconds));
      } finally {
        fake.setGeneralLimit('institutions', 300);
      }
    });
  });

  describe('errors', () => {
    const cases: Array<[string, string, boolean, string?]> = [
      ['EUAExpiredError', 'consent_expired', false],
      ['AccessExpiredError', 'consent_expired', false],
      ['AccountValidEUAError', 'consent_expired', false],
      ['AccountAccessForbidden', 'invalid_credentials', false],
      ['AccountInactiveError', 'user_action_required', false],
      ['AccountEUAScopeError', 'user_action_required', false],
      ['AccountSuspendedError', 'consent_revoked', false],
      ['AccountNotFoundError', 'consent_revoked', false],
      ['RateLimitError', 'rate_limited', false],
      ['RateLimitExceeded', 'rate_limited', false],
      ['PaymentRequired', 'rate_limited', false],
      ['UnknownRequestError', 'institution_unavailable', true],
      ['ServiceError', 'institution_unavailable', true],
      ['ConnectionError', 'institution_unavailable', true],
      ['IPAccessDenied', 'provider_error', false],
      ['InvalidID', 'provider_error', false],
      ['DateRangeError', 'provider_error', false],
      ['UnknownFields', 'provider_error', false],
      ['NotFoundError', 'provider_error', false],
    ];
    for (const [name, code, transient] of cases) {
      it(`${name} on a data call is ${code}${transient ? ' (transient)' : ''}`, async () => {
        const { link } = await linked();
        const template = name === 'DateRangeError' ? TRANSACTIONS : BALANCES;
        fake.failNext(template, name);
        const e = await rejection(template === TRANSACTIONS ? gc.fetchTransactions!(link, range(), h.ctx()) : gc.fetchAccounts(link, h.ctx()));
        assert.ok(e instanceof ProviderError, String(e));
        assert.deepEqual([e.code, e.transient, e.providerCode], [code, transient, name], e.message);
        assert.ok(e.requestId, 'the request id is kept');
        if (name === 'RateLimitExceeded') assert.equal(e.retryAfterSeconds, 85092);
      });
    }

    it('reads account statuses: expired consent, suspended, still processing', async () => {
      const a = await linked();
      fake.setAccountStatus(a.ids[0]!, 'PROCESSING');
      assert.deepEqual(pick(await rejection(gc.fetchAccounts(a.link, h.ctx()))), ['provider_error', true, 'ACCOUNT_PROCESSING']);
      fake.setAccountStatus(a.ids[0]!, 'READY');
      const suspended = await linked();
      fake.setRequisitionStatus(fake.world.accounts.get(suspended.ids[0]!)!.requisitionId, 'SU');
      assert.deepEqual(pick(await rejection(gc.fetchAccounts(suspended.link, h.ctx()))), ['consent_revoked', false, 'ACCOUNT_SUSPENDED']);
      // The agreement runs out under the fake's clock: metadata says EXPIRED, data calls the EUA-expired error.
      const expiring = await linked('MERIDIAN_MRDNGB21');
      fake.advance(31 * 86_400);
      assert.deepEqual(pick(await rejection(gc.fetchAccounts(expiring.link, h.ctx()))), ['consent_expired', false, 'ACCOUNT_EXPIRED']);
      assert.deepEqual(pick(await rejection(gc.fetchTransactions!(expiring.link, range(), h.ctx()))), ['consent_expired', false, 'EUAExpiredError']);
    });

    it('knows an expired agreement by its words whatever the status (400, 401, 403), and a 409 by the account it carries', async () => {
      const { link, ids } = await linked();
      for (const status of [400, 403]) {
        fake.failNext(BALANCES, { status, body: { summary: 'End User Agreement (EUA) 0b8c4a04-64f8-4e11-a8e6-1e0b1b4a1d2c has expired', detail: 'EUA was valid for 90 days and it expired at 2026-01-01.', status_code: status } });
        assert.deepEqual(pick(await rejection(gc.fetchAccounts(link, h.ctx()))), ['consent_expired', false, 'EUAExpiredError'], String(status));
      }
      fake.failNext(BALANCES, { status: 409, body: { id: ids[0], created: '2026-01-01 09:00:00+00:00', last_accessed: '2026-01-01 09:00:00+00:00', iban: 'GB00', aspsp_identifier: HARBOUR, status: 'PROCESSING' } });
      assert.deepEqual(pick(await rejection(gc.fetchAccounts(link, h.ctx()))), ['provider_error', true, 'ACCOUNT_PROCESSING']);
      fake.failNext(BALANCES, { status: 409, body: { summary: 'Conflict', detail: 'Try later.', status_code: 409 } });
      assert.deepEqual(pick(await rejection(gc.fetchAccounts(link, h.ctx()))), ['provider_error', true, 'HTTP_409']);
    });

    it('retries a refused token once, then fails transiently; a 5xx on an account is the bank, elsewhere GoCardless', async () => {
      const { link } = await linked();
      fake.failNext(BALANCES, { status: 401, body: { summary: 'Authentication credentials were not provided.', detail: 'Authentication credentials were not provided.', status_code: 401 } });
      assert.ok((await gc.fetchAccounts(link, h.ctx())).length === 2, 'any other 401 is our token: renewed and retried');
      fake.failNext(BALANCES, 'InvalidToken', { times: 2 });
      assert.deepEqual(pick(await rejection(gc.fetchAccounts(link, h.ctx()))), ['provider_error', true, 'InvalidToken']);
      fake.failNext(BALANCES, { status: 502, body: {} });
      assert.deepEqual(pick(await rejection(gc.fetchAccounts(link, h.ctx()))), ['institution_unavailable', true, 'HTTP_5XX']);
      fake.failNext('/api/v2/institutions/{id}/', { status: 500, body: { summary: 'Server Error', detail: 'oops', status_code: 500 } });
      assert.deepEqual(pick(await rejection(gc.getInstitution(HARBOUR, h.ctx()))), ['provider_error', true, 'HTTP_5XX']);
    });

    it('fails transiently when GoCardless cannot be reached or does not answer in time', async () => {
      const hang = http.createServer(() => { /* never answers */ });
      await new Promise<void>((r) => hang.listen(0, '127.0.0.1', r));
      try {
        const slow = createGoCardlessProvider({ fetchTimeoutMs: 200 });
        const url = `http://127.0.0.1:${(hang.address() as AddressInfo).port}`;
        assert.deepEqual(pick(await rejection(slow.getInstitution(HARBOUR, h.ctx({ settings: { ...fake.settings, baseUrl: url }, state: undefined })))), ['provider_error', true, 'TIMEOUT']);
      } finally {
        hang.closeAllConnections();
        hang.close();
      }
      const closed = await rejection(createGoCardlessProvider().getInstitution(HARBOUR, h.ctx({ settings: { ...fake.settings, baseUrl: 'http://127.0.0.1:9' }, state: undefined })));
      assert.deepEqual(pick(closed), ['provider_error', true, 'NETWORK_ERROR']);
    });
  });
});

function pick(e: ProviderError): unknown[] {
  return [e.code, e.transient, e.providerCode];
}
