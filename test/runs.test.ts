/**
 * Run fencing: a job run that was superseded (its worker presumed dead and the job claimed by a
 * new run) writes nothing, and a run that ends after its connection changed under it does not
 * overwrite that change.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { and, eq } from 'drizzle-orm';
import { applyCounts, applyTransactionPlan, COPY_FROM_ROWS, loadStoredWindow, upsertAccounts, upsertAccountsReadingWindow } from '../src/db/repos/data.js';
import { claimJob, endRunIfUnchanged, findJobForRun, saveRun, saveSteps, SupersededRunError } from '../src/db/repos/jobs.js';
import { accounts, connections, events as eventsTable, jobs, providerCalls, transactions, users } from '../src/db/schema.js';
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

  it('many inserts go in by COPY: fenced, at the feed positions reserved, values exact; a provider id stored already sends the plan through the statement', async () => {
    const { userId, connectionId, jobId, db, now, found, accountRow } = await takenOver('run-f', 'run-g');
    const [account] = await upsertAccounts(db, [accountRow('acc_copy')], { jobId, runToken: 'run-g' });
    const many = (prefix: string, n: number): IncomingTransaction[] => Array.from({ length: n }, (_, i) => ({
      ...row(account!.id), providerId: `${prefix}${i}`, amount: -100 - i, date: `2026-11-${String(1 + (i % 28)).padStart(2, '0')}`,
      // Every character COPY's text format escapes, a quote, non-ASCII letters (two, three and four bytes in UTF-8), and nulls.
      description: i === 0 ? 'tab\there\nnew line\\ back "quoted" \r café' : i === 3 ? 'Pâtisserie ☕ 🥐 東京' : `Shop ${i}`,
      merchantName: i % 2 === 0 ? null : 'Merchant', category: i % 3 === 0 ? null : 'food', authorizedDate: i === 1 ? '2026-10-31' : null,
      status: i === 2 ? 'pending' : 'posted',
    }));
    const call = (id: string) => ({
      id, applicationId: found.application.id, connectionId, jobId, operation: 'fetchTransactions', outcome: 'ok', errorCode: null,
      providerCode: null, requestId: null, retryAfterSeconds: null, durationMs: 5, createdAt: now,
    });
    const ctx = (runToken: string, callId: string) => ({
      applicationId: found.application.id, userId, connectionId, now, syncedThrough: '2026-11-28',
      run: { jobId, runToken, save: { steps: found.job.steps, at: now, calls: [call(callId)] } },
    });
    const seqOf = async () => (await db.select({ s: users.changeSeq }).from(users).where(eq(users.id, userId)))[0]!.s;
    const stored = async () => (await db.select().from(transactions).where(eq(transactions.connectionId, connectionId)))
      .sort((a, b) => a.createdSeq - b.createdSeq);
    const journaled = async () => (await db.select().from(providerCalls).where(eq(providerCalls.jobId, jobId))).map((c) => c.id).sort();
    const first = many('ptx_copy_', COPY_FROM_ROWS + 36);
    const seq0 = await seqOf();
    const counts0 = { ...applyCounts };

    // A superseded run: nothing but its call is written.
    assert.equal(await applyTransactionPlan(db, ctx('run-f', 'call_f'), { inserts: first, updates: [], removals: [] }), false);
    assert.equal((await stored()).length, 0);
    assert.equal(await seqOf(), seq0);
    assert.deepEqual(await journaled(), ['call_f']);

    assert.equal(await applyTransactionPlan(db, ctx('run-g', 'call_g1'), { inserts: first, updates: [], removals: [] }), true);
    assert.deepEqual(applyCounts, { copied: counts0.copied + 1, copyConflicts: counts0.copyConflicts });
    const rows = await stored();
    assert.equal(await seqOf(), seq0 + first.length);
    assert.deepEqual(rows.map((r) => [r.providerTransactionId, r.createdSeq, r.changeSeq]), first.map((t, i) => [t.providerId, seq0 + 1 + i, seq0 + 1 + i]));
    assert.deepEqual(rows.map((r) => ({
      providerId: r.providerTransactionId, accountId: r.accountId, status: r.status, amount: r.amount, currency: r.currency, date: r.date,
      authorizedDate: r.authorizedDate, description: r.description, merchantName: r.merchantName, category: r.category, pendingProviderId: r.providerPendingId,
    })), first);
    assert.ok(rows.every((r) => r.applicationId === found.application.id && r.userId === userId && r.removedAt === null
      && r.createdAt.getTime() === now.getTime() && r.id.startsWith('txn_')));
    assert.equal(new Set(rows.map((r) => r.id)).size, rows.length);
    assert.equal((await db.select().from(connections).where(eq(connections.id, connectionId)))[0]!.transactionsSyncedThrough, '2026-11-28');
    const events = await db.select().from(eventsTable).where(and(eq(eventsTable.connectionId, connectionId), eq(eventsTable.type, 'transactions.updated')));
    assert.deepEqual(events.map((e) => e.data), [{ added: first.length, modified: 0, removed: 0, jobId }]);
    assert.deepEqual(await journaled(), ['call_f', 'call_g1']);

    // One provider id of the next plan is stored already: the COPY fails whole, the statement stores the rest once.
    const second = [...many('ptx_more_', COPY_FROM_ROWS), { ...first[5]!, amount: 1 }];
    assert.equal(await applyTransactionPlan(db, ctx('run-g', 'call_g2'), { inserts: second, updates: [], removals: [] }), true);
    assert.deepEqual(applyCounts, { copied: counts0.copied + 1, copyConflicts: counts0.copyConflicts + 1 });
    const after = await stored();
    assert.equal(after.length, first.length + COPY_FROM_ROWS);
    assert.equal(new Set(after.map((r) => r.providerTransactionId)).size, after.length);
    assert.equal(after.find((r) => r.providerTransactionId === first[5]!.providerId)!.amount, first[5]!.amount, 'the stored row is left as it was');
    assert.deepEqual(await journaled(), ['call_f', 'call_g1', 'call_g2'], 'the calls once, by the statement');
  });

  it("the accounts' write reads the stored window as loadStoredWindow does, only for the run that owns the job", async () => {
    const { userId, connectionId, jobId, db, now, found, accountRow } = await takenOver('run-w', 'run-x');
    const [account] = await upsertAccounts(db, [accountRow('acc_window')], { jobId, runToken: 'run-x' });
    const txn = (providerId: string, date: string, status: 'posted' | 'pending', extra: Partial<IncomingTransaction> = {}): IncomingTransaction => ({
      ...row(account!.id), providerId, date, status, ...extra,
    });
    const plan = {
      inserts: [
        txn('ptx_old', '2026-09-01', 'posted'), txn('ptx_old_pending', '2026-09-02', 'pending'),
        txn('ptx_in', '2026-11-10', 'posted', { description: 'tab\tand "quote"', merchantName: 'Café', category: 'food', authorizedDate: '2026-11-09', amount: -9_007_199_254 }),
        txn('ptx_in_pending', '2026-11-12', 'pending', { pendingProviderId: null }),
      ],
      updates: [], removals: [],
    };
    const ctx = { applicationId: found.application.id, userId, connectionId, now, syncedThrough: '2026-11-20', run: { jobId, runToken: 'run-x' } };
    assert.equal(await applyTransactionPlan(db, ctx, plan), true);
    const from = '2026-11-01';
    const byId = (list: { id: string }[]) => [...list].sort((a, b) => a.id.localeCompare(b.id));
    const expected = byId(await loadStoredWindow(db, connectionId, from));
    assert.deepEqual(expected.map((t: any) => t.providerId).sort(), ['ptx_in', 'ptx_in_pending', 'ptx_old_pending'], 'the window: its days, and every live pending');

    await assert.rejects(upsertAccountsReadingWindow(db, [accountRow('acc_window')], { jobId, runToken: 'run-w' }, { windowFrom: from }), SupersededRunError);
    const read = await upsertAccountsReadingWindow(db, [accountRow('acc_window')], { jobId, runToken: 'run-x' }, { windowFrom: from });
    assert.deepEqual(read.accounts, [{ id: account!.id, providerAccountId: 'pacc_1' }]);
    assert.deepEqual(byId(read.window!), expected);
    assert.equal((await upsertAccountsReadingWindow(db, [accountRow('acc_window')], { jobId, runToken: 'run-x' })).window, null, 'no window asked, none read');
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
