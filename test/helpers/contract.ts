/**
 * The provider contract (PRODUCT.md §7: "the sandbox is one provider among others and passes the
 * same contract suite"): one suite, run once per provider against its fake, through the HTTP API
 * only, asserting what the app and its users see.
 *
 *   import ─► active (institution in the catalogue)          a token the provider never issued ─► never active
 *   create ─► pre_init ─► the user at the provider ─► active ─► refresh ─► login required ─► repair
 *          ─► unlink (the provider's revoke is called) ─► delete
 *   create ─► active ─► consent expiring ─► repair renews it          (providers whose consent ends)
 *   link refused at the provider ─► failed, with the reason
 *   every error the provider documents, on a synced connection ─► its status and reason ─► recovered
 *
 * Token providers (method `token`, SimpleFIN) have no provider page: the user pastes a setup token
 * the provider gave them, which create and repair claim at once (create answers init and the first
 * job; repair the same connection and its job). Their link failures are the claims the provider
 * refuses: 400 invalid_setup_token, nothing created. A provider without a revoke call says so
 * (localRevoke): unlink asks it nothing and the connection carries a revokeNotice instead.
 *
 * A provider takes part through a ProviderDriver: how to start its fake and Causeway against it, how
 * a user finishes (or refuses) a link at the provider's page or which setup tokens they paste, how to
 * break the login, make consent expire, import, and its table of errors. A new provider is one more
 * driver. A step that does not apply to a provider is left out by its driver, with the reason, and
 * its test is not registered (never a skipped test counted as passing).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { TestApp } from './app.js';
import { until } from './wait.js';
import { checkDriver, IMPORT_TOKEN_FIELDS, reads, type Conn, type Outcome, type ProviderDriver } from './contract-driver.js';

export * from './contract-driver.js';

/** How a Causeway answer looks in a failed assertion. */
const show = (x: unknown) => JSON.stringify(x);

export function runContractSuite(driver: ProviderDriver): void {
  checkDriver(driver);
  const token = driver.method === 'token';
  // One test at a time (a caller may run providers side by side; subtests would inherit that): the cases share the provider's fake and institutions.
  describe(`provider contract: ${driver.name}`, { concurrency: 1 }, () => {
    let t: TestApp;
    before(async () => { t = await driver.start(); });
    after(async () => { await driver.stop(); });

    const { get, accountIds, transactionCount, jobs } = reads(() => t);
    /** The connection's newest job, once it is there and no longer queued or running. */
    const latestJobDone = async (c: Conn, type: string, after: Set<string> = new Set()) => {
      const job = await until(`a ${type} job on ${c.id}`, async () => (await jobs(c)).find((j) => j.type === type && !after.has(j.id)), 10_000);
      return t.waitForJob(job.id, undefined, 30_000);
    };
    const waitForStatus = (c: Conn, want: Outcome, what: string) =>
      until(`${c.id} ${want.status}/${want.reason} (${what})`, async () => {
        const con = await get(c);
        return con.status === want.status && con.statusReason === want.reason ? con : undefined;
      }, 15_000);

    const timelineTypes = async (c: Conn): Promise<string[]> => {
      const res = await t.api('GET', `${c.base}/timeline?limit=500`);
      assert.equal(res.status, 200, show(res.body));
      return res.body.data.map((e: any) => e.type);
    };
    /**
     * Consent that ended or is ending is on the timeline as the consent event, whoever told Causeway:
     * consent.* for a link made away from Causeway (openbanking, hosted), access.* for access Causeway
     * holds itself (a pasted token's, as a web login's).
     */
    const linksAway = driver.method === 'openbanking' || driver.method === 'hosted';
    const CONSENT_EVENT: Record<string, string> = Object.fromEntries(Object.entries({ consent_expired: 'consent.expired', consent_revoked: 'consent.revoked', access_expiring_soon: 'consent.expiring' })
      .map(([reason, type]) => [reason, linksAway ? type : type.replace(/^consent\./, 'access.')]));

    /** When the provider granted the link: the consent's date for a link made away; for a pasted token, its grant on the timeline. */
    async function assertGranted(c: Conn, con: any) {
      if (linksAway) assert.ok(con.consent?.grantedAt, `consent granted: ${show(con)}`);
      else assert.ok((await t.api('GET', `${c.base}/timeline?limit=500`)).body.data.some((e: any) => e.kind === 'consent' && /\.granted$/.test(e.type) && e.grantedAt), 'the grant on the timeline');
    }

    /** A refresh the app asks for; an institution's minimum interval between refreshes is waited out on the sandbox clock. */
    async function refresh(c: Conn): Promise<any> {
      for (let i = 0; i < 3; i++) {
        const res = await t.api('POST', `${c.base}/refresh`);
        if (res.status === 429 && res.body.code === 'refresh_budget_exhausted' && res.body.refreshBudget?.remainingToday > 0) {
          const wait = Number(res.headers['retry-after']);
          assert.ok(wait > 0 && wait <= 3600, `Retry-After ${wait}`);
          assert.equal((await t.api('POST', '/v1/sandbox/clock', { advanceBy: `PT${wait + 1}S` })).status, 200);
          continue;
        }
        // 200: a background refresh the clock's move made due is in flight, and is the answer.
        if (res.status === 200) assert.ok(res.body.job.trigger === 'scheduled' && ['queued', 'running'].includes(res.body.job.status), show(res.body));
        else assert.equal(res.status, 202, show(res.body));
        assert.equal(res.body.job.type, 'refresh');
        return res.body.job;
      }
      throw new Error('refresh refused three times');
    }

    function assertJobSucceeded(job: any) {
      assert.equal(job.status, 'succeeded', show(job));
      assert.equal(job.error, null);
      for (const step of job.steps) {
        assert.ok(step.status === 'success' || (step.status === 'skipped' && step.resultCode === 'not_supported'), `step ${step.name}: ${show(step)}`);
        assert.ok(step.startedAt && step.finishedAt, show(step));
      }
      for (const name of ['retrieve-accounts', 'retrieve-transactions']) {
        assert.equal(job.steps.find((s: any) => s.name === name)?.status, 'success', `${name} in ${show(job.steps)}`);
      }
    }

    /** Causeway's copy of the connection's data agrees with the provider's, where the fake can tell. */
    async function assertData(c: Conn) {
      const [ids, count] = [await accountIds(c), await transactionCount(c)];
      assert.ok(ids.length > 0, 'accounts stored');
      assert.ok(count > 0, 'transactions stored');
      const truth = driver.providerTruth?.(c);
      if (truth) assert.deepEqual({ accounts: ids.length, transactions: count }, truth, 'what the provider holds');
      return { ids, count };
    }

    /** A new user links by pasting a setup token, claimed at once: init and the first job, no page. */
    async function linkWithToken(): Promise<Conn> {
      const userId = await t.createUser();
      const { setupToken, ref } = await driver.newSetupToken!(t);
      const created = await t.api('POST', `/v1/users/${userId}/connections`, { institutionId: driver.institutionId, method: driver.method, setupToken });
      assert.equal(created.status, 202, show(created.body));
      assert.equal(created.body.connection.status, 'init');
      assert.equal(created.body.link, null, 'no page to send the user to');
      assert.equal(created.body.authorizationUrl, null);
      assert.equal(created.body.job?.type, 'create', show(created.body));
      const c: Conn = { userId, id: created.body.connection.id, base: `/v1/users/${userId}/connections/${created.body.connection.id}`, ref };
      const job = await t.waitForJob(created.body.job.id, undefined, 30_000);
      assert.equal(job.connectionId, c.id);
      assertJobSucceeded(job);
      return c;
    }

    /** A new user links through the provider's page (or a pasted token); answers once the first job is done. */
    async function link(): Promise<Conn> {
      if (token) return linkWithToken();
      const userId = await t.createUser();
      const created = await t.api('POST', `/v1/users/${userId}/connections`, { institutionId: driver.institutionId, method: driver.method });
      assert.equal(created.status, 201, show(created.body));
      const { connection, link: session } = created.body;
      assert.equal(connection.status, 'pre_init');
      assert.equal(created.body.job, null);
      assert.ok(session?.url && session.reference && Date.parse(session.expiresAt) > Date.now(), show(session));
      assert.equal(created.body.authorizationUrl, session.url);
      const c: Conn = { userId, id: connection.id, base: `/v1/users/${userId}/connections/${connection.id}`, ref: null };
      c.ref = await driver.finishLink!(t, session, 'approve');
      assertJobSucceeded(await latestJobDone(c, 'create'));
      return c;
    }

    /** A new user's connection brought in by import; answers once it is active. */
    async function imported(institution?: string): Promise<Conn> {
      const userId = await t.createUser();
      const { body, ref } = await driver.importBody(t, institution);
      const res = await t.api('POST', `/v1/users/${userId}/connections/import`, body);
      assert.equal(res.status, 202, show(res.body));
      const c: Conn = { userId, id: res.body.connection.id, base: `/v1/users/${userId}/connections/${res.body.connection.id}`, ref };
      assertJobSucceeded(await t.waitForJob(res.body.job.id, undefined, 30_000));
      await waitForStatus(c, { status: 'active', reason: null }, 'imported');
      return c;
    }

    /** Repair through the provider's page (update mode), or with a new setup token: same connection, same accounts. */
    async function repair(c: Conn, accountsBefore: string[]) {
      const seen = new Set((await jobs(c)).map((j) => j.id));
      if (token) {
        const { setupToken } = await driver.newSetupToken!(t, c);
        const res = await t.api('POST', `${c.base}/repair`, { setupToken });
        assert.equal(res.status, 202, show(res.body));
        assert.equal(res.body.connection.id, c.id);
        assert.equal(res.body.link, null, 'no page to send the user to');
        assert.equal(res.body.job?.type, 'repair', 'the new token is claimed at once and the job starts');
      } else {
        const res = await t.api('POST', `${c.base}/repair`);
        assert.equal(res.status, 200, show(res.body));
        assert.equal(res.body.connection.id, c.id);
        assert.equal(res.body.job, null, 'the job starts when the user is back');
        assert.ok(res.body.link?.url, show(res.body));
        await driver.finishLink!(t, res.body.link, 'approve');
      }
      assertJobSucceeded(await latestJobDone(c, 'repair', seen));
      const con = await waitForStatus(c, { status: 'active', reason: null }, 'repaired');
      const after = await accountIds(c);
      for (const id of accountsBefore) assert.ok(after.includes(id), `account ${id} kept its id through the repair`);
      const list = (await t.api('GET', `/v1/users/${c.userId}/connections`)).body.data;
      assert.deepEqual(list.map((x: any) => x.id), [c.id], 'never a second connection');
      return con;
    }

    it('imports a link the app already holds: active with accounts and transactions, the institution in the catalogue', async () => {
      const userId = await t.createUser();
      const { body, ref, institutionId } = await driver.importBody(t);
      if (driver.importFetchesInstitution) {
        assert.equal((await t.api('GET', `/v1/institutions/${institutionId}`)).status, 404, 'not in the catalogue before');
      }
      const res = await t.api('POST', `/v1/users/${userId}/connections/import`, body);
      assert.equal(res.status, 202, show(res.body));
      assert.equal(res.body.connection.status, 'init');
      assert.equal(res.body.connection.provider, driver.provider);
      assert.equal(res.body.connection.institution.id, institutionId);
      const c: Conn = { userId, id: res.body.connection.id, base: `/v1/users/${userId}/connections/${res.body.connection.id}`, ref };
      const job = await t.waitForJob(res.body.job.id, undefined, 30_000);
      assert.equal(job.type, 'import');
      assertJobSucceeded(job);
      const con = await get(c);
      assert.deepEqual([con.status, con.statusReason], ['active', null]);
      assert.ok(con.firstSyncedAt && con.lastSuccessfulSyncAt, show(con));
      await assertGranted(c, con);
      await assertData(c);
      const institution = await t.api('GET', `/v1/institutions/${institutionId}`);
      assert.equal(institution.status, 200, show(institution.body));
      assert.equal(institution.body.provider, driver.provider);
      assert.equal(institution.body.name, con.institution.name);
      const again = await t.api('POST', `/v1/users/${userId}/connections/import`, body);
      assert.equal(again.status, 409, 'the same token twice is the same link twice');
    });

    it('never makes a connection active from a token the provider did not issue', async () => {
      const userId = await t.createUser();
      const bad = await driver.badImportBody(t);
      const field = `body.${IMPORT_TOKEN_FIELDS.find((f) => f in bad) ?? 'accessToken'}`;
      const res = await t.api('POST', `/v1/users/${userId}/connections/import`, bad);
      if (res.status === 400) {
        assert.ok(res.body.errors?.some((e: any) => e.field === field), show(res.body));
        assert.deepEqual((await t.api('GET', `/v1/users/${userId}/connections`)).body.data, []);
        return;
      }
      assert.equal(res.status, 202, show(res.body));
      const job = await t.waitForJob(res.body.job.id);
      assert.deepEqual([job.status, job.error?.code], ['failed', 'invalid_credentials']);
      const con = (await t.api('GET', `/v1/users/${userId}/connections/${res.body.connection.id}`)).body;
      assert.deepEqual([con.status, con.statusReason], ['failed', 'invalid_credentials']);
    });

    it(`carries a connection through its life: create, refresh, login required, repair, unlink${driver.localRevoke ? ' (nothing to revoke at the provider: a notice)' : ''}, delete`, async () => {
      await driver.catalogueReady(t);
      // create ─► active
      const c = await link();
      const created = await get(c);
      assert.deepEqual([created.status, created.statusReason, created.userAction], ['active', null, 'none']);
      assert.equal(created.provider, driver.provider);
      assert.equal(created.method, driver.method);
      assert.equal(created.institution.id, driver.institutionId);
      assert.ok(created.firstSyncedAt && created.lastSuccessfulSyncAt, show(created));
      await assertGranted(c, created);
      if (driver.consentNeverExpires) {
        assert.deepEqual([created.consent?.expiresAt ?? null, created.accessExpiresAt], [null, null], `no end shown: ${driver.consentNeverExpires}`);
      }
      for (const a of ['refresh', 'unlink', 'delete']) assert.ok(created.allowedActions.includes(a), `${a} in ${created.allowedActions}`);
      const { ids } = await assertData(c);

      // refresh ─► new activity stored, nothing twice
      const before = await transactionCount(c);
      const added = (await driver.addActivity?.(c)) ?? 0;
      const job = await refresh(c);
      const refreshed = await t.waitForJob(job.id, undefined, 30_000);
      assertJobSucceeded(refreshed);
      assert.deepEqual(await accountIds(c), ids, 'the same accounts');
      if (added > 0) assert.equal(await transactionCount(c), before + added, 'the new transactions, once each');
      else assert.ok(await transactionCount(c) >= before);
      await assertData(c);
      const afterRefresh = await get(c);
      assert.deepEqual([afterRefresh.status, afterRefresh.statusReason], ['active', null]);
      assert.ok(afterRefresh.lastSuccessfulSyncAt >= created.lastSuccessfulSyncAt);

      // login required ─► reconnect_required, which only the user can mend
      const loginRequired = driver.loginRequired ?? { status: 'reconnect_required', reason: 'invalid_credentials' };
      await driver.breakLogin(t, c);
      if (driver.loginBreaksVia === 'refresh') {
        const found = await t.waitForJob((await refresh(c)).id, undefined, 30_000);
        assert.deepEqual([found.status, found.error?.code], ['failed', loginRequired.reason], show(found));
      }
      const broken = await waitForStatus(c, loginRequired, 'login required');
      assert.equal(broken.userAction, 'reconnect');
      assert.ok(broken.allowedActions.includes('repair'), show(broken.allowedActions));
      assert.deepEqual(await accountIds(c), ids, 'the data stays while broken');

      // repair ─► active, the same connection and accounts
      await repair(c, ids);
      assert.deepEqual(await accountIds(c), ids, 'the same account ids');
      await assertData(c);

      // unlink ─► the provider's access revoked (or, without a revoke call, a notice and nothing asked of it), data kept, no more syncing
      const asked = driver.localRevoke?.requestsFor(c);
      if (driver.revokedAtProvider) assert.equal(driver.revokedAtProvider(c), false);
      const unlinked = await t.api('POST', `${c.base}/unlink`);
      assert.equal(unlinked.status, 200, show(unlinked.body));
      assert.equal(unlinked.body.connection.status, 'unlinked');
      if (driver.revokedAtProvider) {
        await until('the provider asked to revoke', () => driver.revokedAtProvider!(c));
        assert.equal(unlinked.body.connection.revokeNotice ?? null, null, 'revoked at the provider: nothing left for the user to do');
      } else {
        assert.match(unlinked.body.connection.revokeNotice ?? '', /\S/, `a revokeNotice: ${show(unlinked.body.connection)}`);
        assert.equal((await get(c)).revokeNotice, unlinked.body.connection.revokeNotice);
        assert.equal(driver.localRevoke!.requestsFor(c), asked, 'nothing asked of the provider');
      }
      assert.deepEqual(await accountIds(c), ids, 'the data stays');
      assert.equal((await t.api('POST', `${c.base}/refresh`)).status, 409);

      // delete ─► deleted for good
      const deleted = await t.api('DELETE', c.base);
      assert.equal(deleted.status, 200, show(deleted.body));
      assert.equal(deleted.body.connection.status, 'deleted');
      assert.equal((await get(c)).status, 'deleted');
      for (const [method, path] of [['POST', `${c.base}/refresh`], ['POST', `${c.base}/repair`], ['POST', `${c.base}/unlink`], ['DELETE', c.base]] as const) {
        assert.equal((await t.api(method, path)).status, 409, `${method} ${path} on a deleted connection`);
      }
      if (driver.localRevoke) assert.equal(driver.localRevoke.requestsFor(c), asked, 'nothing asked of the provider by the delete');
    });

    if (driver.expireConsent) {
      const expireConsent = driver.expireConsent;
      it('tells a consent about to end: active / access_expiring_soon, and a repair renews it', async () => {
        await driver.catalogueReady(t);
        const c = await link();
        const { ids } = await assertData(c);
        const grantedBefore = (await get(c)).consent?.grantedAt;
        const { withinDays } = await expireConsent(t, c);
        const expiring = await waitForStatus(c, { status: 'active', reason: 'access_expiring_soon' }, 'consent expiring');
        assert.ok((await timelineTypes(c)).includes('consent.expiring'), 'consent.expiring on the timeline');
        const clockNow = Date.parse((await t.api('GET', '/v1/sandbox/clock')).body.now);
        const ends = Date.parse(expiring.consent?.expiresAt);
        assert.ok(ends > clockNow && ends <= clockNow + (withinDays + 1) * 86_400_000, `consent ends ${expiring.consent?.expiresAt}`);
        assert.ok(expiring.allowedActions.includes('repair') && expiring.allowedActions.includes('refresh'), show(expiring.allowedActions));
        const renewed = await repair(c, ids);
        assert.deepEqual(await accountIds(c), ids, 'the same account ids');
        assert.ok(renewed.consent.expiresAt === null || Date.parse(renewed.consent.expiresAt) > ends, `renewed until ${renewed.consent.expiresAt}`);
        assert.ok(Date.parse(renewed.consent.grantedAt) >= Date.parse(grantedBefore), 'the consent is granted anew');
      });
    }

    for (const refusal of driver.claimRefusals ?? []) {
      it(`a setup token the provider refuses (${refusal.name}) answers 400 invalid_setup_token and creates nothing`, async () => {
        await driver.catalogueReady(t);
        const userId = await t.createUser();
        const setupToken = await refusal.setupToken(t);
        const res = await t.api('POST', `/v1/users/${userId}/connections`, { institutionId: driver.institutionId, method: driver.method, setupToken });
        assert.equal(res.status, 400, show(res.body));
        assert.equal(res.body.code, 'invalid_setup_token', show(res.body));
        assert.ok(res.body.errors?.some((e: any) => e.field === 'body.setupToken'), show(res.body));
        assert.match(res.body.detail ?? res.body.message ?? '', refusal.message);
        assert.deepEqual((await t.api('GET', `/v1/users/${userId}/connections`)).body.data, [], 'no connection');
        assert.equal(res.body.connection, undefined);
      });
    }

    for (const failure of driver.linkFailures) {
      it(`a link refused at the provider (${failure.name}) ends ${failure.expect.status} / ${failure.expect.reason}`, async () => {
        await driver.catalogueReady(t);
        const userId = await t.createUser();
        const created = await t.api('POST', `/v1/users/${userId}/connections`, { institutionId: driver.institutionId, method: driver.method });
        assert.equal(created.status, 201, show(created.body));
        const c: Conn = { userId, id: created.body.connection.id, base: `/v1/users/${userId}/connections/${created.body.connection.id}`, ref: null };
        await driver.finishLink!(t, created.body.link, failure.action);
        const con = await waitForStatus(c, failure.expect, failure.name);
        assert.ok(con.allowedActions.includes('repair'), 'it can be tried again');
        assert.deepEqual((await jobs(c)).length, 0, 'no job ran');
        assert.deepEqual(await accountIds(c), []);
      });
    }

    describe('errors', () => {
      for (const e of driver.errors) {
        const recover = e.recover ?? (e.expect.status === 'reconnect_required' ? 'repair' : 'refresh');
        it(`${e.name} ─► ${e.expect.status} / ${e.expect.reason}${recover === 'none' ? '' : `, then ${recover} restores it`}`, async () => {
          const c = await imported(e.institution);
          const ids = await accountIds(c);
          const seen = new Set((await jobs(c)).map((j) => j.id));
          await e.arrange(t, c);
          if ((e.via ?? 'refresh') === 'refresh') {
            const queued = await refresh(c);
            seen.add(queued.id);
            const want = e.expect.job ?? { status: 'failed' };
            const job = want.status === 'queued'
              ? await t.waitForJob(queued.id, (j) => j.status === 'queued' && j.attempts >= (want.attempts ?? 1) && (!want.step || j.steps.some((s: any) => s.name === want.step!.name && s.resultCode === want.step!.resultCode)), 15_000)
              : await t.waitForJob(queued.id, undefined, 30_000);
            assert.equal(job.status, want.status, show(job));
            if (want.errorCode !== undefined) assert.equal(job.error?.code ?? null, want.errorCode, show(job));
            if (want.attempts !== undefined) assert.equal(job.attempts, want.attempts, show(job));
            if (want.step) assert.ok(job.steps.some((s: any) => s.name === want.step!.name && s.resultCode === want.step!.resultCode), show(job.steps));
          }
          const con = await waitForStatus(c, e.expect, e.name);
          const userAction = e.expect.status === 'reconnect_required' ? 'reconnect' : e.expect.status === 'degraded' ? 'wait' : undefined;
          if (userAction) assert.equal(con.userAction, userAction, show(con));
          const consentEvent = e.expect.reason ? CONSENT_EVENT[e.expect.reason] : undefined;
          if (consentEvent) assert.ok((await timelineTypes(c)).includes(consentEvent), `${consentEvent} on the timeline: ${await timelineTypes(c)}`);
          assert.deepEqual(await accountIds(c), ids, 'the data stays');
          await e.verify?.(t, c);
          await e.cleanup?.(t, c);
          if (recover === 'refresh') {
            const again = await refresh(c);
            assertJobSucceeded(await t.waitForJob(again.id, undefined, 30_000));
            await waitForStatus(c, { status: 'active', reason: null }, 'refreshed after the error');
          } else if (recover === 'repair') {
            await repair(c, ids);
          }
          if (recover !== 'none') {
            const after = (await assertData(c)).ids;
            if (e.moreAccountsAfterRecovery) assert.ok(after.length > ids.length, `the new accounts arrived: ${ids.length} then ${after.length}`);
            else assert.deepEqual(after, ids, 'the same accounts');
          }
        });
      }
    });
  });
}
