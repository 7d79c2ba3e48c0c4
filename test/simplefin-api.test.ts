/**
 * SimpleFIN through Causeway's HTTP API, beyond the provider contract (test/contract-simplefin.test.ts):
 * a setup token claimed once, forged tokens and claim URLs at private addresses refused before
 * anything is created (and, for the address guard, before any request), the access URL in no
 * answer, event, job or journal, unlink asking the bridge nothing, and what the refusals tell the
 * user to do being something the connection allows.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { eq } from 'drizzle-orm';
import { connections, events, jobs, providerCalls } from '../src/db/schema.js';
import { insertJobUnlessLive } from '../src/db/repos/jobs.js';
import { newJobRow } from '../src/services/connections.js';
import { startSimpleFinFake, type SimpleFinFake } from './fakes/simplefin/index.js';
import { startTestApp, type TestApp } from './helpers/app.js';

const INSTITUTION = 'ins_simplefin_bridge';

let t: TestApp;
let fake: SimpleFinFake;

before(async () => {
  t = await startTestApp({ config: { allowPrivateAddresses: true } });
  fake = await startSimpleFinFake();
});
after(async () => {
  await fake?.stop();
  await t?.close();
});

const show = (x: unknown) => JSON.stringify(x);
const create = (userId: string, setupToken: string) => t.api('POST', `/v1/users/${userId}/connections`, { institutionId: INSTITUTION, method: 'token', setupToken });
const connectionsOf = async (userId: string) => (await t.api('GET', `/v1/users/${userId}/connections`)).body.data as any[];
const claimCalls = () => fake.calls.filter((c) => c.path.startsWith('/simplefin/claim/'));

/** A refusal of the pasted token: 400 invalid_setup_token on the setupToken field, saying `what`. */
function assertRefused(res: { status: number; body: any }, what: RegExp) {
  assert.equal(res.status, 400, show(res.body));
  assert.equal(res.body.code, 'invalid_setup_token', show(res.body));
  assert.ok(res.body.errors?.some((e: any) => e.field === 'body.setupToken'), show(res.body));
  assert.match(res.body.detail, what);
}

/** A new user's active connection from a fresh setup token; answers its ids and the bridge user. */
async function connected(): Promise<{ userId: string; id: string; base: string; user: string }> {
  const userId = await t.createUser();
  const { token, user } = fake.setupToken();
  const res = await create(userId, token);
  assert.equal(res.status, 202, show(res.body));
  const job = await t.waitForJob(res.body.job.id, undefined, 30_000);
  assert.equal(job.status, 'succeeded', show(job));
  return { userId, id: res.body.connection.id, base: `/v1/users/${userId}/connections/${res.body.connection.id}`, user };
}

/** The access URL the bridge gave for a user's newest claim. */
const accessOf = (user: string) => fake.accessUrlOf(fake.apps.filter((a) => a.user === user).at(-1)!);

/** Runs with the address guard as a deployment without CAUSEWAY_ALLOW_PRIVATE_ADDRESSES has it. */
async function withoutPrivateAddresses<T>(f: () => Promise<T>): Promise<T> {
  t.core.config.allowPrivateAddresses = false;
  try {
    return await f();
  } finally {
    t.core.config.allowPrivateAddresses = true;
  }
}

describe('SimpleFIN setup tokens through the API', () => {
  it('claims a setup token once: the same token again answers 400 invalid_setup_token and creates no connection', async () => {
    const first = await t.createUser();
    const second = await t.createUser();
    const { token } = fake.setupToken();
    const claimsBefore = claimCalls().length;
    const res = await create(first, token);
    assert.equal(res.status, 202, show(res.body));
    for (const userId of [first, second]) {
      assertRefused(await create(userId, token), /already claimed or is not valid: create a new one at your bridge/);
    }
    assert.deepEqual(claimCalls().slice(claimsBefore).map((c) => c.status), [200, 403, 403], 'claimed once, then refused by the bridge');
    assert.deepEqual((await connectionsOf(first)).map((c) => c.id), [res.body.connection.id], 'the first claim\'s connection only');
    assert.deepEqual(await connectionsOf(second), []);
  });

  it('refuses a forged setup token with a message saying what to do, creating nothing', async () => {
    const userId = await t.createUser();
    const forged = Buffer.from(`${fake.url}/claim/forged-by-someone`).toString('base64');
    assertRefused(await create(userId, forged), /create a new one at your bridge/);
    assertRefused(await create(userId, 'my-bank-password-123!'), /not a SimpleFIN setup token: paste the whole token your SimpleFIN bridge showed/);
    assert.deepEqual(await connectionsOf(userId), []);
  });

  it('refuses a claim URL at a private address unless private addresses are allowed: 400, nothing created, no request made', async () => {
    const userId = await t.createUser();
    const port = new URL(fake.url).port;
    // This test's attempts: claims, and the import's access URL, under a user the fake never issues (its apps are app1, app2, …,
    // and the first test's connection, app1's, may still be syncing).
    const probe = 'probe-import';
    const ours = () => fake.calls.filter((c) => c.path.startsWith('/simplefin/claim/') || c.username === probe).length;
    const callsBefore = ours();
    const { token, claimUrl } = fake.setupToken();
    await withoutPrivateAddresses(async () => {
      for (const host of ['127.0.0.1', 'localhost', '[::1]', '10.0.0.7']) {
        const https = Buffer.from(claimUrl.replace(`http://127.0.0.1:${port}`, `https://${host}:${port}`)).toString('base64');
        assertRefused(await create(userId, https), /private, loopback or reserved address; the operator can allow these with CAUSEWAY_ALLOW_PRIVATE_ADDRESSES=true/);
      }
      // The fake's own token is plain http, which only a deployment allowing private addresses takes.
      assertRefused(await create(userId, token), /must use https/);
      const imported = await t.api('POST', `/v1/users/${userId}/connections/import`, { provider: 'simplefin', accessUrl: fake.url.replace('http://', `http://${probe}:secret@`) });
      assert.equal(imported.status, 400, show(imported.body));
      assert.ok(imported.body.errors?.some((e: any) => e.field === 'body.accessUrl'), show(imported.body));
    });
    assert.equal(ours(), callsBefore, 'no request reached the bridge');
    assert.deepEqual(await connectionsOf(userId), []);
    // Nothing was spent: with private addresses allowed, the same token links.
    const allowed = await create(userId, token);
    assert.equal(allowed.status, 202, show(allowed.body));
  });

  it('refuses a claimed token on repair and leaves the connection as it was', async () => {
    const c = await connected();
    fake.revoke(accessOf(c.user));
    const refresh = await t.api('POST', `${c.base}/refresh`);
    assert.equal(refresh.status, 202, show(refresh.body));
    await t.waitForJob(refresh.body.job.id);
    const broken = (await t.api('GET', c.base)).body;
    assert.deepEqual([broken.status, broken.statusReason], ['reconnect_required', 'consent_revoked']);
    const jobsBefore = (await t.api('GET', `${c.base}/jobs`)).body.data.length;
    const { token, claimUrl } = fake.setupToken({ user: c.user });
    assert.equal((await fetch(claimUrl, { method: 'POST' })).status, 200, 'claimed elsewhere first');
    assertRefused(await t.api('POST', `${c.base}/repair`, { setupToken: token }), /already claimed/);
    const after = (await t.api('GET', c.base)).body;
    assert.deepEqual([after.status, after.statusReason], ['reconnect_required', 'consent_revoked']);
    assert.equal((await t.api('GET', `${c.base}/jobs`)).body.data.length, jobsBefore, 'no repair job');
  });

  it('claims nothing for a repair the connection\'s status refuses: 409, the setup token still unclaimed', async () => {
    const c = await connected();
    const claimsBefore = claimCalls().length;
    const { token } = fake.setupToken({ user: c.user });
    const res = await t.api('POST', `${c.base}/repair`, { setupToken: token });
    assert.equal(res.status, 409, show(res.body));
    assert.deepEqual(claimCalls().slice(claimsBefore).map((x) => x.status), [], 'a token the user made is not spent on a repair that cannot happen');
  });

  it('claims nothing for a repair a job in flight refuses: 409, the setup token still unclaimed', async () => {
    const c = await connected();
    fake.setErrors(c.user, ['Connection to Example Bank may need attention']);
    const failing = await t.api('POST', `${c.base}/refresh`);
    assert.equal((await t.waitForJob(failing.body.job.id)).error?.code, 'user_action_required');
    fake.setErrors(c.user, []);
    // A refresh the app asked for, still queued: the repair waits for it.
    const [row] = await t.core.db.select().from(connections).where(eq(connections.id, c.id));
    await insertJobUnlessLive(t.core.db, newJobRow(row!, 'refresh', 'api', ['accounts'], new Date()));
    const claimsBefore = claimCalls().length;
    const { token } = fake.setupToken({ user: c.user });
    const res = await t.api('POST', `${c.base}/repair`, { setupToken: token });
    assert.equal(res.status, 409, show(res.body));
    assert.equal(res.body.code, 'job_in_progress');
    assert.deepEqual(claimCalls().slice(claimsBefore).map((x) => x.status), [], 'not spent while a job runs');
  });
});

describe('SimpleFIN secrets and revoke through the API', () => {
  it('never shows the access URL or setup token in any API answer, event, job or provider-call journal', async () => {
    // A life with every kind of record: a token link, an import, refreshes, a failure, a repair, unlink and delete.
    const linked = await connected();
    const userB = await t.createUser();
    const { claimUrl, user: bridgeB, token: tokenB } = fake.setupToken();
    const accessB = await (await fetch(claimUrl, { method: 'POST' })).text();
    const imported = await t.api('POST', `/v1/users/${userB}/connections/import`, { provider: 'simplefin', accessUrl: accessB });
    assert.equal(imported.status, 202, show(imported.body));
    await t.waitForJob(imported.body.job.id, undefined, 30_000);
    const baseB = `/v1/users/${userB}/connections/${imported.body.connection.id}`;
    fake.setErrors(bridgeB, ['Connection to Example Bank may need attention']);
    const failing = await t.api('POST', `${baseB}/refresh`);
    assert.equal(failing.status, 202, show(failing.body));
    assert.equal((await t.waitForJob(failing.body.job.id)).error?.code, 'user_action_required');
    fake.setErrors(bridgeB, []);
    const repairToken = fake.setupToken({ user: bridgeB }).token;
    const repaired = await t.api('POST', `${baseB}/repair`, { setupToken: repairToken });
    assert.equal(repaired.status, 202, show(repaired.body));
    assert.equal((await t.waitForJob(repaired.body.job.id, undefined, 30_000)).status, 'succeeded');
    const refusedToken = fake.setupToken().token;
    await fetch(Buffer.from(refusedToken, 'base64').toString(), { method: 'POST' });
    assert.equal((await create(userB, refusedToken)).status, 400);
    assert.equal((await t.api('POST', `${linked.base}/unlink`)).status, 200);
    assert.equal((await t.api('DELETE', baseB)).status, 200);

    const apps = fake.apps.filter((a) => a.user === linked.user || a.user === bridgeB);
    assert.ok(apps.length >= 3, 'the link, the import and the repair each hold an access URL');
    const secrets = [
      ...apps.flatMap((a) => [fake.accessUrlOf(a), a.password, `${a.username}:${a.password}`, Buffer.from(`${a.username}:${a.password}`).toString('base64')]),
      tokenB, repairToken, refusedToken, ...[tokenB, repairToken, refusedToken].map((x) => new URL(Buffer.from(x, 'base64').toString()).pathname),
    ];

    const answers: unknown[] = [];
    const read = async (path: string) => {
      const res = await t.api('GET', path);
      assert.equal(res.status, 200, `${path}: ${show(res.body)}`);
      answers.push(res.body);
      return res.body;
    };
    for (const [userId, base] of [[linked.userId, linked.base], [userB, baseB]] as const) {
      await read(`/v1/users/${userId}`);
      await read(`/v1/users/${userId}/connections`);
      await read(base);
      await read(`${base}/timeline?limit=500`);
      await read(`/v1/users/${userId}/accounts`);
      await read(`/v1/users/${userId}/transactions?limit=500`);
      for (const job of (await read(`${base}/jobs`)).data) await read(`/v1/jobs/${job.id}`);
    }
    for (let cursor: string | null = null, page = 0; page === 0 || cursor; page++) {
      cursor = (await read(`/v1/events?limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`)).nextCursor;
    }
    await read(`/v1/institutions/${INSTITUTION}`);
    const stored = {
      events: await t.core.db.select().from(events),
      jobs: await t.core.db.select().from(jobs),
      providerCalls: await t.core.db.select().from(providerCalls),
    };
    assert.ok(stored.providerCalls.some((p) => p.operation === 'claimToken') && stored.providerCalls.some((p) => p.outcome === 'error'), 'the journal has the claims and the failure');
    const everything = { answers, stored };
    const text = JSON.stringify(everything);
    assert.ok(text.includes('may need attention'), 'the bridge\'s words are there: the search reads the failure');
    for (const secret of secrets) assert.equal(text.includes(secret), false, `a secret (${secret.length} characters) shown`);
  });

  it('keeps the access URL out of a failure even when the bridge\'s own error text repeats it', async () => {
    const c = await connected();
    const access = accessOf(c.user);
    const app = fake.apps.filter((a) => a.user === c.user).at(-1)!;
    fake.setErrors(c.user, [`Request to ${access}/accounts failed: try again later`]);
    const res = await t.api('POST', `${c.base}/refresh`);
    assert.equal(res.status, 202, show(res.body));
    const job = await t.waitForJob(res.body.job.id);
    assert.equal(job.error?.code, 'institution_unavailable', show(job));
    assert.match(job.error.message, /try again later/, 'the bridge\'s words are kept');
    assert.equal(job.error.message.includes(app.password), false, `the job's message names the access URL's password: ${job.error.message.replace(app.password, '<password>')}`);
  });

  it('unlink answers the revokeNotice and asks the bridge nothing; nor does delete', async () => {
    const c = await connected();
    const callsBefore = fake.calls.length;
    const res = await t.api('POST', `${c.base}/unlink`);
    assert.equal(res.status, 200, show(res.body));
    assert.equal(res.body.connection.status, 'unlinked');
    assert.match(res.body.connection.revokeNotice, /remove Causeway at your SimpleFIN bridge/);
    assert.equal((await t.api('GET', c.base)).body.revokeNotice, res.body.connection.revokeNotice);
    assert.equal((await t.api('DELETE', c.base)).status, 200);
    await new Promise((r) => setTimeout(r, 200)); // anything sent after the answers would land by now
    assert.equal(fake.calls.length, callsBefore, 'no request to the bridge');
    assert.equal(fake.apps.filter((a) => a.user === c.user).every((a) => !a.revoked), true, 'the bridge still holds the app: only the user can remove it there');
  });
});

describe('SimpleFIN refusals tell the user what the connection allows', () => {
  it('a bank needing attention at the bridge, or payment due, says a next step the connection takes', async () => {
    const mismatches: string[] = [];
    for (const [what, arrange] of [
      ['attention', (user: string) => fake.setErrors(user, ['Connection to Example Bank may need attention'])],
      ['payment', (user: string) => fake.setPaymentRequired(user, true)],
    ] as const) {
      const c = await connected();
      arrange(c.user);
      const res = await t.api('POST', `${c.base}/refresh`);
      assert.equal(res.status, 202, show(res.body));
      const job = await t.waitForJob(res.body.job.id);
      assert.equal(job.error?.code, 'user_action_required', show(job));
      const con = (await t.api('GET', c.base)).body;
      assert.deepEqual([con.status, con.statusReason], ['reconnect_required', 'user_action_required']);
      // The message's advice is followed: a refresh must then be allowed, or it must not be the advice.
      if (/then refresh/i.test(job.error.message) && !con.allowedActions.includes('refresh')) {
        mismatches.push(`${what}: "${job.error.message}" while allowedActions are ${con.allowedActions.join(', ')}`);
      }
    }
    assert.deepEqual(mismatches, []);
  });
});
