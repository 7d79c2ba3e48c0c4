/**
 * The GoCardless adapter (src/providers/gocardless) called directly, as the engine calls it, against
 * the stateful GoCardless fake (test/fakes/gocardless): settings, access tokens shared by every worker
 * and renewed, the catalogue by country, links and what each requisition status means, repairs that
 * keep the accounts' keys, revoke, and import of a requisition made elsewhere. Data calls, budgets and
 * errors: test/gocardless-data.test.ts.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createGoCardlessProvider } from '../src/providers/gocardless/index.js';
import { gocardlessSettingsFromEnv, resolveCredentials, GOCARDLESS_COUNTRIES } from '../src/providers/gocardless/settings.js';
import { stateKeyOf } from '../src/providers/gocardless/tokens.js';
import { ProviderError } from '../src/providers/types.js';
import { startGoCardlessFake, type GoCardlessFake } from './fakes/gocardless/index.js';
import { harness, linkOf, linkThrough, rejection, type Harness } from './fakes/gocardless/harness.js';

const START = new Date('2026-03-02T09:00:00Z');
const HARBOUR = 'HARBOUR_HRBRGB2L';
const DAY_MS = 86_400_000;

describe('GoCardless settings', () => {
  it('reads the deployment default from CAUSEWAY_GOCARDLESS_*, and nothing without both secrets', () => {
    assert.equal(gocardlessSettingsFromEnv({ CAUSEWAY_GOCARDLESS_SECRET_ID: 'id' }), null);
    assert.deepEqual(gocardlessSettingsFromEnv({
      CAUSEWAY_GOCARDLESS_SECRET_ID: ' id ', CAUSEWAY_GOCARDLESS_SECRET_KEY: 'key', CAUSEWAY_GOCARDLESS_URL: 'http://127.0.0.1:9/', CAUSEWAY_GOCARDLESS_COUNTRIES: 'gb, de',
    }), { secretId: 'id', secretKey: 'key', baseUrl: 'http://127.0.0.1:9/', countries: 'gb, de' });
  });

  it('checks the settings: the secret, the host, the countries (default every country GoCardless serves)', () => {
    const c = resolveCredentials({ secretId: 'id', secretKey: 'key' });
    assert.equal(c.baseUrl, 'https://bankaccountdata.gocardless.com');
    assert.deepEqual(c.countries, GOCARDLESS_COUNTRIES);
    assert.deepEqual(resolveCredentials({ secretId: 'id', secretKey: 'key', countries: 'gb, DE,gb', baseUrl: 'http://x.test/' }).countries, ['GB', 'DE']);
    for (const [settings, why] of [
      [{ secretId: 'id' }, /no secretKey/], [{ secretKey: 'k' }, /no secretId/], [{ secretId: 'id', secretKey: 'k', baseUrl: 'ftp://x' }, /http\(s\)/],
      [{ secretId: 'id', secretKey: 'k', countries: 'GBR' }, /two-letter/],
    ] as const) {
      const e = (() => { try { resolveCredentials(settings); } catch (err) { return err; } return null; })();
      assert.ok(e instanceof ProviderError && e.providerCode === 'NOT_CONFIGURED' && !e.transient && why.test(e.message), String(e));
    }
  });
});

describe('GoCardless adapter against the fake', () => {
  let fake: GoCardlessFake;
  let h: Harness;
  const gc = createGoCardlessProvider();

  before(async () => {
    fake = await startGoCardlessFake({ seed: 'gocardless-adapter', now: START, tokenLifetimes: { access: 3600, refresh: 4 * 3600 } });
    h = harness(fake, { countries: 'GB,DE,FR' });
  });
  after(async () => { await fake?.stop(); });

  describe('access tokens', () => {
    it('takes one token pair for every worker: two adapter instances with one shared store, and concurrent calls, ask GoCardless once', async () => {
      const fresh = await startGoCardlessFake({ seed: 'tokens', now: START });
      try {
        const shared = harness(fresh, { countries: 'GB' });
        const a = createGoCardlessProvider();
        const b = createGoCardlessProvider();
        await Promise.all([1, 2, 3, 4, 5].map(() => a.getInstitution(HARBOUR, shared.ctx())));
        await Promise.all([b.listInstitutions(shared.ctx(), null), b.getInstitution(HARBOUR, shared.ctx())]);
        assert.equal(fresh.requestsTo('/api/v2/token/new/').length, 1, 'one token/new for both workers');
        assert.equal(fresh.requestsTo('/api/v2/token/refresh/').length, 0);
        const stored = shared.state.values.get(stateKeyOf(resolveCredentials(shared.ctx().settings)));
        assert.ok(stored, 'kept in the shared store');
        assert.ok(!stored.value.includes(fresh.secretKey), 'the secret is not stored with the token');
        const pair = JSON.parse(stored.value);
        assert.ok(Math.abs(pair.accessExpiresAt - (START.getTime() + 86_400_000)) < 60_000, 'absolute expiry: a day after issue');
        assert.ok(stored.expiresAt.getTime() >= pair.refreshExpiresAt - 1000, 'kept until the refresh token lapses');
        // Every data call carried that one token.
        const bearers = new Set(fresh.requests.filter((r) => r.path.startsWith('/api/v2/institutions/')).map((r) => r.headers.authorization));
        assert.equal(bearers.size, 1);
        assert.ok(String([...bearers][0]).startsWith('Bearer '));
      } finally {
        await fresh.stop();
      }
    });

    it('renews with the refresh token shortly before the access token lapses, and takes a new pair once the refresh token has lapsed', async () => {
      await gc.getInstitution(HARBOUR, h.ctx());
      const first = fake.tokens.issued.length;
      const since = () => fake.tokens.issued.slice(first).map((t) => t.kind);
      await gc.getInstitution(HARBOUR, h.ctx());
      assert.deepEqual(since(), [], 'kept while it is good');
      fake.advance(3600 - 60); // inside the renewal margin of the one-hour access token
      await gc.getInstitution(HARBOUR, h.ctx());
      assert.deepEqual(since(), ['refresh']);
      fake.advance(5 * 3600); // past the four-hour refresh token
      await gc.getInstitution(HARBOUR, h.ctx());
      assert.deepEqual(since(), ['refresh', 'new']);
      // A second worker reads the renewed pair from the shared store.
      await createGoCardlessProvider().getInstitution(HARBOUR, h.ctx());
      assert.deepEqual(since(), ['refresh', 'new']);
    });

    it('drops an access token GoCardless refuses (401) and retries once with a renewed one', async () => {
      await gc.getInstitution(HARBOUR, h.ctx());
      const before = fake.requests.length;
      fake.revokeTokens('access');
      const got = await gc.getInstitution(HARBOUR, h.ctx());
      assert.equal(got?.id, HARBOUR);
      const seen = fake.requests.slice(before).map((r) => `${r.path} ${r.status}`);
      assert.deepEqual(seen, [`/api/v2/institutions/${HARBOUR}/ 401`, '/api/v2/token/refresh/ 200', `/api/v2/institutions/${HARBOUR}/ 200`]);
      // A worker that still holds the refused token in memory renews too, rather than failing.
      fake.revokeTokens('all');
      assert.equal((await gc.getInstitution(HARBOUR, h.ctx()))?.id, HARBOUR);
      assert.equal(fake.requests.at(-2)?.path, '/api/v2/token/new/', 'a refresh token refused too: a new pair');
    });

    it('refuses a wrong secret clearly, never naming it; tokens never reach a message', async () => {
      const bad = harness(fake, { secretKey: 'wrong-secret-key-xyz' });
      const e = await rejection(createGoCardlessProvider().listInstitutions(bad.ctx(), null));
      assert.ok(e instanceof ProviderError);
      assert.deepEqual([e.code, e.transient, e.providerCode], ['provider_error', false, 'AuthenticationFailed']);
      assert.match(e.message, /secretId and secretKey/);
      assert.ok(!e.message.includes('wrong-secret-key-xyz'));
      // GoCardless echoing a token or the secret in an error: scrubbed.
      const token = String(fake.requests.filter((r) => r.headers.authorization).at(-1)?.headers.authorization).slice('Bearer '.length);
      fake.failNext('/api/v2/institutions/{id}/', { status: 400, body: { summary: 'Echo', detail: `token ${token} secret ${fake.secretKey}`, status_code: 400 } });
      const echoed = await rejection(gc.getInstitution(HARBOUR, h.ctx()));
      assert.ok(!echoed.message.includes(token) && !echoed.message.includes(fake.secretKey), echoed.message);
      assert.match(echoed.message, /\[redacted\]/);
    });
  });

  describe('the catalogue', () => {
    it('lists a page per configured country, each bank once, with history and consent days and the 4-a-day limits', async () => {
      const pages = [];
      let cursor: string | null = null;
      do {
        const page = await gc.listInstitutions(h.ctx(), cursor);
        pages.push(page);
        cursor = page.next;
      } while (cursor !== null);
      assert.deepEqual(pages.map((p) => p.institutions.map((i) => i.id)), [
        ['HARBOUR_HRBRGB2L', 'THAMES_THMSGB21', 'MERIDIAN_MRDNGB21'],
        ['ALPENBANK_ALPNDEFF', 'RHEIN_RHNSDE33', 'NOVA_NOVADEB1'],
        ['LUMIERE_LUMIFRPP'], // Nova serves France too, and was listed with Germany
      ]);
      assert.deepEqual(fake.requestsTo('/api/v2/institutions/').slice(-3).map((r) => r.query.country), ['GB', 'DE', 'FR']);
      const meridian = pages[0]!.institutions[2]!;
      assert.deepEqual(
        [meridian.name, meridian.country, meridian.methods, meridian.historyDays, meridian.maxAccessDays, meridian.linksPendingTransactions],
        ['Meridian Savings', 'GB', ['openbanking'], 30, 30, false],
      );
      assert.deepEqual(meridian.products, ['accounts', 'balances', 'transactions', 'identity']);
      assert.equal(meridian.logo, 'https://cdn-logos.gocardless.com/ais/MERIDIAN_MRDNGB21.png');
      assert.deepEqual(meridian.limits, { refreshesPerDay: 4, minIntervalSeconds: 3600, maxConcurrentRefreshes: 5, refreshesPerMinute: 15 });
      assert.equal(pages[1]!.institutions.find((i) => i.id === 'NOVA_NOVADEB1')?.country, 'DE');
      await assert.rejects(gc.listInstitutions(h.ctx(), '3'), (e: ProviderError) => e.providerCode === 'BAD_CURSOR');
    });

    it('finds one bank by id, and answers null for one GoCardless does not have', async () => {
      const nova = await gc.getInstitution('NOVA_NOVADEB1', h.ctx());
      assert.deepEqual([nova?.name, nova?.country, nova?.historyDays, nova?.maxAccessDays], ['Nova Bank', 'DE', 90, 180]);
      assert.equal(await gc.getInstitution('NOPE_NOPEXX00', h.ctx()), null);
    });
  });

  describe('links', () => {
    it('links through an agreement and a requisition: LN is granted with the agreement\'s dates, each account\'s details read once', async () => {
      const before = fake.requests.length;
      const { session, result, params, requisitionId, state } = await linkThrough(gc, h, { institutionId: HARBOUR, login: 'ada lovelace' });
      const req = fake.requisition(requisitionId)!;
      assert.equal(session.url, req.link);
      assert.ok(session.expiresAt.getTime() > fake.now().getTime());
      assert.equal(params.ref, req.reference, 'GoCardless adds ref=<reference> to the return URL');
      assert.ok(!req.reference.includes(state), 'the reference does not carry the state');
      assert.equal(req.redirect, `https://causeway.example/link/return?state=${state}`);
      const agreementBody = fake.requests.slice(before).find((r) => r.path === '/api/v2/agreements/enduser/' && r.method === 'POST')!.body;
      assert.deepEqual(agreementBody, { institution_id: HARBOUR, max_historical_days: 730, access_valid_for_days: 180, access_scope: ['balances', 'details', 'transactions'] });
      assert.deepEqual(req.history.map((x) => x.status), ['CR', 'GC', 'UA', 'GA', 'LN']);
      const link = linkOf(result, HARBOUR);
      assert.equal(result.kind, 'granted');
      if (result.kind !== 'granted') return;
      const accepted = Date.parse(fake.world.agreements.get(req.agreement)!.accepted!);
      assert.equal(result.grant.grantedAt.getTime(), accepted);
      assert.equal(result.grant.expiresAt!.getTime(), accepted + 180 * DAY_MS);
      assert.equal(result.grant.institutionId, HARBOUR);
      const banks = fake.bankAccounts(HARBOUR, 'ada lovelace');
      assert.deepEqual(result.grant.accounts, banks.map((b) => ({ name: b.name, mask: b.iban.slice(-4) })));
      assert.ok(!JSON.stringify(result.grant).includes(banks[0]!.iban), 'no full IBAN in the grant');
      assert.ok(link.access.kind === 'token' && JSON.parse(link.access.token).requisitionId === requisitionId);
      for (const id of req.accounts) assert.equal(fake.requestsTo(`/api/v2/accounts/${id}/details/`).length, 1);
      assert.deepEqual((await gc.fetchIdentity(link, h.ctx())).names, ['Ada Lovelace']);
    });

    it('asks only for what the bank allows: a 30-day bank gets a 30-day agreement, and no transactions scope when they are not wanted', async () => {
      const before = fake.requests.length;
      await linkThrough(gc, h, { institutionId: 'MERIDIAN_MRDNGB21', products: ['accounts', 'balances'] });
      const body = fake.requests.slice(before).find((r) => r.path === '/api/v2/agreements/enduser/' && r.method === 'POST')!.body;
      assert.deepEqual(body, { institution_id: 'MERIDIAN_MRDNGB21', max_historical_days: 30, access_valid_for_days: 30, access_scope: ['balances', 'details'] });
    });

    it('reads every other requisition status: RJ denied, ER the bank, EX consent expired, SU consent revoked, the rest pending', async () => {
      const denied = await linkThrough(gc, h, { institutionId: HARBOUR, action: 'deny' });
      assert.deepEqual(denied.params.error, 'UserCancelledSession');
      assert.deepEqual(pick(denied.result), ['denied', 'authorization_denied', 'REQUISITION_RJ']);
      const failed = await linkThrough(gc, h, { institutionId: HARBOUR, action: 'error' });
      assert.deepEqual(pick(failed.result), ['denied', 'institution_unavailable', 'REQUISITION_ER']);
      const waiting = await linkThrough(gc, h, { institutionId: HARBOUR, action: 'none' });
      assert.equal(fake.requisition(waiting.requisitionId)!.status, 'GC');
      assert.deepEqual(waiting.result, { kind: 'pending' });
      const complete = (reference: string, params: Record<string, string> = {}) => gc.completeLink!({ institutionId: HARBOUR, params, reference, update: null }, h.ctx());
      for (const [status, want] of [['EX', 'consent_expired'], ['SU', 'consent_revoked']] as const) {
        fake.setRequisitionStatus(waiting.requisitionId, status);
        assert.deepEqual(pick(await complete(waiting.session.reference)), ['denied', want, `REQUISITION_${status}`]);
      }
      for (const status of ['CR', 'GC', 'UA', 'SA', 'GA', 'ID'] as const) {
        fake.setRequisitionStatus(waiting.requisitionId, status);
        assert.deepEqual(await complete(waiting.session.reference), { kind: 'pending' }, status);
      }
      // Sent back with an error before the status moved on: refused, not left pending.
      assert.deepEqual(pick(await complete(waiting.session.reference, { error: 'UserCancelledSession', details: 'User cancelled the session.' })), ['denied', 'authorization_denied', 'UserCancelledSession']);
      await assert.rejects(complete('not-a-reference'), (e: ProviderError) => e.providerCode === 'BAD_REFERENCE');
    });

    it('repairs with a new agreement and requisition: new GoCardless account ids, the same stable keys, the old requisition deleted', async () => {
      const first = await linkThrough(gc, h, { institutionId: HARBOUR, login: 'grace' });
      const link = linkOf(first.result, HARBOUR);
      const keys = (await gc.fetchAccounts(link, h.ctx())).map((a) => a.id);
      assert.equal(keys.length, 2);
      assert.ok(!keys.some((k) => fake.requisition(first.requisitionId)!.accounts.includes(k)), 'never GoCardless\'s per-requisition uuid');
      const repaired = await linkThrough(gc, h, { institutionId: HARBOUR, login: 'grace', update: link });
      assert.notEqual(repaired.requisitionId, first.requisitionId);
      const newLink = linkOf(repaired.result, HARBOUR);
      assert.deepEqual((await gc.fetchAccounts(newLink, h.ctx())).map((a) => a.id), keys, 'the same keys');
      const oldIds = new Set(fake.accountsOf(repaired.requisitionId).map((a) => a.id));
      assert.equal(oldIds.size, 2);
      assert.equal(fake.requisition(first.requisitionId), undefined, 'the replaced requisition is deleted at GoCardless');
      // A repair whose details budget is spent (the same day, a third time) still maps the accounts, by IBAN.
      fake.setAccountLimit(0);
      try {
        const again = await linkThrough(gc, h, { institutionId: HARBOUR, login: 'grace', update: newLink });
        const againLink = linkOf(again.result, HARBOUR);
        const againIds = new Set(fake.requisition(again.requisitionId)!.accounts);
        const refused = fake.requestsTo('/api/v2/accounts/{id}/details/').filter((r) => againIds.has(r.path.split('/')[4]!));
        assert.deepEqual(refused.map((r) => r.status), [429, 429], 'the details budget was spent');
        const cached = JSON.parse((againLink.access as { token: string }).token);
        assert.deepEqual(cached.accounts.map((a: { key: string }) => a.key), keys);
        assert.equal((await rejection(gc.fetchAccounts(againLink, h.ctx()))).code, 'rate_limited', 'a spent budget is never read as no data');
      } finally {
        fake.setAccountLimit(4);
      }
    });
  });

  describe('revoke and import', () => {
    it('revokes by deleting the requisition; one already gone is fine', async () => {
      const { result, requisitionId } = await linkThrough(gc, h, { institutionId: HARBOUR });
      const link = linkOf(result, HARBOUR);
      await gc.revoke(link, h.ctx());
      assert.equal(fake.requisition(requisitionId), undefined);
      assert.equal(fake.requestsTo(`/api/v2/requisitions/${requisitionId}/`, 'DELETE').at(-1)?.status, 200);
      await gc.revoke(link, h.ctx());
      assert.equal(fake.requestsTo(`/api/v2/requisitions/${requisitionId}/`, 'DELETE').at(-1)?.status, 404);
    });

    it('imports a linked requisition made elsewhere, by its id or the adapter\'s own token, with its consent dates and institution', async () => {
      const req = fake.linkedRequisition({ institutionId: 'ALPENBANK_ALPNDEFF', login: 'imported', accessValidForDays: 90 });
      const grant = await gc.importAccess!({ institutionId: null, token: req.id }, h.ctx());
      assert.equal(grant.institutionId, 'ALPENBANK_ALPNDEFF');
      const accepted = Date.parse(fake.world.agreements.get(req.agreement)!.accepted!);
      assert.deepEqual([grant.grantedAt.getTime(), grant.expiresAt!.getTime()], [accepted, accepted + 90 * DAY_MS]);
      const link = { institutionId: 'ALPENBANK_ALPNDEFF', access: { kind: 'token' as const, token: grant.token }, firstSyncedAt: null };
      assert.equal((await gc.fetchAccounts(link, h.ctx())).length, 2);
      const again = await gc.importAccess!({ institutionId: 'ALPENBANK_ALPNDEFF', token: grant.token }, h.ctx());
      assert.equal(JSON.parse(again.token).requisitionId, req.id);
    });

    it('refuses to import what is not a linked requisition of this secret, saying why', async () => {
      const waiting = await linkThrough(gc, h, { institutionId: HARBOUR, action: 'none' });
      const cases: Array<[string, string | null, RegExp]> = [
        [waiting.requisitionId, null, /is GC .*not linked \(LN\)/],
        ['6c1b1c1e-0000-4000-8000-000000000000', null, /has no requisition/],
        ['not-a-uuid', null, /requisition id/],
        [fake.linkedRequisition({ institutionId: HARBOUR }).id, 'ALPENBANK_ALPNDEFF', /another institution/],
      ];
      for (const [token, institutionId, why] of cases) {
        const e = await rejection(gc.importAccess!({ institutionId, token }, h.ctx()));
        assert.ok(e instanceof ProviderError && e.code === 'invalid_credentials' && why.test(e.message), `${token}: ${e?.message}`);
      }
    });
  });
});

function pick(r: { kind: string; code?: string; providerCode?: string }): unknown[] {
  return [r.kind, r.code, r.providerCode];
}
