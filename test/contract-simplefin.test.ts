/**
 * The provider contract suite (test/helpers/contract.ts) for SimpleFIN, against the stateful bridge
 * fake (test/fakes/simplefin/) through Causeway's HTTP API: links by pasted setup token (claimed at
 * once), repairs with a new token, imports of access URLs, unlink with nothing to revoke at the
 * bridge, and the bridge's documented errors as statuses and reasons.
 *
 * The fake listens on 127.0.0.1, which the address guard refuses unless the operator allows private
 * addresses: this Causeway allows them (allowPrivateAddresses). Its clock follows Causeway's test
 * clock, so the bridge's day (its daily allowance) and Causeway's agree.
 */
import { describe } from 'node:test';
import assert from 'node:assert/strict';
import { providerCalls } from '../src/db/schema.js';
import { startSimpleFinFake, type FakeApp, type SimpleFinFake } from './fakes/simplefin/index.js';
import { startTestApp, testConfig, type TestApp } from './helpers/app.js';
import { runContractSuite, type Conn, type ErrorCase, type ProviderDriver } from './helpers/contract.js';
import { until } from './helpers/wait.js';

/** A job's runs when every one fails on a transient error: the first and each retry. */
const ALL_RUNS = testConfig().retryLimit + 1;
const INSTITUTION = 'ins_simplefin_bridge';

function simpleFinDriver(): ProviderDriver {
  let t: TestApp;
  let fake: SimpleFinFake;
  /** Causeway's test clock ahead of real time; the bridge's clock keeps to it. */
  let offsetMs = 0;
  let added = 0;
  const followClock = async () => {
    const res = await t.api('GET', '/v1/sandbox/clock');
    assert.equal(res.status, 200, JSON.stringify(res.body));
    offsetMs = res.body.offsetMs;
  };
  const nowSec = () => Math.floor((Date.now() + offsetMs) / 1000);

  /** The bridge user behind a connection (its handle). */
  const userOf = (c: Conn): string => {
    assert.ok(c.ref, 'the bridge user of the connection');
    return c.ref;
  };
  const appsOf = (c: Conn): FakeApp[] => fake.apps.filter((a) => a.user === userOf(c));
  /** The access URL Causeway holds for the connection: the user's newest app at the bridge. */
  const accessOf = (c: Conn): string => {
    const app = appsOf(c).at(-1);
    assert.ok(app && !app.revoked, `an access URL for ${userOf(c)}`);
    return fake.accessUrlOf(app);
  };
  /** Claims a setup token as a client other than Causeway would (to import its access URL, or to spend it). */
  const claimHere = async (claimUrl: string): Promise<string> => {
    const res = await fetch(claimUrl, { method: 'POST' });
    assert.equal(res.status, 200, 'the bridge gave an access URL');
    return res.text();
  };
  const reconnect = (reason: string) => ({ status: 'reconnect_required', reason, job: { status: 'failed' as const, errorCode: reason, attempts: 1 } });
  const degraded = (reason: string, attempts: number) => ({ status: 'degraded', reason, job: { status: 'failed' as const, errorCode: reason, attempts } });

  /** The journal's last failed call of the connection: what the bridge said, and the wait it asked for. */
  const lastFailure = async (c: Conn) => {
    const calls = (await t.core.db.select().from(providerCalls)).filter((p) => p.connectionId === c.id && p.outcome === 'error');
    calls.sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || (a.id < b.id ? -1 : 1));
    const last = calls.at(-1);
    assert.ok(last, `a failed call journaled for ${c.id}`);
    return last;
  };

  /**
   * A quota that limits the link only: the next background refresh waits for the bridge's
   * Retry-After, and another connection at the bridge refreshes at once (the institution is not slowed).
   */
  const linkOnlyQuota = (retryAfter: (now: Date) => number) => async (tt: TestApp, c: Conn) => {
    const failed = await lastFailure(c);
    const clock = new Date((await tt.api('GET', '/v1/sandbox/clock')).body.now);
    const wait = retryAfter(clock);
    assert.equal(failed.errorCode, 'rate_limited');
    // The wait is counted from the failed call; the clock was read a moment later.
    assert.ok(failed.retryAfterSeconds !== null && failed.retryAfterSeconds >= wait && failed.retryAfterSeconds <= wait + 5, `the Retry-After journaled: ${failed.retryAfterSeconds}, ${wait} wanted`);
    const con = (await tt.api('GET', c.base)).body;
    assert.ok(Date.parse(con.nextScheduledRefreshAt) >= clock.getTime() + (wait - 60) * 1000, `next background refresh ${con.nextScheduledRefreshAt}, ${wait} s after ${clock.toISOString()}`);
    const other = await importOne(tt);
    const res = await tt.api('POST', `${other.base}/refresh`);
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const job = await tt.waitForJob(res.body.job.id, undefined, 15_000);
    assert.deepEqual([job.status, job.attempts], ['succeeded', 1], `another connection at the bridge is not slowed: ${JSON.stringify(job)}`);
  };

  /** Another user's connection by import, active (for the quota cases). */
  async function importOne(tt: TestApp): Promise<Conn> {
    const userId = await tt.createUser();
    const { claimUrl, user } = fake.setupToken();
    const res = await tt.api('POST', `/v1/users/${userId}/connections/import`, { provider: 'simplefin', accessUrl: await claimHere(claimUrl) });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    assert.equal((await tt.waitForJob(res.body.job.id, undefined, 30_000)).status, 'succeeded');
    return { userId, id: res.body.connection.id, base: `/v1/users/${userId}/connections/${res.body.connection.id}`, ref: user };
  }

  // What the bridge documents (src/providers/simplefin/errors.ts), met on a refresh of a synced connection.
  const errors: ErrorCase[] = [
    {
      name: 'the bridge says a bank needs attention (v1 errors)', providerCode: 'BRIDGE_ATTENTION',
      arrange: async (_t, c) => fake.setErrors(userOf(c), ['Connection to Example Bank may need attention']),
      expect: reconnect('user_action_required'),
      cleanup: async (_t, c) => fake.setErrors(userOf(c), []),
    },
    {
      name: 'the bridge says a bank needs attention (v2 errlist con.auth)', providerCode: 'BRIDGE_ATTENTION',
      arrange: async (_t, c) => fake.setErrlist(userOf(c), [{ code: 'con.auth', msg: 'Example Bank needs you to sign in again', conn_id: 'CON-bank' }]),
      expect: reconnect('user_action_required'),
      cleanup: async (_t, c) => fake.setErrlist(userOf(c), null),
    },
    {
      // The user removed Causeway at the bridge: a new setup token mends it.
      name: 'access revoked at the bridge (403)', providerCode: 'HTTP_403',
      arrange: async (_t, c) => fake.revoke(accessOf(c)),
      expect: reconnect('consent_revoked'),
    },
    {
      name: 'the bridge revokes access in its errlist (gen.auth)', providerCode: 'BRIDGE_AUTH',
      arrange: async (_t, c) => fake.setErrlist(userOf(c), [{ code: 'gen.auth', msg: 'Authentication failed' }]),
      expect: reconnect('consent_revoked'),
      cleanup: async (_t, c) => fake.setErrlist(userOf(c), null),
    },
    {
      name: 'payment required at the bridge (402)', providerCode: 'HTTP_402',
      arrange: async (_t, c) => fake.setPaymentRequired(userOf(c), true),
      expect: reconnect('user_action_required'),
      cleanup: async (_t, c) => fake.setPaymentRequired(userOf(c), false),
    },
    {
      name: 'the daily allowance spent (429 with Retry-After)', providerCode: 'HTTP_429',
      arrange: async (_t, c) => { await followClock(); fake.setQuota({ perDay: 0, answer: 'status', accessUrl: accessOf(c) }); },
      expect: degraded('rate_limited', 1),
      verify: linkOnlyQuota(() => 7200),
      cleanup: async () => fake.setQuota(null),
    },
    {
      // No Retry-After: Causeway waits until the bridge's next day (UTC), at least an hour.
      name: 'the daily allowance spent (the bridge\'s error list)', providerCode: 'BRIDGE_QUOTA',
      arrange: async (_t, c) => { await followClock(); fake.setQuota({ perDay: 0, answer: 'errors', accessUrl: accessOf(c) }); },
      expect: degraded('rate_limited', 1),
      verify: linkOnlyQuota((now) => Math.max(3600, Math.ceil((Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1) - now.getTime()) / 1000))),
      cleanup: async () => fake.setQuota(null),
    },
    {
      name: 'a bridge outage (503 on every run)', providerCode: 'HTTP_503',
      arrange: async (_t, c) => fake.failNext(503, ALL_RUNS, { accessUrl: accessOf(c) }),
      expect: degraded('institution_unavailable', ALL_RUNS),
    },
    {
      name: 'a bridge outage that clears (one 502)', providerCode: 'HTTP_502',
      arrange: async (_t, c) => fake.failNext(502, 1, { accessUrl: accessOf(c) }),
      expect: { status: 'active', reason: null, job: { status: 'succeeded', errorCode: null, attempts: 2 } },
    },
    {
      name: 'the bridge is upgrading a connection (v1 errors)', providerCode: 'BRIDGE_UNAVAILABLE',
      arrange: async (_t, c) => fake.setErrors(userOf(c), ['We are upgrading this connection; try again later.']),
      expect: degraded('institution_unavailable', 1),
      cleanup: async (_t, c) => fake.setErrors(userOf(c), []),
    },
  ];

  return {
    name: 'simplefin', provider: 'simplefin', method: 'token', institutionId: INSTITUTION,
    async start() {
      t = await startTestApp({ config: { allowPrivateAddresses: true } });
      fake = await startSimpleFinFake({ now: () => new Date(Date.now() + offsetMs) });
      return t;
    },
    async stop() {
      await fake?.stop();
      await t?.close();
    },
    importFetchesInstitution: false, // the bridge is SimpleFIN's one institution, catalogued at start without a request
    async catalogueReady() {
      await until('the SimpleFIN bridge in the catalogue', async () => (await t.api('GET', `/v1/institutions/${INSTITUTION}`)).status === 200, 15_000);
      const listed = await t.api('GET', '/v1/institutions?provider=simplefin');
      assert.deepEqual(listed.body.data.map((i: any) => [i.id, i.methods]), [[INSTITUTION, ['token']]], JSON.stringify(listed.body));
    },
    linkFailures: [],
    async newSetupToken(_t, c) {
      await followClock();
      const { token, user } = fake.setupToken(c ? { user: userOf(c) } : {});
      return { setupToken: token, ref: user };
    },
    claimRefusals: [
      {
        name: 'claimed already, by someone else',
        async setupToken() {
          const { token, claimUrl } = fake.setupToken();
          await claimHere(claimUrl);
          return token;
        },
        message: /already claimed or is not valid: create a new one at your bridge.*someone else may have/s,
      },
      {
        name: 'forged: a claim URL the bridge never issued',
        setupToken: async () => Buffer.from(`${fake.url}/claim/forged-${Date.now()}`).toString('base64'),
        message: /create a new one at your bridge/,
      },
      {
        name: 'not a setup token at all',
        setupToken: async () => 'hello, this is my bank password',
        message: /not a SimpleFIN setup token: paste the whole token/,
      },
    ],
    // SimpleFIN's login is the access URL: the user removed Causeway at the bridge, and the next refresh finds the 403.
    async breakLogin(_t, c) {
      fake.revoke(accessOf(c));
    },
    loginBreaksVia: 'refresh',
    loginRequired: { status: 'reconnect_required', reason: 'consent_revoked' },
    consentNeverExpires: 'a SimpleFIN access URL works until the user removes the app at the bridge',
    localRevoke: {
      requestsFor: (c) => {
        const names = new Set(appsOf(c).map((a) => a.username));
        return fake.calls.filter((x) => x.username !== null && names.has(x.username)).length;
      },
    },
    async importBody() {
      const { claimUrl, user } = fake.setupToken();
      return { body: { provider: 'simplefin', accessUrl: await claimHere(claimUrl) }, ref: user, institutionId: INSTITUTION };
    },
    badImportBody: async () => ({ provider: 'simplefin', accessUrl: fake.url.replace('http://', 'http://app999:not-the-password@') }),
    providerTruth(c) {
      const accounts = fake.user(userOf(c)).accounts;
      return { accounts: accounts.length, transactions: accounts.reduce((n, a) => n + a.transactions.length, 0) };
    },
    async addActivity(c) {
      await followClock();
      const account = `ACT-${userOf(c)}-chk`;
      for (let i = 0; i < 3; i++) {
        added += 1;
        fake.addTransaction(account, { id: `TRN-new-${added}`, posted: nowSec() - 3600 * (i + 1), amount: `-${i + 1}.25`, description: `CONTRACT ${added}` });
      }
      return 3;
    },
    errors,
  };
}

describe('SimpleFIN against its bridge fake', () => {
  runContractSuite(simpleFinDriver());
});
