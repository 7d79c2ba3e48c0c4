/**
 * A worker killed mid-job: the real `causeway` process is SIGKILLed right after a job stored its
 * transactions but before it finished. A new process on the same data (the embedded lock left by
 * the dead one is stale and taken over) must pick the job up again once its heartbeat lapses,
 * finish it, and hold exactly the data an undisturbed sync gives: nothing twice, nothing missing.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { usingPostgres } from './helpers/db.js';
import { client, createStorage, startServer, type Client, type Server, type Storage, tearDown } from './helpers/process.js';

const LATENCY_MS = 800;
const WEB = { institutionId: 'ins_sandbox_web', method: 'web', credentials: { login: 'user_good', password: 'pass_good' } };

let storage: Storage;
let server: Server | null = null;

before(async () => {
  storage = await createStorage('causeway-crash-');
});

after(() => tearDown(server, storage));

const env = () => storage.env({
  CAUSEWAY_SANDBOX_LATENCY_MS: String(LATENCY_MS),
  CAUSEWAY_JOB_HEARTBEAT_SECONDS: '10',
  CAUSEWAY_RETRY_DELAY_SECONDS: '0',
});

const stepStatus = (job: any, name: string): string | undefined => job.steps.find((s: any) => s.name === name)?.status;
/** Stored after the data was written, before the job finished: the window the kill must land in. */
const inKillWindow = (job: any) =>
  job.status === 'running' && stepStatus(job, 'retrieve-transactions') === 'success' && stepStatus(job, 'retrieve-identity') !== 'success';

async function accountsOf(api: Client, userId: string): Promise<any[]> {
  const res = await api.get(`/v1/users/${userId}/accounts`);
  assert.equal(res.status, 200, res.text);
  return res.body.data;
}

/** What an account is, whoever owns it: ids differ between users, this does not. */
const accountKey = (a: any) => JSON.stringify([a.name, a.type, a.mask, a.currency]);

/** A user's transactions as a sorted multiset of what they say, with each account by its key. */
async function transactionMultiset(api: Client, userId: string): Promise<{ keys: string[]; ids: string[] }> {
  const accounts = new Map((await accountsOf(api, userId)).map((a) => [a.id, accountKey(a)]));
  const { data } = await api.allTransactions(userId);
  const keys = data.map((t) => {
    assert.ok(accounts.has(t.accountId), `transaction ${t.id} belongs to an account of the user`);
    return JSON.stringify([accounts.get(t.accountId), t.date, t.amount, t.currency, t.description, t.status, t.merchantName, t.category]);
  });
  return { keys: keys.sort(), ids: data.map((t) => t.id) };
}

function duplicates(values: string[]): string[] {
  const seen = new Set<string>();
  return values.filter((v) => (seen.has(v) ? true : (seen.add(v), false)));
}

describe('a worker killed mid-job', () => {
  it('is recovered by a new process: the job finishes and every transaction is stored once', async (t) => {
    server = await startServer(env());
    const key = server.printedKey;
    assert.ok(key, server.stderr());
    let api = client(server.url, key);

    // 1. Start a web connection and SIGKILL the process as soon as its transactions are stored.
    let userId = '';
    let connectionId = '';
    let jobId = '';
    let atKill: any = null;
    for (let attempt = 1; attempt <= 3 && !atKill; attempt++) {
      userId = await api.createUser({ externalId: `crash-${attempt}` });
      const created = await api.post(`/v1/users/${userId}/connections`, WEB);
      assert.equal(created.status, 202, created.text);
      connectionId = created.body.connection.id;
      jobId = created.body.job.id;
      const seen = await api.waitForJob(jobId, {
        until: (j) => inKillWindow(j) || !['queued', 'running'].includes(j.status), timeoutMs: 30_000, intervalMs: 25,
      });
      if (inKillWindow(seen)) {
        atKill = seen;
        break;
      }
      t.diagnostic(`attempt ${attempt}: the poll missed the window (job ${seen.status}); trying another connection`);
    }
    assert.ok(atKill, 'the kill landed between retrieve-transactions and the end of the job');
    const killedPid = server.child.pid;
    const exit = await server.crash();
    const killedAt = Date.now();
    assert.equal(exit.signal, 'SIGKILL');
    server = null;
    t.diagnostic(`killed with steps ${atKill.steps.map((s: any) => `${s.name}=${s.status}`).join(', ')}`);
    assert.equal(stepStatus(atKill, 'verify-credentials'), 'success');
    assert.equal(stepStatus(atKill, 'retrieve-accounts'), 'success');
    assert.equal(atKill.attempts, 1);

    // 2. A new process on the same data. Embedded: the dead process's lock is still there, stale.
    if (!usingPostgres()) {
      const lockFile = path.join(storage.dataDir, 'causeway.lock');
      assert.equal(fs.readFileSync(lockFile, 'utf8').split(':')[0], String(killedPid), 'SIGKILL leaves the lock file behind');
    }
    server = await startServer(env());
    const restartedAt = Date.now();
    t.diagnostic(`restart took ${restartedAt - killedAt} ms`);
    assert.equal(server.printedKey, null, 'the data survived: no new key on restart');
    api = client(server.url, key);
    if (!usingPostgres()) {
      assert.equal(fs.readFileSync(path.join(storage.dataDir, 'causeway.lock'), 'utf8').split(':')[0], String(server.child.pid), 'the new process took the stale lock over');
    }

    const orphan = (await api.get(`/v1/jobs/${jobId}`)).body;
    t.diagnostic(`after restart the job is ${orphan.status} (attempts ${orphan.attempts})`);
    assert.ok(['running', 'succeeded'].includes(orphan.status), JSON.stringify(orphan));
    assert.equal(stepStatus(orphan, 'retrieve-transactions'), 'success', 'what the killed run committed is kept');
    const writtenBeforeRecovery = (await api.allTransactions(userId)).data;
    assert.ok(writtenBeforeRecovery.length > 0, 'the killed run had stored transactions');
    assert.equal(new Set(writtenBeforeRecovery.map((x) => x.id)).size, writtenBeforeRecovery.length);

    // 3. The job is handed to the new worker once the dead one's heartbeat lapses, and finishes.
    const done = await api.waitForJob(jobId, { timeoutMs: 90_000, intervalMs: 250 });
    const recoveredAt = Date.now();
    t.diagnostic(`recovery: job succeeded ${((recoveredAt - killedAt) / 1000).toFixed(1)} s after the kill, ${((recoveredAt - restartedAt) / 1000).toFixed(1)} s after the new process was ready`);
    assert.equal(done.status, 'succeeded', JSON.stringify(done));
    for (const step of done.steps) assert.equal(step.status, 'success', JSON.stringify(step));
    assert.ok(done.attempts >= 2, `a second run finished the job (attempts ${done.attempts})`);
    assert.equal(done.error, null);
    const con = (await api.get(`/v1/users/${userId}/connections/${connectionId}`)).body;
    assert.equal(con.status, 'active', JSON.stringify(con));
    const profile = await api.get(`/v1/users/${userId}/connections/${connectionId}/profile`);
    assert.equal(profile.status, 200, 'the step after the kill ran: the identity profile is there');

    // 4. Nothing twice: accounts and transactions.
    const accounts = await accountsOf(api, userId);
    assert.ok(accounts.length >= 4, `accounts: ${accounts.length}`);
    assert.equal(new Set(accounts.map((a) => a.id)).size, accounts.length);
    assert.deepEqual(duplicates(accounts.map(accountKey)), [], 'no account stored twice');
    const recovered = await transactionMultiset(api, userId);
    assert.deepEqual(duplicates(recovered.ids), [], 'no transaction id listed twice');
    assert.deepEqual(recovered.ids.slice().sort(), writtenBeforeRecovery.map((x) => x.id).sort(),
      'the resumed run kept the rows the killed run stored and added none');

    // 5. Nothing missing and nothing extra: an identical user synced undisturbed holds the same data.
    const twinId = await api.createUser({ externalId: 'twin' });
    const twin = await api.post(`/v1/users/${twinId}/connections`, WEB);
    assert.equal(twin.status, 202, twin.text);
    const twinDone = await api.waitForJob(twin.body.job.id, { timeoutMs: 60_000, intervalMs: 100 });
    assert.equal(twinDone.status, 'succeeded', JSON.stringify(twinDone));
    assert.equal(twinDone.attempts, 1);
    const twinAccounts = await accountsOf(api, twinId);
    assert.deepEqual(accounts.map(accountKey).sort(), twinAccounts.map(accountKey).sort(), 'the same accounts as an undisturbed sync');
    const twinTx = await transactionMultiset(api, twinId);
    assert.equal(recovered.keys.length, twinTx.keys.length, 'as many transactions as an undisturbed sync');
    assert.deepEqual(recovered.keys, twinTx.keys, 'the same transactions as an undisturbed sync');
    t.diagnostic(`${accounts.length} accounts, ${recovered.ids.length} transactions, identical to the undisturbed twin`);

    // 6. A fresh refresh of the recovered connection changes nothing.
    const refresh = await api.post(`/v1/users/${userId}/connections/${connectionId}/refresh`);
    assert.equal(refresh.status, 202, refresh.text);
    const refreshed = await api.waitForJob(refresh.body.job.id, { timeoutMs: 60_000, intervalMs: 100 });
    assert.equal(refreshed.status, 'succeeded', JSON.stringify(refreshed));
    const afterRefresh = await transactionMultiset(api, userId);
    assert.equal(afterRefresh.ids.length, recovered.ids.length, 'the count via the API equals the count after a refresh');
    assert.deepEqual(afterRefresh.ids.slice().sort(), recovered.ids.slice().sort());
    assert.deepEqual(afterRefresh.keys, recovered.keys);
    assert.equal((await accountsOf(api, userId)).length, accounts.length);

    const stopped = await server.stop(15_000);
    assert.deepEqual(stopped, { code: 0, signal: null }, server.stderr());
    server = null;
  });
});
