/** Job machinery: MFA timeout, recovery of a lost delivery, a live job among a long history, refresh-all, secrets at rest and in logs, when a step's start is saved. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import pino from 'pino';
import { eq, sql } from 'drizzle-orm';
import { connections, jobs } from '../src/db/schema.js';
import { LOG_REDACT, requestForLog } from '../src/logging.js';
import { startWorker } from '../src/runtime.js';
import { createSandboxProvider } from '../src/providers/sandbox/index.js';
import type { Provider } from '../src/providers/types.js';
import { startTestApp, type TestApp } from './helpers/app.js';
import { lockConnectionWithLiveJob } from '../src/db/repos/connections.js';
import { withTransaction } from '../src/db/transaction.js';
import { usingPostgres } from './helpers/db.js';

async function rows(t: TestApp, query: ReturnType<typeof sql>): Promise<any[]> {
  return ((await t.core.db.execute(query)) as unknown as { rows: any[] }).rows;
}

describe('MFA window', () => {
  let t: TestApp;
  before(async () => { t = await startTestApp({ config: { mfaTimeoutSeconds: 1 } }); });
  after(async () => { await t.close(); });

  it('fails the step with mfa_timeout when nobody answers in time', async () => {
    const userId = await t.createUser();
    const res = await t.api('POST', `/v1/users/${userId}/connections`, { institutionId: 'ins_sandbox_web', method: 'web', credentials: { login: 'user_mfa', password: 'pass_good' } });
    const waiting = await t.waitForJob(res.body.job.id, (j) => j.status === 'awaiting_input');
    assert.ok(Date.parse(waiting.mfa.expiresAt) - Date.parse(waiting.steps[0].startedAt) <= 1500);
    const done = await t.waitForJob(res.body.job.id, (j) => j.status === 'failed', 15_000);
    assert.deepEqual([done.steps[0].status, done.steps[0].resultCode, done.error.code], ['failed', 'mfa_timeout', 'mfa_timeout']);
    const con = (await t.api('GET', `/v1/users/${userId}/connections/${res.body.connection.id}`)).body;
    assert.deepEqual([con.status, con.statusReason], ['failed', 'mfa_timeout']);
    const late = await t.api('POST', `/v1/jobs/${res.body.job.id}/mfa`, { code: '1234' });
    assert.equal(late.status, 409);
  });
});

describe('a live job among a long history', () => {
  let t: TestApp;
  before(async () => { t = await startTestApp({ worker: false }); });
  after(async () => { await t.close(); });

  it('a refresh request finds the connection\'s live job among 400 ended ones, with a plan made once (PostgreSQL: a generic plan through the live-job index)', async () => {
    const userId = await t.createUser();
    const res = await t.api('POST', `/v1/users/${userId}/connections`, { institutionId: 'ins_sandbox_web', method: 'web', credentials: { login: 'user_good', password: 'pass_good' } });
    const { connection, job } = res.body;
    const applicationId = (await rows(t, sql`select application_id from connections where id = ${connection.id}`))[0].application_id;
    // Four refreshes a day for a hundred days, all ended; the create job (queued, no worker here) is the live one.
    await t.core.db.execute(sql`insert into jobs (id, application_id, user_id, connection_id, type, trigger, status, products, steps, queue_job_id, created_at, updated_at)
      select 'job_history_' || i, application_id, user_id, id, 'refresh', 'scheduled', case when i % 10 = 0 then 'failed' else 'succeeded' end,
        products, '[]'::jsonb, 'q_' || i, now(), now()
      from connections, generate_series(1, 400) i where id = ${connection.id}`);
    await t.core.db.execute(sql`analyze jobs`);
    await withTransaction(t.core.db, async (tx) => {
      // One transaction: one server connection, where each text stays prepared.
      for (let i = 0; i < 8; i++) {
        const found = await lockConnectionWithLiveJob(tx, applicationId, connection.id, userId);
        assert.equal(found?.live?.id, job.id, `call ${i + 1}`);
      }
      if (!usingPostgres()) return;
      const [plans] = ((await tx.execute(sql`select generic_plans, custom_plans from pg_prepared_statements
        where statement like 'select "connections"."id"%' and statement like '%for no key update of "connections"%'`)) as unknown as { rows: any[] }).rows;
      // With the live statuses as parameters, no generic plan could use the index, and the planner planned every call.
      assert.ok(plans && Number(plans.generic_plans) >= 1, `generic ${plans?.generic_plans}, custom ${plans?.custom_plans}`);
    });
  });
});

describe('lost deliveries', () => {
  let t: TestApp;
  before(async () => { t = await startTestApp({ worker: false }); });
  after(async () => { await t.close(); });

  it('a queued job whose queue message was lost is sent again when a worker starts, and runs once', async () => {
    const userId = await t.createUser();
    const res = await t.api('POST', `/v1/users/${userId}/connections`, { institutionId: 'ins_sandbox_web', method: 'web', credentials: { login: 'user_good', password: 'pass_good' } });
    const jobId = res.body.job.id;
    // Simulate a crash between the commit and the send: the queue never got the message. The
    // application's test clock is a day ahead, as a sandbox app's may be: the sweep must see past it.
    await t.core.db.execute(sql`delete from pgboss.job where name = 'connection-job'`);
    await t.core.db.execute(sql`update applications set clock_offset_ms = 86400000`);
    await t.core.db.update(jobs).set({ updatedAt: new Date(Date.now() + 86_400_000 - 120_000) }).where(eq(jobs.id, jobId));
    const stop = await startWorker(t.core);
    try {
      const done = await t.waitForJob(jobId);
      assert.equal(done.status, 'succeeded');
      assert.equal(done.attempts, 1);
    } finally {
      await stop();
    }
  });
});

describe('refresh all, secrets', () => {
  let t: TestApp;
  before(async () => { t = await startTestApp(); });
  after(async () => { await t.close(); });

  it('refreshes every connection of a user that may be refreshed and reports the others', async () => {
    const userId = await t.createUser();
    const good = await t.api('POST', `/v1/users/${userId}/connections`, { institutionId: 'ins_sandbox_web', method: 'web', credentials: { login: 'user_good', password: 'pass_good' } });
    const bad = await t.api('POST', `/v1/users/${userId}/connections`, { institutionId: 'ins_sandbox_universal', method: 'web', credentials: { login: 'user_good', password: 'nope' } });
    await t.waitForJob(good.body.job.id);
    await t.waitForJob(bad.body.job.id);
    const all = await t.api('POST', `/v1/users/${userId}/connections/refresh`);
    assert.equal(all.status, 202);
    assert.deepEqual(all.body.data.map((d: any) => d.connectionId), [good.body.connection.id]);
    assert.deepEqual(all.body.skipped.map((s: any) => [s.connectionId, s.code]), [[bad.body.connection.id, 'invalid_state']]);
    assert.equal((await t.waitForJob(all.body.data[0].job.id)).status, 'succeeded');
  });

  it("records each step of a refresh done in order, its times back to back, and every provider call once in the run's journal", async () => {
    const userId = await t.createUser();
    const res = await t.api('POST', `/v1/users/${userId}/connections`, { institutionId: 'ins_sandbox_web', method: 'web', credentials: { login: 'user_good', password: 'pass_good' } });
    await t.waitForJob(res.body.job.id);
    const refresh = await t.api('POST', `/v1/users/${userId}/connections/${res.body.connection.id}/refresh`);
    assert.equal(refresh.status, 202, JSON.stringify(refresh.body));
    const job = await t.waitForJob(refresh.body.job.id);
    assert.equal(job.status, 'succeeded');
    assert.deepEqual(job.steps.map((s: any) => [s.name, s.status]), [
      ['verify-credentials', 'success'], ['retrieve-accounts', 'success'], ['retrieve-transactions', 'success'], ['retrieve-identity', 'success'],
    ]);
    for (const [i, s] of job.steps.entries()) {
      assert.ok(Date.parse(s.startedAt) <= Date.parse(s.finishedAt), `${s.name} ends after it starts`);
      if (i > 0) assert.ok(Date.parse(s.startedAt) >= Date.parse(job.steps[i - 1].finishedAt), `${s.name} starts once ${job.steps[i - 1].name} has ended`);
    }
    const calls = await rows(t, sql`select operation, outcome from provider_calls where job_id = ${job.id} order by operation`);
    assert.deepEqual(calls.map((c) => [c.operation, c.outcome]), [
      ['fetchAccounts', 'ok'], ['fetchIdentity', 'ok'], ['fetchTransactions', 'ok'], ['verifyCredentials', 'ok'],
    ]);
  });

  it('a refresh that brings the same identity profile writes nothing; a different one is stored with its digest', async () => {
    const userId = await t.createUser();
    const res = await t.api('POST', `/v1/users/${userId}/connections`, { institutionId: 'ins_sandbox_web', method: 'web', credentials: { login: 'user_good', password: 'pass_good' } });
    const connectionId = res.body.connection.id;
    const first = await t.waitForJob(res.body.job.id);
    assert.equal(first.steps.find((s: any) => s.name === 'retrieve-identity').resultCode, 'ok');
    const stored = async () => (await rows(t, sql`select data_enc, digest, updated_at from identities where connection_id = ${connectionId}`))[0];
    const before = await stored();
    assert.equal(before.digest, t.core.cipher.fingerprint(t.core.cipher.decrypt(before.data_enc)));
    const refresh = async () => {
      const r = await t.api('POST', `/v1/users/${userId}/connections/${connectionId}/refresh`);
      assert.equal(r.status, 202, JSON.stringify(r.body));
      const job = await t.waitForJob(r.body.job.id);
      assert.equal(job.status, 'succeeded');
      return job.steps.find((s: any) => s.name === 'retrieve-identity');
    };
    const same = await refresh();
    assert.deepEqual([same.status, same.resultCode], ['success', 'unchanged']);
    assert.deepEqual(await stored(), before, 'the same profile is not written again');
    // A profile stored before digests (or one that changed since): written again, with its digest.
    await t.core.db.execute(sql`update identities set digest = null where connection_id = ${connectionId}`);
    const changed = await refresh();
    assert.deepEqual([changed.status, changed.resultCode], ['success', 'ok']);
    const after = await stored();
    assert.equal(after.digest, before.digest);
    assert.notEqual(after.data_enc, before.data_enc, 'encrypted afresh');
    assert.equal(t.core.cipher.decrypt(after.data_enc), t.core.cipher.decrypt(before.data_enc));
    assert.ok(new Date(after.updated_at) > new Date(before.updated_at));
    const profile = await t.api('GET', `/v1/users/${userId}/connections/${connectionId}/profile`);
    assert.equal(profile.status, 200, JSON.stringify(profile.body));
  });

  it('keeps credentials, tokens and profiles encrypted at rest', async () => {
    const userId = await t.createUser();
    const res = await t.api('POST', `/v1/users/${userId}/connections`, { institutionId: 'ins_sandbox_web', method: 'web', credentials: { login: 'secret_login', password: 'pass_good' } });
    await t.waitForJob(res.body.job.id);
    const [row] = await t.core.db.select().from(connections).where(eq(connections.id, res.body.connection.id));
    assert.ok(row!.accessEnc && row!.accessEnc.startsWith('v1.'));
    const dump = JSON.stringify(await rows(t, sql`select c.access_enc, i.data_enc from connections c join identities i on i.connection_id = c.id where c.id = ${res.body.connection.id}`));
    assert.doesNotMatch(dump, /secret_login|pass_good|@/);
  });

  it('a cancelled pending transaction disappears from the list and appears in the feed as removed', async () => {
    // The sandbox cancels about one pending transaction in twenty: sixteen users make a removal near certain.
    const users: { userId: string; connectionId: string; cursor: string; pending: string[] }[] = [];
    for (let i = 0; i < 16; i++) {
      const userId = await t.createUser();
      const res = await t.api('POST', `/v1/users/${userId}/connections`, { institutionId: 'ins_sandbox_web', method: 'web', credentials: { login: `removal_${i}`, password: 'pass_good' } });
      await t.waitForJob(res.body.job.id);
      let feed = (await t.api('GET', `/v1/users/${userId}/transactions/sync?limit=500`)).body;
      while (feed.hasMore) feed = (await t.api('GET', `/v1/users/${userId}/transactions/sync?limit=500&cursor=${feed.nextCursor}`)).body;
      const pending = (await t.api('GET', `/v1/users/${userId}/transactions?status=pending&limit=500`)).body.data.map((x: any) => x.id);
      users.push({ userId, connectionId: res.body.connection.id, cursor: feed.nextCursor, pending });
    }
    await t.api('POST', '/v1/sandbox/clock', { advanceBy: 'P10D' });
    let removedSeen = 0;
    for (const u of users) {
      const r = await t.api('POST', `/v1/users/${u.userId}/connections/${u.connectionId}/refresh`);
      assert.equal((await t.waitForJob(r.body.job.id)).status, 'succeeded');
      const listed = new Set((await t.api('GET', `/v1/users/${u.userId}/transactions?limit=500&from=2000-01-01`)).body.data.map((x: any) => x.id));
      const feed = (await t.api('GET', `/v1/users/${u.userId}/transactions/sync?limit=500&cursor=${u.cursor}`)).body;
      for (const removed of feed.removed) {
        assert.ok(u.pending.includes(removed.id), 'only pending transactions are cancelled');
        assert.ok(!listed.has(removed.id), 'a removed transaction is not listed');
        removedSeen++;
      }
      for (const id of u.pending) {
        if (!listed.has(id)) assert.ok(feed.removed.some((x: any) => x.id === id), `${id} left the list, so the feed says removed`);
      }
    }
    assert.ok(removedSeen > 0, 'at least one cancelled pending transaction was removed');
  });

  it('redacts secrets from log lines', () => {
    let out = '';
    const log = pino({ redact: LOG_REDACT }, new Writable({ write(chunk, _enc, cb) { out += chunk; cb(); } }));
    log.info({ req: { headers: { authorization: 'Bearer sk_sandbox_abc' } }, body: { credentials: { login: 'l', password: 'pass_good' } }, job: { code: '1234' } }, 'x');
    assert.doesNotMatch(out, /sk_sandbox_abc|pass_good|1234/);
    assert.equal(requestForLog({ method: 'GET', url: '/sandbox/consent/s3cr3t-state?x=1', ip: '127.0.0.1' }).url, '/sandbox/consent/[redacted]?x=1');
  });
});

describe("a step's start after a step with no write of its own", () => {
  let t: TestApp;
  const sandbox = createSandboxProvider({ latencyMs: 0 });
  /**
   * Slow: fetchAccounts keeps the run waiting until the job's saved steps show the accounts running
   * (or 5 s pass); quick: it answers at once. Either way `seen` is the saved steps it found last.
   */
  let slow = false;
  let seen: { name: string; status: string }[] = [];
  const provider: Provider = {
    ...sandbox,
    fetchAccounts: async (link, ctx) => {
      const deadline = Date.now() + 5_000;
      for (;;) {
        const [job] = await t.core.db.select({ steps: jobs.steps }).from(jobs).where(eq(jobs.id, ctx.runKey.split(':')[0]!)); // the run's key is job id : attempt
        seen = job!.steps.map((s) => ({ name: s.name, status: s.status }));
        if (!slow || seen[1]?.status === 'in_progress' || Date.now() > deadline) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      return sandbox.fetchAccounts(link, ctx);
    },
  };
  before(async () => { t = await startTestApp({ provider }); });
  after(async () => { await t.close(); });

  const stepsOf = (steps: { name: string; status: string }[]) => steps.slice(0, 2).map((s) => `${s.name}:${s.status}`);

  it('is saved while a slow provider call waits, and carried by the step\'s own write when the call answers at once', async () => {
    const userId = await t.createUser();
    slow = true;
    const res = await t.api('POST', `/v1/users/${userId}/connections`, { institutionId: 'ins_sandbox_web', method: 'web', credentials: { login: 'user_good', password: 'pass_good' } });
    assert.equal((await t.waitForJob(res.body.job.id)).status, 'succeeded');
    // Slow: while the accounts call waits, the job comes to show the credentials verified and the accounts being fetched.
    assert.deepEqual(stepsOf(seen), ['verify-credentials:success', 'retrieve-accounts:in_progress']);

    slow = false;
    const refresh = await t.api('POST', `/v1/users/${userId}/connections/${res.body.connection.id}/refresh`);
    const job = await t.waitForJob(refresh.body.job.id);
    // Quick: nothing was written between the claim and the accounts' own write, which saved both steps.
    assert.deepEqual(stepsOf(seen), ['verify-credentials:in_progress', 'retrieve-accounts:pending']);
    assert.equal(job.status, 'succeeded');
    assert.deepEqual(stepsOf(job.steps), ['verify-credentials:success', 'retrieve-accounts:success']);
    assert.ok(Date.parse(job.steps[1].startedAt) >= Date.parse(job.steps[0].finishedAt));
    const calls = await rows(t, sql`select operation from provider_calls where job_id = ${job.id} order by operation`);
    assert.deepEqual(calls.map((c) => c.operation), ['fetchAccounts', 'fetchIdentity', 'fetchTransactions', 'verifyCredentials']);
  });
});
