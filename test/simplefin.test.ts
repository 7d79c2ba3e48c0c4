/**
 * The SimpleFIN adapter against the stateful bridge fake (test/fakes/simplefin/), called directly:
 * claiming setup tokens (once; forged and garbage tokens; private addresses behind the switch),
 * the data mapping, one request per run, the bridge's error list and HTTP statuses as Causeway's
 * reasons, the daily allowance, import, local revoke, and no secret in any message.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isoDay } from '../src/domain/clock.js';
import { createSimpleFinProvider } from '../src/providers/simplefin/index.js';
import { ProviderError, type Provider, type ProviderCallContext, type ProviderLink, type TransactionsWindow } from '../src/providers/types.js';
import { startSimpleFinFake, type SimpleFinFake } from './fakes/simplefin/index.js';

let fake: SimpleFinFake;
let provider: Provider;
let runs = 0;
const NOW = new Date();
const TODAY = isoDay(NOW);
const daysAgo = (n: number) => isoDay(new Date(NOW.getTime() - n * 86_400_000));

/** A context for one run: each call gets a new run unless `runKey` says otherwise. */
function ctx(over: Partial<ProviderCallContext> = {}): ProviderCallContext {
  return { now: NOW, runKey: `run-${++runs}`, allowPrivateAddresses: true, ...over };
}

const linkOf = (token: string): ProviderLink => ({ institutionId: 'bridge', access: { kind: 'token', token }, firstSyncedAt: null });

/** A claimed link for a new bridge user. */
async function claimed(): Promise<{ link: ProviderLink; user: string; access: string }> {
  const { token, user } = fake.setupToken();
  const grant = await provider.claimToken!(token, ctx());
  return { link: linkOf(grant.token), user, access: grant.token };
}

async function failure(p: Promise<unknown>): Promise<ProviderError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof ProviderError, `a ProviderError, not ${String(err)}`);
    return err;
  }
  assert.fail('expected a ProviderError');
}

const accountsCalls = () => fake.callsTo('/accounts').length;
const asList = (r: Awaited<ReturnType<NonNullable<Provider['fetchTransactions']>>>) => (Array.isArray(r) ? r : (r as TransactionsWindow).transactions);

before(async () => {
  fake = await startSimpleFinFake({ now: () => NOW });
  provider = createSimpleFinProvider({ dataTimeoutMs: 5000, claimTimeoutMs: 5000 });
});
after(async () => fake.stop());

describe('SimpleFIN setup tokens', () => {
  it('claims a setup token once for its access URL, granted for the bridge without an end', async () => {
    const { token } = fake.setupToken();
    const c = ctx();
    const grant = await provider.claimToken!(`  ${token}\n`, c);
    assert.match(grant.token, /^http:\/\/app\d+:[0-9a-f]+@127\.0\.0\.1:\d+\/simplefin$/);
    assert.deepEqual([grant.institutionId, grant.expiresAt, grant.grantedAt], ['bridge', null, c.now]);
    const posted = fake.calls.filter((x) => x.path.startsWith('/simplefin/claim/'));
    assert.deepEqual(posted.slice(-1).map((x) => [x.method, x.status]), [['POST', 200]]);
    assert.equal(fake.apps.at(-1)!.username, new URL(grant.token).username, 'the access URL the bridge gave');
  });

  it('reads URL-safe base64 and a token pasted across lines', async () => {
    const { claimUrl } = fake.setupToken();
    const urlSafe = Buffer.from(claimUrl).toString('base64url');
    const wrapped = urlSafe.replace(/(.{20})/g, '$1\n');
    const grant = await provider.claimToken!(wrapped, ctx());
    assert.match(grant.token, /@127\.0\.0\.1:\d+\/simplefin$/);
  });

  it('refuses a token claimed twice with a clear error that says it may be compromised', async () => {
    const { token } = fake.setupToken();
    await provider.claimToken!(token, ctx());
    const err = await failure(provider.claimToken!(token, ctx()));
    assert.deepEqual([err.code, err.providerCode, err.transient], ['invalid_credentials', 'TOKEN_CLAIMED', false]);
    assert.match(err.message, /already claimed or is not valid: create a new one at your bridge/);
    assert.match(err.message, /someone else may have/);
  });

  it('refuses a forged claim URL at the bridge as not valid (the bridge answers 403)', async () => {
    const forged = Buffer.from(`${fake.url}/claim/not-a-real-code`).toString('base64');
    const err = await failure(provider.claimToken!(forged, ctx()));
    assert.equal(err.providerCode, 'TOKEN_CLAIMED');
  });

  it('refuses garbage, base64 that is not a URL, and URLs of other schemes without calling anything', async () => {
    const before = fake.calls.length;
    for (const pasted of ['', 'hello world!', Buffer.from('hello there').toString('base64'), Buffer.from('ftp://bridge.example/claim/x').toString('base64'), Buffer.from([0xff, 0x00, 0x81, 0x92]).toString('base64')]) {
      const err = await failure(provider.claimToken!(pasted, ctx()));
      assert.deepEqual([err.code, err.providerCode], ['invalid_credentials', 'NOT_A_SETUP_TOKEN'], pasted);
      assert.match(err.message, /not a SimpleFIN setup token/);
    }
    assert.equal(fake.calls.length, before);
  });

  it('refuses a claim URL at 127.0.0.1 or a name resolving there unless the operator allows private addresses', async () => {
    const port = new URL(fake.url).port;
    const before = fake.calls.length;
    for (const host of ['127.0.0.1', 'localhost', '[::1]']) {
      const { claimUrl } = fake.setupToken();
      const https = Buffer.from(claimUrl.replace('http://127.0.0.1', `https://${host}`).replace(`:${port}`, `:${port}`)).toString('base64');
      const err = await failure(provider.claimToken!(https, ctx({ allowPrivateAddresses: false })));
      assert.deepEqual([err.code, err.providerCode], ['invalid_credentials', 'BLOCKED_ADDRESS'], host);
      assert.match(err.message, /private, loopback or reserved.*CAUSEWAY_ALLOW_PRIVATE_ADDRESSES=true/);
    }
    const { token } = fake.setupToken();
    const plain = await failure(provider.claimToken!(token, ctx({ allowPrivateAddresses: false })));
    assert.deepEqual([plain.providerCode, /https/.test(plain.message)], ['NOT_A_SETUP_TOKEN', true], 'plain http only with the switch');
    assert.equal(fake.calls.length, before, 'nothing reached the bridge');
    const allowed = await provider.claimToken!(token, ctx({ allowPrivateAddresses: true }));
    assert.ok(allowed.token.includes('127.0.0.1'));
  });

  it('takes an access URL pasted instead of a setup token, checking it once', async () => {
    const { access } = await claimed();
    const before = accountsCalls();
    const grant = await provider.claimToken!(access, ctx());
    assert.equal(grant.token, access);
    assert.equal(accountsCalls(), before + 1);
    assert.equal(fake.calls.at(-1)!.query['balances-only'], '1');
  });
});

describe('SimpleFIN data', () => {
  it('maps accounts from several banks with their balances, kinds and masks', async () => {
    const { link, user } = await claimed();
    const accounts = await provider.fetchAccounts(link, ctx());
    assert.deepEqual(accounts.map((a) => [a.id, a.type, a.mask, a.currency, a.balances]), [
      [`ACT-${user}-chk`, 'transaction', '1234', 'USD', { current: 254310, available: 244310, limit: null }],
      [`ACT-${user}-sav`, 'savings', '5678', 'USD', { current: 1000000, available: 1000000, limit: null }],
      [`ACT-${user}-card`, 'credit_card', '4321', 'USD', { current: -31245, available: 468755, limit: null }],
    ]);
  });

  it('maps transactions in the range: pending and posted, ids unique per account, payee as merchant', async () => {
    const { link, user } = await claimed();
    const got = asList(await provider.fetchTransactions!(link, { from: daysAgo(30), to: TODAY }, ctx()));
    const byId = new Map(got.map((t) => [t.id, t]));
    assert.deepEqual([...byId.keys()].sort(), [`ACT-${user}-card:TRN-10`, `ACT-${user}-card:TRN-9`, `ACT-${user}-chk:TRN-3`, `ACT-${user}-chk:TRN-4`, `ACT-${user}-sav:TRN-1`].sort());
    const grocery = byId.get(`ACT-${user}-chk:TRN-3`)!;
    assert.deepEqual([grocery.status, grocery.amount, grocery.date, grocery.authorizedDate, grocery.merchantName, grocery.description], ['posted', -5421, daysAgo(10), daysAgo(11), 'Corner Grocery', 'GROCERY 123']);
    const streaming = byId.get(`ACT-${user}-chk:TRN-4`)!;
    assert.deepEqual([streaming.status, streaming.date, streaming.amount], ['pending', daysAgo(1), -1999], 'posted 0 is pending, dated when it happened');
    const coffee = byId.get(`ACT-${user}-card:TRN-10`)!;
    assert.deepEqual([coffee.status, coffee.date], ['pending', TODAY], 'pending: true wins over a posting date');
    assert.equal(byId.get(`ACT-${user}-card:TRN-9`)!.category, 'Home');
    assert.equal(byId.get(`ACT-${user}-sav:TRN-1`)!.accountId, `ACT-${user}-sav`);
  });

  it('posts a pending transaction under the same id, with no second copy', async () => {
    const { link, user } = await claimed();
    const first = asList(await provider.fetchTransactions!(link, { from: daysAgo(30), to: TODAY }, ctx()));
    assert.equal(first.find((t) => t.id === `ACT-${user}-chk:TRN-4`)!.status, 'pending');
    fake.postPending(`ACT-${user}-chk`, 'TRN-4', { postedAt: Math.floor(NOW.getTime() / 1000) });
    const second = asList(await provider.fetchTransactions!(link, { from: daysAgo(30), to: TODAY }, ctx()));
    const copies = second.filter((t) => t.id.endsWith(':TRN-4'));
    assert.deepEqual(copies.map((t) => [t.id, t.status, t.date]), [[`ACT-${user}-chk:TRN-4`, 'posted', TODAY]]);
    assert.equal(second.length, first.length);
  });

  it('makes one request a run for accounts and transactions, asking 90 days at most with pending', async () => {
    const { link } = await claimed();
    const before = accountsCalls();
    const run = ctx();
    await provider.fetchAccounts(link, run);
    await provider.fetchTransactions!(link, { from: daysAgo(31), to: TODAY }, run);
    const made = fake.callsTo('/accounts').slice(before);
    assert.equal(made.length, 1, 'one answer serves both');
    assert.deepEqual([made[0]!.query['start-date'], made[0]!.query.pending, made[0]!.query['end-date'], made[0]!.capped],
      [String(Date.parse(`${daysAgo(89)}T00:00:00Z`) / 1000), '1', undefined, false]);
    await provider.fetchAccounts(link, ctx());
    assert.equal(accountsCalls(), before + 2, 'another run asks again');
  });

  it('reaches further back than 90 days in windows of at most 90 days, never capped, without duplicates', async () => {
    const { link, user } = await claimed();
    const before = accountsCalls();
    const got = asList(await provider.fetchTransactions!(link, { from: daysAgo(200), to: TODAY }, ctx()));
    const made = fake.callsTo('/accounts').slice(before);
    assert.equal(made.length, 3, 'the main window and two earlier ones');
    assert.ok(made.every((c) => !c.capped && c.status === 200));
    assert.ok(got.some((t) => t.id === `ACT-${user}-chk:TRN-1`), 'the 120-day-old fee');
    assert.equal(new Set(got.map((t) => t.id)).size, got.length);
  });
});

describe('SimpleFIN errors', () => {
  it('a connection needing attention at the bridge fails the run with the bridge\'s words (user_action_required)', async () => {
    const { link, user } = await claimed();
    fake.setErrors(user, ['Connection to Example Bank may need attention']);
    const err = await failure(provider.fetchAccounts(link, ctx()));
    assert.deepEqual([err.code, err.providerCode, err.transient], ['user_action_required', 'BRIDGE_ATTENTION', false]);
    assert.match(err.message, /Connection to Example Bank may need attention\. Fix the connection at your SimpleFIN bridge/);
    fake.setErrors(user, []);
    fake.setErrlist(user, [{ code: 'con.auth', msg: 'Authentication failed for Example Bank - Jim', conn_id: 'CON-1' }]);
    assert.equal((await failure(provider.fetchAccounts(link, ctx()))).providerCode, 'BRIDGE_ATTENTION');
    fake.setErrlist(user, [{ code: 'gen.auth', msg: 'No credentials provided' }]);
    assert.equal((await failure(provider.fetchAccounts(link, ctx()))).code, 'consent_revoked');
    fake.setErrlist(user, [{ code: 'gen.api', msg: 'Requested date range exceeds limit of 90 days and was capped.' }]);
    assert.equal((await provider.fetchAccounts(link, ctx())).length, 3, 'a developer notice is no failure');
  });

  it('an account the bridge could not read keeps its stored balances and transactions this run', async () => {
    const { link, user } = await claimed();
    fake.setErrlist(user, [{ code: 'act.failed', msg: 'Failed to get account information. Try again later.', account_id: `ACT-${user}-card` }]);
    const run = ctx();
    const accounts = await provider.fetchAccounts(link, run);
    assert.equal(accounts.find((a) => a.id === `ACT-${user}-card`)!.balances, null);
    assert.notEqual(accounts.find((a) => a.id === `ACT-${user}-chk`)!.balances, null);
    const window = await provider.fetchTransactions!(link, { from: daysAgo(30), to: TODAY }, run) as TransactionsWindow;
    assert.deepEqual(window.deferred.map((d) => d.accountId), [`ACT-${user}-card`]);
    assert.ok(window.deferred[0]!.until > NOW);
    assert.ok(!window.transactions.some((t) => t.accountId === `ACT-${user}-card`));
    assert.ok(window.transactions.some((t) => t.accountId === `ACT-${user}-chk`));
  });

  it('words it does not know are shown as a provider error, not swallowed', async () => {
    const { link, user } = await claimed();
    fake.setErrors(user, ['Something odd happened at the bridge.']);
    const err = await failure(provider.fetchAccounts(link, ctx()));
    assert.deepEqual([err.code, err.providerCode], ['provider_error', 'BRIDGE_ERROR']);
    assert.match(err.message, /Something odd happened/);
  });

  it('access revoked at the bridge (403) is consent_revoked; payment (402) needs the user; 5xx is transient', async () => {
    const { link, user, access } = await claimed();
    fake.setPaymentRequired(user, true);
    assert.deepEqual(await failure(provider.fetchAccounts(link, ctx())).then((e) => [e.code, e.providerCode]), ['user_action_required', 'HTTP_402']);
    fake.setPaymentRequired(user, false);
    fake.failNext(503);
    const down = await failure(provider.fetchAccounts(link, ctx()));
    assert.deepEqual([down.code, down.transient], ['institution_unavailable', true]);
    fake.revoke(access);
    const revoked = await failure(provider.fetchAccounts(link, ctx()));
    assert.deepEqual([revoked.code, revoked.providerCode, revoked.transient], ['consent_revoked', 'HTTP_403', false]);
  });

  it('the daily allowance spent is rate_limited with a Retry-After, not "no new transactions"', async () => {
    const { link } = await claimed();
    fake.setQuota({ perDay: 1, answer: 'errors' });
    try {
      await provider.fetchAccounts(link, ctx());
      const err = await failure(provider.fetchAccounts(link, ctx()));
      assert.deepEqual([err.code, err.providerCode, err.transient], ['rate_limited', 'BRIDGE_QUOTA', false]);
      assert.ok(err.retryAfterSeconds! >= 3600 && err.retryAfterSeconds! <= 86_400, String(err.retryAfterSeconds));
      fake.setQuota({ perDay: 1, answer: 'status' });
      const status = await failure(provider.fetchAccounts(link, ctx()));
      assert.deepEqual([status.code, status.retryAfterSeconds], ['rate_limited', 7200]);
    } finally {
      fake.setQuota(null);
    }
  });
});

describe('SimpleFIN import, revoke and the catalogue', () => {
  it('imports a working access URL with one balances-only check, and refuses a bad one', async () => {
    const { access } = await claimed();
    const before = accountsCalls();
    const grant = await provider.importAccess!({ institutionId: null, token: access }, ctx());
    assert.deepEqual([grant.token, grant.institutionId, grant.expiresAt], [access, 'bridge', null]);
    assert.deepEqual(grant.accounts!.map((a) => a.mask), ['1234', '5678', '4321']);
    assert.equal(accountsCalls(), before + 1);
    assert.equal(fake.calls.at(-1)!.query['balances-only'], '1');
    const wrong = access.replace(/:([0-9a-f]+)@/, ':0000000000@');
    assert.equal((await failure(provider.importAccess!({ institutionId: null, token: wrong }, ctx()))).providerCode, 'ACCESS_REFUSED');
    for (const token of ['not a url', `${fake.url}`, 'ftp://a:b@example.com/simplefin']) {
      assert.equal((await failure(provider.importAccess!({ institutionId: null, token }, ctx()))).providerCode, 'NOT_AN_ACCESS_URL', token);
    }
    assert.equal((await failure(provider.importAccess!({ institutionId: 'ins_other', token: access }, ctx()))).providerCode, 'INSTITUTION_MISMATCH');
  });

  it('revokes locally, with no call to the bridge, and says what to remove there', async () => {
    const { link } = await claimed();
    const before = fake.calls.length;
    await provider.revoke(link, ctx());
    assert.equal(fake.calls.length, before);
    assert.match(provider.revokeNotice!, /remove Causeway at your SimpleFIN bridge/);
    assert.equal((await provider.fetchAccounts(link, ctx())).length, 3, 'the access itself still works at the bridge');
  });

  it('lists one institution, the bridge, within its daily allowance', async () => {
    const page = await provider.listInstitutions(ctx(), null);
    assert.deepEqual([page.institutions.map((i) => i.id), page.next, page.total], [['bridge'], null, 1]);
    const bridge = (await provider.getInstitution('bridge', ctx()))!;
    assert.deepEqual([bridge.name, bridge.methods, bridge.products], ['SimpleFIN Bridge', ['token'], ['accounts', 'balances', 'transactions']]);
    assert.ok(bridge.limits.refreshesPerDay <= 24);
    assert.equal(await provider.getInstitution('ins_1', ctx()), null);
    assert.deepEqual(await provider.fetchIdentity(linkOf('x'), ctx()), { names: [], emails: [], phones: [], addresses: [] });
  });

  it('never puts the access URL, its credentials or a claim code in a message', async () => {
    const { link, access, user } = await claimed();
    const { password, username } = new URL(access);
    const { token, claimUrl } = fake.setupToken();
    await provider.claimToken!(token, ctx());
    const messages: string[] = [];
    const collect = async (p: Promise<unknown>) => messages.push((await failure(p)).message);
    await collect(provider.claimToken!(token, ctx()));
    await collect(provider.claimToken!(Buffer.from(claimUrl.replace('http:', 'https:')).toString('base64'), ctx({ allowPrivateAddresses: false })));
    fake.failNext(500);
    await collect(provider.fetchAccounts(link, ctx()));
    fake.setErrors(user, ['Connection to Example Bank may need attention']);
    await collect(provider.fetchAccounts(link, ctx()));
    await collect(provider.fetchAccounts(linkOf(access.replace('127.0.0.1', '127.0.0.1:1')), ctx()));
    await collect(provider.fetchAccounts(linkOf(access.replace(/:\d+\/simplefin/, ':1/simplefin')), ctx()));
    const before = fake.calls.length;
    const blocked = await failure(provider.fetchAccounts(linkOf(access.replace('http:', 'https:')), ctx({ allowPrivateAddresses: false })));
    assert.deepEqual([blocked.code, blocked.providerCode, fake.calls.length], ['provider_error', 'BLOCKED_ADDRESS', before], 'refused before connecting');
    messages.push(blocked.message);
    const code = new URL(claimUrl).pathname.split('/').pop()!;
    if (process.env.SHOW_MESSAGES) console.log(messages);
    for (const m of messages) {
      for (const secret of [access, password, username, code]) assert.ok(!m.includes(secret), `${m} holds a secret`);
    }
    assert.equal(messages.length, 7);
  });
});
