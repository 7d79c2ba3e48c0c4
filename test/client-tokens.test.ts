/**
 * Client tokens and operator sign-in (issue 6): a client token works only on its own user's
 * connect and manage calls, for its scopes, until it expires; everything else refuses it. An
 * operator's session acts for the application as an API key does.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { requestForLog } from '../src/logging.js';
import { CLIENT_TOKEN_ROUTES } from '../src/http/auth.js';
import { createOperator } from '../src/services/access.js';
import { systemClock } from '../src/domain/clock.js';
import { findDefaultApplication } from '../src/db/repos/applications.js';
import { startTestApp, type TestApp } from './helpers/app.js';

const GOOD = { institutionId: 'ins_sandbox_web', method: 'web', credentials: { login: 'user_good', password: 'pass_good' } };

describe('client tokens', () => {
  let t: TestApp;
  before(async () => { t = await startTestApp(); });
  after(async () => { await t.close(); });
  const as = (token: string) => ({ authorization: `Bearer ${token}` });
  async function mint(userId: string, body: Record<string, unknown> = {}) {
    const res = await t.api('POST', `/v1/users/${userId}/client-tokens`, body);
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body as { token: string; expiresAt: string; scopes: string[] };
  }
  async function linked(userId: string) {
    const res = await t.api('POST', `/v1/users/${userId}/connections`, GOOD);
    await t.waitForJob(res.body.job.id);
    return { connectionId: res.body.connection.id as string, jobId: res.body.job.id as string };
  }

  it('mints a token bound to one user and scopes, for 30 minutes by default, and says what it is for', async () => {
    const userId = await t.createUser();
    const minted = await mint(userId);
    assert.match(minted.token, /^ct_[A-Za-z0-9_-]{40,}$/);
    assert.deepEqual(minted.scopes, ['connect', 'manage']);
    const ttl = Date.parse(minted.expiresAt) - Date.now();
    assert.ok(ttl > 29 * 60_000 && ttl <= 30 * 60_000, `expires in ${ttl / 60_000} min`);
    const me = await t.api('GET', '/v1/client-token', undefined, as(minted.token));
    assert.equal(me.status, 200);
    assert.deepEqual([me.body.userId, me.body.scopes], [userId, ['connect', 'manage']]);
    // An API key has no user to describe; a client token cannot mint another.
    assert.equal((await t.api('GET', '/v1/client-token')).body.code, 'client_token_not_allowed');
    assert.equal((await t.api('POST', `/v1/users/${userId}/client-tokens`, {}, as(minted.token))).body.code, 'client_token_not_allowed');
    assert.equal((await t.api('POST', `/v1/users/${userId}/client-tokens`, { scopes: ['admin'] })).body.code, 'validation_failed');
    assert.equal((await t.api('POST', '/v1/users/usr_nobody/client-tokens', {})).status, 404);
  });

  it('links, follows the job and manages the connection of its own user', async () => {
    const userId = await t.createUser();
    const { token } = await mint(userId);
    const created = await t.api('POST', `/v1/users/${userId}/connections`, GOOD, as(token));
    assert.equal(created.status, 202, JSON.stringify(created.body));
    const jobId = created.body.job.id;
    for (let i = 0; i < 200; i++) {
      if ((await t.api('GET', `/v1/jobs/${jobId}`, undefined, as(token))).body.status === 'succeeded') break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const base = `/v1/users/${userId}/connections/${created.body.connection.id}`;
    assert.equal((await t.api('GET', base, undefined, as(token))).body.status, 'active');
    assert.equal((await t.api('GET', `/v1/users/${userId}/accounts`, undefined, as(token))).status, 200);
    assert.equal((await t.api('GET', `${base}/jobs`, undefined, as(token))).status, 200);
    const refreshed = await t.api('POST', `${base}/refresh`, undefined, as(token));
    assert.equal(refreshed.status, 202, JSON.stringify(refreshed.body));
    await t.waitForJob(refreshed.body.job.id);
    assert.equal((await t.api('POST', `${base}/unlink`, undefined, as(token))).body.connection.status, 'unlinked');
    assert.equal((await t.api('DELETE', `${base}?data=purge`, undefined, as(token))).status, 200);
  });

  it('cannot read or touch another user’s connections, jobs or data', async () => {
    const mine = await t.createUser();
    const theirs = await t.createUser();
    const { connectionId, jobId } = await linked(theirs);
    const { token } = await mint(mine);
    const other = `/v1/users/${theirs}/connections`;
    for (const [method, url] of [
      ['GET', other], ['GET', `${other}/${connectionId}`], ['GET', `${other}/${connectionId}/jobs`], ['POST', `${other}/${connectionId}/refresh`],
      ['POST', `${other}/${connectionId}/unlink`], ['DELETE', `${other}/${connectionId}`], ['GET', `/v1/users/${theirs}/accounts`],
      ['GET', `/v1/jobs/${jobId}`], ['POST', `/v1/jobs/${jobId}/mfa`],
    ] as const) {
      const res = await t.api(method, url, method === 'POST' ? (url.endsWith('/mfa') ? { code: '1234' } : {}) : undefined, as(token));
      assert.equal(res.status, 404, `${method} ${url}: ${JSON.stringify(res.body)}`);
    }
    // Their own connection list is theirs alone: the other user's connection is not in it.
    assert.deepEqual((await t.api('GET', `/v1/users/${mine}/connections`, undefined, as(token))).body.data, []);
    assert.equal((await t.api('GET', `${other}/${connectionId}`)).body.status, 'active', 'untouched');
  });

  it('is refused everywhere else, and where its scope does not reach', async () => {
    const userId = await t.createUser();
    const { connectionId } = await linked(userId);
    const { token } = await mint(userId);
    for (const [method, url] of [
      ['GET', '/v1/users'], ['GET', `/v1/users/${userId}`], ['DELETE', `/v1/users/${userId}`], ['GET', '/v1/events'], ['GET', '/v1/webhook-endpoints'],
      ['GET', '/v1/application'], ['GET', `/v1/users/${userId}/transactions`], ['GET', `/v1/users/${userId}/connections/${connectionId}/profile`],
      ['POST', `/v1/users/${userId}/connections/${connectionId}/purge`], ['GET', '/v1/connections'], ['GET', '/v1/overview'], ['POST', '/v1/sandbox/clock'],
    ] as const) {
      const res = await t.api(method, url, method === 'POST' ? {} : undefined, as(token));
      assert.deepEqual([res.status, res.body.code], [403, 'client_token_not_allowed'], `${method} ${url}`);
    }
    const connectOnly = (await mint(userId, { scopes: ['connect'] })).token;
    const manageOnly = (await mint(userId, { scopes: ['manage'] })).token;
    const refresh = await t.api('POST', `/v1/users/${userId}/connections/${connectionId}/refresh`, undefined, as(connectOnly));
    assert.deepEqual([refresh.status, refresh.body.code, refresh.body.requiredScopes], [403, 'client_token_not_allowed', ['manage']]);
    assert.equal((await t.api('POST', `/v1/users/${userId}/connections`, GOOD, as(manageOnly))).status, 403, 'linking needs connect');
    assert.equal((await t.api('GET', `/v1/users/${userId}/connections`, undefined, as(connectOnly))).status, 200, 'reading the list is both');
    // Every route in the table exists, so a renamed route cannot silently drop out of it.
    for (const route of Object.keys(CLIENT_TOKEN_ROUTES)) {
      const [method, url] = route.split(' ') as [string, string];
      assert.ok(t.app.hasRoute({ method: method as 'GET', url }), `${route} is a route`);
    }
  });

  it('never reaches a log line: the pages’ ?token= is redacted from logged URLs', () => {
    assert.equal(requestForLog({ method: 'GET', url: '/manage?token=ct_secret123&x=1' }).url, '/manage?token=[redacted]&x=1');
    assert.equal(requestForLog({ method: 'GET', url: '/connect?state=s&token=ct_secret123' }).url, '/connect?state=s&token=[redacted]');
  });

  it('stops working when it expires, with a message that says to get a new one', async () => {
    const userId = await t.createUser();
    const { token } = await mint(userId, { expiresInSeconds: 60 });
    assert.equal((await t.api('GET', '/v1/client-token', undefined, as(token))).status, 200);
    const realNow = t.core.clock.now;
    t.core.clock.now = () => new Date(Date.now() + 61_000);
    try {
      const res = await t.api('GET', '/v1/client-token', undefined, as(token));
      assert.equal(res.status, 401);
      assert.match(res.body.detail, /expired.*new one/);
    } finally {
      t.core.clock.now = realNow;
    }
    assert.equal((await t.api('GET', '/v1/client-token', undefined, as('ct_' + 'x'.repeat(43)))).status, 401);
  });

  it('an operator signs in with email and password and acts for the application; a wrong password learns nothing', async () => {
    const application = (await findDefaultApplication(t.core.db))!;
    const { password } = await createOperator(t.core.db, systemClock, application, 'Ops@Example.com');
    const bad = await t.api('POST', '/v1/operator-sessions', { email: 'ops@example.com', password: 'nope' }, { authorization: '' });
    const unknown = await t.api('POST', '/v1/operator-sessions', { email: 'who@example.com', password }, { authorization: '' });
    assert.deepEqual([bad.status, bad.body.code, unknown.status, unknown.body.detail], [401, 'invalid_login', 401, bad.body.detail]);
    const ok = await t.api('POST', '/v1/operator-sessions', { email: 'ops@example.com', password }, { authorization: '' });
    assert.equal(ok.status, 201, JSON.stringify(ok.body));
    assert.match(ok.body.token, /^os_/);
    const session = { authorization: `Bearer ${ok.body.token}` };
    assert.equal((await t.api('GET', '/v1/application', undefined, session)).body.id, application.id);
    const userId = await t.createUser();
    assert.equal((await t.api('POST', `/v1/users/${userId}/client-tokens`, {}, session)).status, 201);
    const overview = await t.api('GET', '/v1/overview', undefined, session);
    assert.equal(overview.status, 200);
    assert.ok(Object.values(overview.body.connectionsByStatus as Record<string, number>).reduce((a, b) => a + b, 0) > 0);
    const list = await t.api('GET', '/v1/connections?status=active&institutionId=ins_sandbox_web', undefined, session);
    assert.ok(list.body.data.length > 0 && list.body.data.every((c: any) => c.status === 'active' && c.institution.id === 'ins_sandbox_web'));
    const found = await t.api('GET', `/v1/users?search=${userId.slice(-8).toUpperCase()}`, undefined, session);
    assert.deepEqual(found.body.data.map((u: any) => u.id), [userId], 'search by part of the id, any case');
  });
});
