/**
 * The rules of the connection lifecycle that come from the seeds (issue: rules, consent, import,
 * timeline, sandbox controls), through the HTTP API: duplicate credentials wait six minutes, one
 * method per institution and user, pre_init resumed or abandoned, lastUsedAt on every refresh,
 * consent expiring / expired / revoked with the application's keep-or-purge setting, simulated
 * outages, import, and the timeline that records all of it.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { eq } from 'drizzle-orm';
import { accounts, connections, jobs, transactions } from '../src/db/schema.js';
import { startTestApp, type TestApp } from './helpers/app.js';

function assertProblem(res: { status: number; body: any }, status: number, code: string) {
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.equal(res.body.code, code, JSON.stringify(res.body));
}

const form = { 'content-type': 'application/x-www-form-urlencoded' };
const MINUTE = 60_000;
const DAY = 86_400_000;

describe('lifecycle rules', () => {
  let t: TestApp;
  before(async () => { t = await startTestApp(); });
  after(async () => { await t.close(); });

  const get = async (base: string) => (await t.api('GET', base)).body;
  const now = async () => Date.parse((await t.api('GET', '/v1/sandbox/clock')).body.now);
  const advance = async (advanceBy: string) => assert.equal((await t.api('POST', '/v1/sandbox/clock', { advanceBy })).status, 200);
  /** Until no job of the connection is queued or running (background refreshes start when the clock moves). */
  const settled = async (connectionId: string) => {
    for (let i = 0; i < 400; i++) {
      const live = (await t.core.db.select().from(jobs).where(eq(jobs.connectionId, connectionId))).filter((j) => ['queued', 'running'].includes(j.status));
      if (live.length === 0) return;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`jobs of ${connectionId} still running`);
  };
  const rows = async (connectionId: string) => ({
    accounts: (await t.core.db.select().from(accounts).where(eq(accounts.connectionId, connectionId))).length,
    transactions: (await t.core.db.select().from(transactions).where(eq(transactions.connectionId, connectionId))).length,
  });

  async function createWeb(userId: string, institutionId = 'ins_sandbox_web', login = 'user_good') {
    const res = await t.api('POST', `/v1/users/${userId}/connections`, { institutionId, method: 'web', credentials: { login, password: 'pass_good' } });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    return { connection: res.body.connection, job: res.body.job, base: `/v1/users/${userId}/connections/${res.body.connection.id}` };
  }

  /** An openbanking connection approved on the consent page; answers once its first job is done. */
  async function linkOpenbanking(userId: string, institutionId = 'ins_sandbox_openbank') {
    const created = await t.api('POST', `/v1/users/${userId}/connections`, { institutionId, method: 'openbanking' });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const base = `/v1/users/${userId}/connections/${created.body.connection.id}`;
    await approve(created.body.authorizationUrl);
    const job = (await t.api('GET', `${base}/jobs`)).body.data[0];
    assert.equal((await t.waitForJob(job.id)).status, 'succeeded');
    return { connectionId: created.body.connection.id as string, base };
  }

  async function approve(authorizationUrl: string, decision = 'approve') {
    const res = await t.app.inject({ method: 'POST', url: new URL(authorizationUrl).pathname, payload: `decision=${decision}&persona=user_good`, headers: form });
    assert.equal(res.statusCode, 200, res.body);
  }

  describe('duplicate credentials', () => {
    it('a second live connection with the same login is paused for six minutes, then proceeds on its own', async () => {
      const userId = await t.createUser();
      const first = await createWeb(userId);
      await t.waitForJob(first.job.id);
      const started = await now();
      const second = await createWeb(userId);
      assert.deepEqual([second.connection.status, second.connection.statusReason, second.connection.userAction], ['pending', 'duplicate_credentials', 'wait']);
      const pausedFor = Date.parse(second.connection.pausedUntil) - started;
      assert.ok(pausedFor >= 6 * MINUTE && pausedFor < 6 * MINUTE + 5_000, `paused for ${pausedFor} ms`);
      await new Promise((r) => setTimeout(r, 300));
      assert.equal((await t.api('GET', `/v1/jobs/${second.job.id}`)).body.status, 'queued', 'the job waits out the pause');
      await advance('PT5M');
      assert.equal((await get(second.base)).statusReason, 'duplicate_credentials', 'five minutes are not six');
      await advance('PT61S');
      assert.equal((await t.waitForJob(second.job.id)).status, 'succeeded');
      const done = await get(second.base);
      assert.deepEqual([done.status, done.statusReason, done.pausedUntil], ['active', null, null]);
    });

    it('does not pause another user who signs in with a shared sandbox persona, nor a login the user has only in a failed connection', async () => {
      const a = await t.createUser();
      const b = await t.createUser();
      await t.waitForJob((await createWeb(a)).job.id);
      const other = await createWeb(b);
      assert.deepEqual([other.connection.statusReason, other.connection.pausedUntil], [null, null]);
      const bad = await t.api('POST', `/v1/users/${a}/connections`, { institutionId: 'ins_sandbox_mfa', method: 'web', credentials: { login: 'user_good', password: 'wrong' } });
      assert.equal((await t.waitForJob(bad.body.job.id)).status, 'failed');
      const again = await createWeb(a, 'ins_sandbox_mfa');
      assert.equal(again.connection.pausedUntil, null);
    });
  });

  describe('one method per institution and user', () => {
    it('refuses an openbanking connection beside a live web one to the same institution, naming it, and the other way round', async () => {
      const userId = await t.createUser();
      const web = await createWeb(userId, 'ins_sandbox_universal');
      const refused = await t.api('POST', `/v1/users/${userId}/connections`, { institutionId: 'ins_sandbox_universal', method: 'openbanking' });
      assertProblem(refused, 409, 'conflicting_connection');
      assert.equal(refused.body.connectionId, web.connection.id);
      assert.match(refused.body.detail, new RegExp(web.connection.id));

      const other = await t.createUser();
      const ob = await linkOpenbanking(other, 'ins_sandbox_universal');
      const back = await t.api('POST', `/v1/users/${other}/connections`, {
        institutionId: 'ins_sandbox_universal', method: 'web', credentials: { login: 'user_good', password: 'pass_good' },
      });
      assertProblem(back, 409, 'conflicting_connection');
      assert.equal(back.body.connectionId, ob.connectionId);
      // A failed openbanking attempt does not count; repairing it back beside the live web one does.
      const obUser = await t.createUser();
      const web2 = await createWeb(obUser, 'ins_sandbox_universal');
      await t.waitForJob(web2.job.id);
      assert.equal((await t.api('POST', `${web2.base}/unlink`)).status, 200);
      const ob2 = await t.api('POST', `/v1/users/${obUser}/connections`, { institutionId: 'ins_sandbox_universal', method: 'openbanking' });
      assert.equal(ob2.status, 201, 'an unlinked web connection does not block');
      const revived = await t.api('POST', `${web2.base}/repair`, { credentials: { login: 'user_good', password: 'pass_good' } });
      assertProblem(revived, 409, 'conflicting_connection');
      assert.equal(revived.body.connectionId, ob2.body.connection.id);
      // Once the web connection is deleted, openbanking is allowed.
      assert.equal((await t.api('DELETE', web.base)).status, 200);
      assert.equal((await t.api('POST', `/v1/users/${userId}/connections`, { institutionId: 'ins_sandbox_universal', method: 'openbanking' })).status, 201);
    });
  });

  describe('pre_init', () => {
    it('is resumed with a fresh authorisation URL; the old link stops working and the new one completes the connection', async () => {
      const userId = await t.createUser();
      const created = await t.api('POST', `/v1/users/${userId}/connections`, { institutionId: 'ins_sandbox_openbank', method: 'openbanking' });
      const base = `/v1/users/${userId}/connections/${created.body.connection.id}`;
      assert.deepEqual(created.body.connection.allowedActions, ['repair', 'update_products', 'purge', 'delete']);
      const resumed = await t.api('POST', `${base}/repair`, {});
      assert.equal(resumed.status, 200, JSON.stringify(resumed.body));
      assert.notEqual(resumed.body.authorizationUrl, created.body.authorizationUrl);
      assert.equal(resumed.body.connection.status, 'pre_init');
      const stale = await t.app.inject({ method: 'POST', url: new URL(created.body.authorizationUrl).pathname, payload: 'decision=approve', headers: form });
      assert.equal(stale.statusCode, 404);
      await approve(resumed.body.authorizationUrl);
      const job = (await t.api('GET', `${base}/jobs`)).body.data[0];
      assert.equal((await t.waitForJob(job.id)).status, 'succeeded');
      assert.equal((await get(base)).status, 'active');
    });

    it('becomes failed / authorization_abandoned after the 24-hour window, and can still be resumed', async () => {
      const userId = await t.createUser();
      const created = await t.api('POST', `/v1/users/${userId}/connections`, { institutionId: 'ins_sandbox_openbank', method: 'openbanking' });
      const base = `/v1/users/${userId}/connections/${created.body.connection.id}`;
      await advance('PT23H');
      assert.equal((await get(base)).status, 'pre_init');
      await advance('PT61M');
      const abandoned = await get(base);
      assert.deepEqual([abandoned.status, abandoned.statusReason, abandoned.userAction], ['failed', 'authorization_abandoned', 'reconnect']);
      const expired = await t.app.inject({ method: 'POST', url: new URL(created.body.authorizationUrl).pathname, payload: 'decision=approve', headers: form });
      assert.equal(expired.statusCode, 404, 'the abandoned link is dead');
      const resumed = await t.api('POST', `${base}/repair`, {});
      assert.equal(resumed.status, 200, JSON.stringify(resumed.body));
      assert.deepEqual([resumed.body.connection.status, resumed.body.connection.statusReason], ['pre_init', null]);
    });
  });

  it('lastUsedAt moves with every refresh', async () => {
    const userId = await t.createUser();
    const { job, base } = await createWeb(userId);
    await t.waitForJob(job.id);
    const first = (await get(base)).lastUsedAt;
    assert.ok(first);
    let previous = first;
    for (let i = 0; i < 2; i++) {
      await advance('PT1H');
      const r = await t.api('POST', `${base}/refresh`);
      assert.equal((await t.waitForJob(r.body.job.id)).status, 'succeeded');
      const used = (await get(base)).lastUsedAt;
      assert.ok(Date.parse(used) >= Date.parse(previous) + 3_600_000, `${used} after ${previous}`);
      previous = used;
    }
  });

  describe('consent', () => {
    it('records grantedAt and a 365-day expiresAt; warns seven days before, and needs the user at expiry, keeping the data by default', async () => {
      const userId = await t.createUser();
      const granted = await now();
      const { connectionId, base } = await linkOpenbanking(userId);
      const c = await get(base);
      assert.ok(Math.abs(Date.parse(c.consent.grantedAt) - granted) < 60_000);
      assert.equal(Date.parse(c.consent.expiresAt) - Date.parse(c.consent.grantedAt), 365 * DAY);
      const stored = await rows(connectionId);
      assert.ok(stored.accounts >= 4 && stored.transactions > 100);

      await advance('P357D');
      assert.deepEqual([(await get(base)).status, (await get(base)).statusReason], ['active', null], 'eight days before: nothing yet');
      await advance('P1DT1H');
      const expiring = await get(base);
      assert.deepEqual([expiring.status, expiring.statusReason, expiring.userAction], ['active', 'access_expiring_soon', 'reconnect']);
      assert.ok(expiring.allowedActions.includes('repair'));
      await settled(connectionId); // background refreshes fetched the year meanwhile
      const before = await rows(connectionId);
      await advance('P7D');
      const expired = await get(base);
      assert.deepEqual([expired.status, expired.statusReason, expired.userAction], ['reconnect_required', 'consent_expired', 'reconnect']);
      await settled(connectionId);
      assert.deepEqual(await rows(connectionId), before, 'keep is the default');

      const consentEvents = (await t.api('GET', `${base}/timeline?order=asc&limit=100`)).body.data.filter((e: any) => e.kind === 'consent').map((e: any) => e.type);
      assert.deepEqual(consentEvents, ['consent.granted', 'consent.expiring', 'consent.expired']);
    });

    it('a web login whose access runs out (user_expiring) is warned by its first sync and needs the user at the end', async () => {
      const userId = await t.createUser();
      const { job, base } = await createWeb(userId, 'ins_sandbox_web', 'user_expiring');
      await t.waitForJob(job.id);
      const c = await get(base);
      assert.deepEqual([c.status, c.statusReason], ['active', 'access_expiring_soon']);
      assert.ok(Math.abs(Date.parse(c.accessExpiresAt) - (await now()) - 3 * DAY) < 60_000);
      await advance('P3DT1M');
      assert.deepEqual([(await get(base)).status, (await get(base)).statusReason], ['reconnect_required', 'consent_expired']);
      const entries = (await t.api('GET', `${base}/timeline?order=asc`)).body.data;
      assert.deepEqual(entries.filter((e: any) => e.kind === 'consent').map((e: any) => e.type), ['access.expiring', 'access.expired']);
      assert.equal(entries.find((e: any) => e.type === 'access.expiring').expiresAt, c.accessExpiresAt);
    });

    it('an application PATCH with nothing in it changes nothing', async () => {
      const res = await t.api('PATCH', '/v1/application', {});
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.consentEndData, 'keep');
    });

    it('revoked by the institution: reconnect_required / consent_revoked, and with consentEndData=purge the data goes, with a deletion record', async () => {
      assert.equal((await t.api('GET', '/v1/application')).body.consentEndData, 'keep');
      assertProblem(await t.api('PATCH', '/v1/application', { consentEndData: 'shred' }), 400, 'validation_failed');
      const set = await t.api('PATCH', '/v1/application', { consentEndData: 'purge' });
      assert.equal(set.status, 200, JSON.stringify(set.body));
      assert.equal(set.body.consentEndData, 'purge');
      try {
        const userId = await t.createUser();
        const { connectionId, base } = await linkOpenbanking(userId);
        const stored = await rows(connectionId);
        const revoked = await t.api('POST', `/v1/sandbox/connections/${connectionId}/simulate`, { event: 'consent_revoked' });
        assert.deepEqual([revoked.body.status, revoked.body.statusReason], ['reconnect_required', 'consent_revoked']);
        assert.deepEqual(await rows(connectionId), { accounts: 0, transactions: 0 });
        const deletions = (await t.api('GET', `/v1/deletions?connectionId=${connectionId}`)).body.data;
        assert.equal(deletions.length, 1);
        assert.deepEqual([deletions[0].operation, deletions[0].requestedBy, deletions[0].counts.accounts, deletions[0].counts.transactions],
          ['purge', 'system', stored.accounts, stored.transactions]);
        // The way back: a new authorisation fetches everything again.
        const repair = await t.api('POST', `${base}/repair`, {});
        await approve(repair.body.authorizationUrl);
        const job = (await t.api('GET', `${base}/jobs`)).body.data[0];
        assert.equal((await t.waitForJob(job.id)).status, 'succeeded');
        assert.deepEqual([(await get(base)).status, (await rows(connectionId)).accounts], ['active', stored.accounts]);
      } finally {
        await t.api('PATCH', '/v1/application', { consentEndData: 'keep' });
      }
    });

    it('ended under a refresh (the bank refuses the token before Causeway expected): the job fails, consent.expired is recorded and the purge setting applies', async () => {
      const userId = await t.createUser();
      const created = await t.api('POST', `/v1/users/${userId}/connections`, { institutionId: 'ins_sandbox_openbank', method: 'openbanking' });
      const base = `/v1/users/${userId}/connections/${created.body.connection.id}`;
      // user_expiring's token lapses in three days; Causeway is told a year, so only the bank knows.
      const res = await t.app.inject({ method: 'POST', url: new URL(created.body.authorizationUrl).pathname, payload: 'decision=approve&persona=user_expiring', headers: form });
      assert.equal(res.statusCode, 200);
      await t.waitForJob((await t.api('GET', `${base}/jobs`)).body.data[0].id);
      const connectionId = created.body.connection.id as string;
      await t.core.db.update(connections).set({ consentExpiresAt: new Date((await now()) + 365 * DAY), statusReason: null }).where(eq(connections.id, connectionId));
      assert.equal((await t.api('PATCH', '/v1/application', { consentEndData: 'purge' })).status, 200);
      try {
        // Four days on, the background refresh that falls due meets the lapsed token.
        await advance('P4D');
        const refresh = (await t.api('GET', `${base}/jobs`)).body.data[0];
        assert.deepEqual([refresh.type, refresh.trigger], ['refresh', 'scheduled']);
        const job = await t.waitForJob(refresh.id);
        assert.deepEqual([job.status, job.error.code], ['failed', 'consent_expired']);
        const c = await get(base);
        assert.deepEqual([c.status, c.statusReason], ['reconnect_required', 'consent_expired']);
        assert.deepEqual(await rows(connectionId), { accounts: 0, transactions: 0 });
        const types = (await t.api('GET', `${base}/timeline?order=asc&limit=100`)).body.data.map((e: any) => e.type);
        assert.deepEqual(types.slice(-4), ['job.refresh', 'consent.expired', 'connection.status_changed', 'connection.purged']);
      } finally {
        await t.api('PATCH', '/v1/application', { consentEndData: 'keep' });
      }
    });
  });

  describe('sandbox outage', () => {
    it('on: a first link fails and a refresh leaves the connection degraded; off: a refresh restores it', async () => {
      const userId = await t.createUser();
      const { job, base } = await createWeb(userId, 'ins_sandbox_universal');
      await t.waitForJob(job.id);
      assertProblem(await t.api('POST', '/v1/sandbox/institutions/ins_nope/outage', { enabled: true }), 404, 'not_found');
      assertProblem(await t.api('POST', '/v1/sandbox/institutions/ins_sandbox_universal/outage', { on: true }), 400, 'validation_failed');
      const on = await t.api('POST', '/v1/sandbox/institutions/ins_sandbox_universal/outage', { enabled: true });
      assert.deepEqual(on.body, { institutionId: 'ins_sandbox_universal', outage: true });
      try {
        const refresh = await t.api('POST', `${base}/refresh`);
        const failed = await t.waitForJob(refresh.body.job.id);
        assert.equal(failed.status, 'failed');
        assert.equal(failed.error.code, 'institution_unavailable');
        const degraded = await get(base);
        assert.deepEqual([degraded.status, degraded.statusReason, degraded.userAction], ['degraded', 'institution_unavailable', 'wait']);

        const newcomer = await t.createUser();
        const first = await createWeb(newcomer, 'ins_sandbox_universal');
        assert.equal((await t.waitForJob(first.job.id)).status, 'failed');
        assert.deepEqual([(await get(first.base)).status, (await get(first.base)).statusReason], ['failed', 'institution_unavailable']);
      } finally {
        const off = await t.api('POST', '/v1/sandbox/institutions/ins_sandbox_universal/outage', { enabled: false });
        assert.deepEqual(off.body, { institutionId: 'ins_sandbox_universal', outage: false });
      }
      const again = await t.api('POST', `${base}/refresh`);
      assert.equal((await t.waitForJob(again.body.job.id)).status, 'succeeded');
      assert.deepEqual([(await get(base)).status, (await get(base)).statusReason], ['active', null]);
    });
  });

  describe('import', () => {
    async function sandboxToken(institutionId = 'ins_sandbox_openbank') {
      const res = await t.api('POST', '/v1/sandbox/tokens', { institutionId });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      return res.body as { accessToken: string; expiresAt: string };
    }

    it('brings a provider token in without the user: init, an import job, then active with the data and the consent dates', async () => {
      const userId = await t.createUser();
      const token = await sandboxToken();
      const res = await t.api('POST', `/v1/users/${userId}/connections/import`, { institutionId: 'ins_sandbox_openbank', accessToken: token.accessToken });
      assert.equal(res.status, 202, JSON.stringify(res.body));
      assert.deepEqual([res.body.connection.status, res.body.connection.method, res.body.job.type], ['init', 'openbanking', 'import']);
      assert.deepEqual(res.body.job.steps.map((s: any) => s.name), ['authorize', 'retrieve-accounts', 'retrieve-transactions', 'retrieve-identity']);
      assert.equal((await t.waitForJob(res.body.job.id)).status, 'succeeded');
      const base = `/v1/users/${userId}/connections/${res.body.connection.id}`;
      const c = await get(base);
      assert.deepEqual([c.status, c.statusReason, c.consent.expiresAt], ['active', null, token.expiresAt]);
      assert.ok((await rows(c.id)).accounts >= 4);
      // The same token twice is the same link: refused, naming the first.
      const twice = await t.api('POST', `/v1/users/${userId}/connections/import`, { institutionId: 'ins_sandbox_openbank', accessToken: token.accessToken });
      assertProblem(twice, 409, 'conflicting_connection');
      assert.equal(twice.body.connectionId, c.id);
      const timeline = (await t.api('GET', `${base}/timeline?order=asc`)).body.data.map((e: any) => e.type);
      assert.deepEqual(timeline.slice(0, 3), ['connection.created', 'connection.imported', 'job.import']);
    });

    it('a token the provider did not issue fails the connection with invalid_credentials, and bad input is refused', async () => {
      const userId = await t.createUser();
      const res = await t.api('POST', `/v1/users/${userId}/connections/import`, { institutionId: 'ins_sandbox_openbank', accessToken: 'access-sandbox-123' });
      assert.equal(res.status, 202);
      const job = await t.waitForJob(res.body.job.id);
      assert.deepEqual([job.status, job.error.code], ['failed', 'invalid_credentials']);
      const c = await get(`/v1/users/${userId}/connections/${res.body.connection.id}`);
      assert.deepEqual([c.status, c.statusReason], ['failed', 'invalid_credentials']);

      const missing = await t.api('POST', `/v1/users/${userId}/connections/import`, { institutionId: 'ins_sandbox_openbank' });
      assertProblem(missing, 400, 'validation_failed');
      assert.ok(missing.body.errors.some((e: any) => e.field === 'body.accessToken'), JSON.stringify(missing.body.errors));
      assertProblem(await t.api('POST', `/v1/users/${userId}/connections/import`, { institutionId: 'ins_sandbox_web', accessToken: 'x' }), 400, 'unsupported_method');
      assertProblem(await t.api('POST', '/v1/users/usr_01m8sg532zw61dw0en8z4tb5jq/connections/import', { institutionId: 'ins_sandbox_openbank', accessToken: 'x' }), 404, 'not_found');
      assertProblem(await t.api('POST', '/v1/sandbox/tokens', { institutionId: 'ins_sandbox_web' }), 400, 'unsupported_method');
    });
  });

  describe('timeline', () => {
    it('joins status changes, jobs and operations in order, pages with a cursor, and reads either way', async () => {
      const userId = await t.createUser();
      const { job, base } = await createWeb(userId);
      await t.waitForJob(job.id);
      await advance('PT1H');
      const refresh = await t.api('POST', `${base}/refresh`);
      await t.waitForJob(refresh.body.job.id);
      assert.equal((await t.api('POST', `${base}/unlink`)).status, 200);

      const asc = (await t.api('GET', `${base}/timeline?order=asc`)).body;
      assert.equal(asc.nextCursor, null);
      const summary = asc.data.map((e: any) => (e.kind === 'status_change' ? `${e.from}->${e.to}` : e.kind === 'job' ? `job:${e.job.type}:${e.job.status}` : e.type));
      assert.deepEqual(summary, [
        'null->pending', 'job:create:succeeded', 'pending->active', 'job:refresh:succeeded', 'connection.unlinked', 'active->unlinked',
      ]);
      const unlinked = asc.data.find((e: any) => e.type === 'connection.unlinked');
      assert.match(unlinked.actor, /^api_key:key_/);
      const desc = (await t.api('GET', `${base}/timeline`)).body.data;
      assert.deepEqual(desc.map((e: any) => e.id), [...asc.data].reverse().map((e: any) => e.id));

      const paged: string[] = [];
      let cursor: string | null = null;
      do {
        const page: any = (await t.api('GET', `${base}/timeline?order=asc&limit=2${cursor ? `&cursor=${cursor}` : ''}`)).body;
        assert.ok(page.data.length <= 2);
        paged.push(...page.data.map((e: any) => e.id));
        cursor = page.nextCursor;
      } while (cursor);
      assert.deepEqual(paged, asc.data.map((e: any) => e.id));

      assertProblem(await t.api('GET', `${base}/timeline?cursor=not-a-cursor`), 400, 'invalid_cursor');
      assertProblem(await t.api('GET', `/v1/users/${userId}/connections/con_01m8sg532zw61dw0en8z4tb5jq/timeline`), 404, 'not_found');
    });
  });
});
