/**
 * The duplicate-credentials pause across users (issue 11 item 13): one bank login entered by two
 * users of one application is one lockout risk, so the second connection waits six minutes; two
 * applications never see each other's logins. Logins are compared by their keyed hash. The
 * sandbox's magic logins (user_good, ...) are shared test personas: they pause per user only.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { eq } from 'drizzle-orm';
import { connections } from '../src/db/schema.js';
import { systemClock } from '../src/domain/clock.js';
import { createApiKey, createApplication } from '../src/services/applications.js';
import { startTestApp, type TestApp } from './helpers/app.js';

const MINUTE = 60_000;

describe('duplicate credentials across the application', () => {
  let t: TestApp;
  let otherApp: Record<string, string>;
  before(async () => {
    t = await startTestApp();
    const other = await createApplication(t.core.db, systemClock, { name: 'Other tenant', environment: 'sandbox' });
    otherApp = { authorization: `Bearer ${(await createApiKey(t.core.db, systemClock, other, 'other')).key}` };
  });
  after(async () => { await t.close(); });

  async function createUser(headers?: Record<string, string>) {
    const res = await t.api('POST', '/v1/users', { email: 'jo@example.com' }, headers);
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body.id as string;
  }
  async function createWeb(userId: string, login: string, institutionId = 'ins_sandbox_web', headers?: Record<string, string>) {
    const res = await t.api('POST', `/v1/users/${userId}/connections`, { institutionId, method: 'web', credentials: { login, password: 'pass_good' } }, headers);
    assert.equal(res.status, 202, JSON.stringify(res.body));
    return res.body as { connection: { id: string; status: string; statusReason: string | null; pausedUntil: string | null }; job: { id: string } };
  }
  const now = async () => Date.parse((await t.api('GET', '/v1/sandbox/clock')).body.now);

  it('pauses the second of two users of one application who enter the same login at the same institution, then lets it proceed', async () => {
    const first = await createWeb(await createUser(), 'jo.citizen');
    assert.equal(first.connection.pausedUntil, null);
    assert.equal((await t.waitForJob(first.job.id)).status, 'succeeded');
    const started = await now();
    const secondUser = await createUser();
    const second = await createWeb(secondUser, 'jo.citizen');
    assert.deepEqual([second.connection.status, second.connection.statusReason], ['pending', 'duplicate_credentials']);
    const pausedFor = Date.parse(second.connection.pausedUntil!) - started;
    assert.ok(pausedFor >= 6 * MINUTE && pausedFor < 6 * MINUTE + 5_000, `paused for ${pausedFor} ms`);
    // Another login, or the same login at another institution, is another bank login.
    assert.equal((await createWeb(await createUser(), 'sam.citizen')).connection.pausedUntil, null);
    assert.equal((await createWeb(await createUser(), 'jo.citizen', 'ins_sandbox_universal')).connection.pausedUntil, null);
    // Compared by the keyed hash: the login itself is stored nowhere in the clear.
    const [a] = await t.core.db.select().from(connections).where(eq(connections.id, first.connection.id));
    const [b] = await t.core.db.select().from(connections).where(eq(connections.id, second.connection.id));
    assert.equal(a!.loginHash, b!.loginHash);
    assert.ok(!a!.loginHash!.includes('jo.citizen'));
    assert.equal((await t.api('POST', '/v1/sandbox/clock', { advanceBy: 'PT6M1S' })).status, 200);
    assert.equal((await t.waitForJob(second.job.id)).status, 'succeeded');
    const done = (await t.api('GET', `/v1/users/${secondUser}/connections/${second.connection.id}`)).body;
    assert.deepEqual([done.status, done.statusReason, done.pausedUntil], ['active', null, null]);
  });

  it('never compares logins across applications', async () => {
    assert.equal((await t.waitForJob((await createWeb(await createUser(), 'alex.citizen')).job.id)).status, 'succeeded');
    const elsewhere = await createWeb(await createUser(otherApp), 'alex.citizen', 'ins_sandbox_web', otherApp);
    assert.deepEqual([elsewhere.connection.statusReason, elsewhere.connection.pausedUntil], [null, null]);
  });

  it('does not count a failed connection with that login', async () => {
    const bad = await t.api('POST', `/v1/users/${await createUser()}/connections`, {
      institutionId: 'ins_sandbox_web', method: 'web', credentials: { login: 'kim.citizen', password: 'wrong' },
    });
    assert.equal((await t.waitForJob(bad.body.job.id)).status, 'failed');
    assert.equal((await createWeb(await createUser(), 'kim.citizen')).connection.pausedUntil, null);
  });

  it('pauses exactly one of two users entering one login at the same moment', async () => {
    for (let round = 0; round < 10; round++) {
      const [u1, u2] = [await createUser(), await createUser()];
      const both = await Promise.all([createWeb(u1, `race.${round}`), createWeb(u2, `race.${round}`)]);
      assert.equal(both.filter((r) => r.connection.pausedUntil !== null).length, 1, `round ${round}: ${JSON.stringify(both.map((r) => r.connection))}`);
    }
  });

  it("pauses the sandbox's shared test personas per user only", async () => {
    const first = await createWeb(await createUser(), 'user_good');
    await t.waitForJob(first.job.id);
    assert.equal((await createWeb(await createUser(), 'user_good')).connection.pausedUntil, null, 'another user');
  });

  it('refuses an access token another user of the application already imported, without naming that connection', async () => {
    const token = (await t.api('POST', '/v1/sandbox/tokens', { institutionId: 'ins_sandbox_openbank' })).body.accessToken as string;
    const first = await t.api('POST', `/v1/users/${await createUser()}/connections/import`, { institutionId: 'ins_sandbox_openbank', accessToken: token });
    assert.equal(first.status, 202, JSON.stringify(first.body));
    const second = await t.api('POST', `/v1/users/${await createUser()}/connections/import`, { institutionId: 'ins_sandbox_openbank', accessToken: token });
    assert.equal(second.status, 409, JSON.stringify(second.body));
    assert.equal(second.body.code, 'conflicting_connection');
    assert.ok(!JSON.stringify(second.body).includes(first.body.connection.id), 'the other user’s connection is not named');
  });
});
