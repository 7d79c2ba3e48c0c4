/**
 * Run fencing: a job run that was superseded (its worker presumed dead and the job claimed by a
 * new run) writes nothing, and a run that ends after its connection changed under it does not
 * overwrite that change.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { eq } from 'drizzle-orm';
import { applyTransactionPlan, upsertAccounts } from '../src/db/repos/data.js';
import { claimJob, endRunIfUnchanged, findJobForRun, saveRun, saveSteps, SupersededRunError } from '../src/db/repos/jobs.js';
import { accounts, connections, jobs, providerCalls, transactions, users } from '../src/db/schema.js';
import { systemClock } from '../src/domain/clock.js';
import type { IncomingTransaction } from '../src/domain/matching.js';
import { finish } from '../src/services/sync/run.js';
import { startTestApp, type TestApp } from './helpers/app.js';

describe('run fencing', () => {
  let t: TestApp;
  before(async () => { t = await startTestApp({ worker: false }); }); // runs are driven by hand
  after(async () => { await t.close(); });

  /** A web connection whose create job is queued, and one of its accounts. */
  async function queuedJob() {
    const userId = await t.createUser();
    const res = await t.api('POST', `/v1/users/${userId}/connections`, {
      institutionId: 'ins_sandbox_web', method: 'web', credentials: { login: 'user_good', password: 'pass_good' },
    });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    return { userId, connectionId: res.body.connection.id as string, jobId: res.body.job.id as string };
  }

  /** A queued job claimed by run `first` and then by run `second` (first's worker presumed dead), with an account row for its connection. */
  async function takenOver(first: string, second: string) {
    const { userId, connectionId, jobId } = await queuedJob();
    const db = t.core.db;
    const now = systemClock.now();
    const found = (await findJobForRun(db, jobId))!;
    assert.ok(await claimJob(db, jobId, connectionId, first, found.job.steps, now));
    assert.ok(await claimJob(db, jobId, connectionId, second, found.job.steps, now));
    const accountRow = (id: string) => ({
      id, applicationId: found.application.id, userId, connectionId, providerAccountId: 'pacc_1', name: 'Everyday',
      type: 'depository', mask: '0001', currency: 'AUD', balanceCurrent: 0, balancesUpdatedAt: now, createdAt: now, updatedAt: now,
    });
    return { userId, connectionId, jobId, db, now, found, accountRow };
  }

  const row = (accountId: string): IncomingTransaction => ({
    providerId: 'ptx_1', accountId, status: 'posted', amount: -1250, currency: 'AUD', date: '2026-11-20', authorizedDate: null,
    description: 'Coffee', merchantName: null, category: null, pendingProviderId: null,
  });

  it('a superseded run can neither store accounts, ingest, save its steps nor end the job; the run that took over can', async () => {
    const { userId, connectionId, jobId, db, now, found, accountRow: accountOf } = await takenOver('run-a', 'run-b');
    const accountRow = accountOf('acc_fence');
    await assert.rejects(upsertAccounts(db, [accountRow], { jobId, runToken: 'run-a' }), SupersededRunError);
    assert.equal((await db.select().from(accounts).where(eq(accounts.connectionId, connectionId))).length, 0);
    const [account] = await upsertAccounts(db, [accountRow], { jobId, runToken: 'run-b' });
    const plan = { inserts: [row(account!.id)], updates: [], removals: [] };
    const ctx = (runToken: string) => ({
      applicationId: found.application.id, userId, connectionId, now, syncedThrough: '2026-11-20', run: { jobId, runToken },
    });
    const seqBefore = (await db.select({ s: users.changeSeq }).from(users).where(eq(users.id, userId)))[0]!.s;

    assert.equal(await applyTransactionPlan(db, ctx('run-a'), plan), false);
    assert.equal((await db.select().from(transactions).where(eq(transactions.connectionId, connectionId))).length, 0);
    assert.equal((await db.select({ s: users.changeSeq }).from(users).where(eq(users.id, userId)))[0]!.s, seqBefore);
    assert.equal((await db.select().from(connections).where(eq(connections.id, connectionId)))[0]!.transactionsSyncedThrough, null);
    await assert.rejects(saveSteps(db, jobId, 'run-a', found.job.steps, now), SupersededRunError);
    const ended = await endRunIfUnchanged(db, {
      jobId, runToken: 'run-a', job: { status: 'succeeded', finishedAt: now }, connectionId,
      expected: { status: 'pending', statusReason: null, everSynced: false }, connection: { status: 'active', updatedAt: now }, calls: [],
    });
    assert.equal(ended, false);
    assert.equal((await db.select().from(jobs).where(eq(jobs.id, jobId)))[0]!.status, 'running');
    assert.equal((await db.select().from(connections).where(eq(connections.id, connectionId)))[0]!.status, 'pending');

    assert.equal(await applyTransactionPlan(db, ctx('run-b'), plan), true);
    const stored = await db.select().from(transactions).where(eq(transactions.connectionId, connectionId));
    assert.deepEqual(stored.map((r) => [r.providerTransactionId, r.amount, r.createdSeq]), [['ptx_1', -1250, seqBefore + 1]]);
    assert.equal((await db.select({ s: users.changeSeq }).from(users).where(eq(users.id, userId)))[0]!.s, seqBefore + 1);
    assert.equal((await db.select().from(connections).where(eq(connections.id, connectionId)))[0]!.transactionsSyncedThrough, '2026-11-20');
  });

  it("a step's last write saves the steps and journals the run's calls with its data; a superseded run's writes only its calls", async () => {
    const { userId, connectionId, jobId, db, now, found, accountRow: accountOf } = await takenOver('run-d', 'run-e');
    const call = (id: string, operation: string) => ({
      id, applicationId: found.application.id, connectionId, jobId, operation, outcome: 'ok', errorCode: null, providerCode: null,
      requestId: 'req-1', retryAfterSeconds: null, durationMs: 7, createdAt: now,
    });
    /** The steps with the first `done` of them succeeded and the next one started. */
    const through = (done: number) => found.job.steps.map((s, i) => (i < done ? { ...s, status: 'success' as const, resultCode: 'ok', finishedAt: now.toISOString() }
      : i === done ? { ...s, status: 'in_progress' as const, startedAt: now.toISOString() } : s));
    const stepsNow = async () => (await db.select().from(jobs).where(eq(jobs.id, jobId)))[0]!.steps;
    const journal = async () => (await db.select().from(providerCalls).where(eq(providerCalls.jobId, jobId))).map((c) => [c.id, c.operation, c.requestId, c.durationMs, c.createdAt.getTime()]).sort();
    const accountRow = accountOf('acc_carry');
    const claimed = await stepsNow();

    await assert.rejects(upsertAccounts(db, [accountRow], { jobId, runToken: 'run-d', save: { steps: through(2), at: now, calls: [call('call_d', 'fetchAccounts')] } }), SupersededRunError);
    assert.deepEqual(await stepsNow(), claimed, 'the superseded run saved no steps');
    assert.equal((await db.select().from(accounts).where(eq(accounts.connectionId, connectionId))).length, 0);
    assert.deepEqual(await journal(), [['call_d', 'fetchAccounts', 'req-1', 7, now.getTime()]], 'its calls are journaled all the same');

    const [account] = await upsertAccounts(db, [accountRow], { jobId, runToken: 'run-e', save: { steps: through(2), at: now, calls: [call('call_e1', 'verifyCredentials'), call('call_e2', 'fetchAccounts')] } });
    assert.deepEqual(await stepsNow(), through(2));
    assert.equal((await journal()).length, 3);
    const plan = { inserts: [row(account!.id)], updates: [], removals: [] };
    const applied = await applyTransactionPlan(db, {
      applicationId: found.application.id, userId, connectionId, now, syncedThrough: '2026-11-20',
      run: { jobId, runToken: 'run-e', save: { steps: through(3), at: now, calls: [call('call_e3', 'fetchTransactions')] } },
    }, plan);
    assert.equal(applied, true);
    assert.deepEqual(await stepsNow(), through(3));
    assert.deepEqual((await journal()).map((c) => c[0]), ['call_d', 'call_e1', 'call_e2', 'call_e3']);
    assert.equal((await db.select().from(transactions).where(eq(transactions.connectionId, connectionId))).length, 1);
  });

  it('a run that ends after its connection was unlinked ends the job and leaves the connection unlinked', async () => {
    const { connectionId, jobId } = await queuedJob();
    const db = t.core.db;
    const now = systemClock.now();
    const found = (await findJobForRun(db, jobId))!;
    const job = (await claimJob(db, jobId, connectionId, 'run-c', found.job.steps, now))!;
    await db.update(connections).set({ status: 'unlinked', statusReason: null, updatedAt: now }).where(eq(connections.id, connectionId));
    const call = {
      id: 'call_fence', applicationId: found.application.id, connectionId, jobId, operation: 'fetchAccounts', outcome: 'ok',
      errorCode: null, providerCode: null, durationMs: 3, createdAt: now,
    };
    // As the run saw it: still pending. The one-statement ending refuses, writing only the journal.
    const ended = await endRunIfUnchanged(db, {
      jobId, runToken: 'run-c', job: { status: 'succeeded', finishedAt: now }, connectionId, calls: [call],
      expected: { status: 'pending', statusReason: null, everSynced: false }, connection: { status: 'active', updatedAt: now },
    });
    assert.equal(ended, false);
    assert.equal((await db.select().from(jobs).where(eq(jobs.id, jobId)))[0]!.status, 'running');
    assert.equal((await db.select().from(providerCalls).where(eq(providerCalls.jobId, jobId))).length, 1);
    // finish then takes the locking path and decides again on the connection as it is now.
    await finish(t.core, systemClock, job, 'run-c', null, {});
    assert.equal((await db.select().from(jobs).where(eq(jobs.id, jobId)))[0]!.status, 'succeeded');
    assert.equal((await db.select().from(connections).where(eq(connections.id, connectionId)))[0]!.status, 'unlinked');
  });

  it('the prepared job writes take any patch shape: nulls, instants and steps as their columns store them, in or out of a transaction', async () => {
    const { connectionId, jobId } = await queuedJob();
    const db = t.core.db;
    const now = systemClock.now();
    const found = (await findJobForRun(db, jobId))!;
    await claimJob(db, jobId, connectionId, 'run-s', found.job.steps, now);
    const steps = found.job.steps.map((s, i) => (i === 0 ? { ...s, status: 'success' as const, finishedAt: now.toISOString() } : s));
    const read = async () => (await db.select().from(jobs).where(eq(jobs.id, jobId)))[0]!;
    // One shape: the steps (jsonb) and an instant.
    await saveRun(db, jobId, 'run-s', { steps, updatedAt: now });
    assert.deepEqual((await read()).steps, steps);
    // Another: text and an instant set to null, next to one that is set.
    const later = new Date(now.getTime() + 1000);
    await saveRun(db, jobId, 'run-s', { errorCode: 'provider_unavailable', errorMessage: null, finishedAt: null, updatedAt: later });
    let job = await read();
    assert.equal(job.errorCode, 'provider_unavailable');
    assert.equal(job.finishedAt, null);
    assert.equal(job.updatedAt.getTime(), later.getTime());
    assert.deepEqual(job.steps, steps, 'a patch writes only its own columns');
    // The first shape again, inside a transaction (its own handle), with a call journaled.
    const call = {
      id: 'call_shape', applicationId: found.application.id, connectionId, jobId, operation: 'fetchAccounts', outcome: 'ok',
      errorCode: null, providerCode: null, durationMs: 5, createdAt: later,
    };
    await db.transaction((tx) => saveRun(tx, jobId, 'run-s', { steps: [], updatedAt: later }, [call]));
    job = await read();
    assert.deepEqual(job.steps, []);
    assert.equal((await db.select().from(providerCalls).where(eq(providerCalls.id, 'call_shape'))).length, 1);
    await assert.rejects(saveRun(db, jobId, 'run-other', { errorCode: null }), SupersededRunError);
    assert.equal((await read()).errorCode, 'provider_unavailable');
    // The ending with a status reason expected (its own shape): refused while the connection has none.
    const ending = (reason: string | null) => endRunIfUnchanged(db, {
      jobId, runToken: 'run-s', job: { status: 'succeeded', finishedAt: later, errorCode: null }, connectionId, calls: [],
      expected: { status: 'pending', statusReason: reason, everSynced: false }, connection: { status: 'active', pausedUntil: null, updatedAt: later },
    });
    assert.equal(await ending('credentials_invalid'), false);
    assert.equal(await ending(null), true);
    job = await read();
    assert.equal(job.status, 'succeeded');
    assert.equal(job.errorCode, null);
    assert.equal(job.finishedAt!.getTime(), later.getTime());
    const connection = (await db.select().from(connections).where(eq(connections.id, connectionId)))[0]!;
    assert.equal(connection.status, 'active');
    assert.equal(connection.pausedUntil, null);
  });
});
