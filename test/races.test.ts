/**
 * Races that PostgreSQL runs truly in parallel (the embedded PGlite is single-threaded and cannot
 * deadlock): purge against a running refresh, and deleting a user against a refresh, a refresh of
 * all the user's connections, a purge, deleting a connection with its data and minting a client token. Every answer must be one the API documents (never a
 * 5xx, which is what a deadlock used to give), and nothing may be left behind: no data after the
 * last purge once the cancelled run is over, no row of a deleted user.
 *
 * On PGlite a small version runs (the same code paths, serialised), so the test itself stays honest.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { eq, sql } from 'drizzle-orm';
import { accounts, connections, identities, jobs, transactions, users } from '../src/db/schema.js';
import { retryCounts } from '../src/db/transaction.js';
import { startTestApp, type ApiResponse, type TestApp } from './helpers/app.js';
import { usingPostgres } from './helpers/db.js';

const PG = usingPostgres();
/** Purge against a running refresh: lanes (one connection each) run in parallel, each purging this many times. */
const PURGE_LANES = PG ? 8 : 2;
const PURGES_PER_LANE = PG ? 16 : 3; // under the sandbox's 20 refreshes a day
/** Delete user against refresh, refresh-all and purge: rounds of four racing requests, this many rounds at once. */
const DELETE_ROUNDS = PG ? 30 : 3;
const DELETE_PARALLEL = PG ? 6 : 1;
/** The cancelled run's remaining steps take a few sandbox calls; this is well past them. */
const SETTLE_MS = 500;

const DOCUMENTED: Record<string, number[]> = {
  refresh: [200, 202, 404, 409, 429],
  refreshAll: [202, 404],
  purge: [200, 202, 404, 409],
  deleteUser: [200, 404],
  mintToken: [201, 404],
  deleteConnection: [200, 404],
};

const WEB_BANKS = ['ins_sandbox_web', 'ins_sandbox_universal'];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const jitter = (max: number) => sleep(Math.floor(Math.random() * max));

describe('races on the same user and connection answer cleanly and leave nothing behind', () => {
  let t: TestApp;
  const answers: { op: string; res: ApiResponse }[] = [];
  // A small sandbox latency, so a refresh is genuinely running (between provider calls) when the race arrives.
  before(async () => { t = await startTestApp({ config: { sandboxLatencyMs: 10, jobConcurrency: 8 } }); });
  after(async () => { await t.close(); });

  async function call(op: keyof typeof DOCUMENTED, method: 'POST' | 'DELETE', url: string, body: unknown = {}): Promise<ApiResponse> {
    const res = await t.api(method, url, method === 'POST' ? body : undefined);
    answers.push({ op, res });
    return res;
  }

  /** A user with active web connections (first sync done) to `banks`. */
  async function linkedUser(banks: string[]) {
    const userId = await t.createUser();
    const ids: string[] = [];
    for (const institutionId of banks) {
      const res = await t.api('POST', `/v1/users/${userId}/connections`, { institutionId, method: 'web', credentials: { login: 'user_good', password: 'pass_good' } });
      assert.equal(res.status, 202, JSON.stringify(res.body));
      assert.equal((await t.waitForJob(res.body.job.id, undefined, 30_000)).status, 'succeeded');
      ids.push(res.body.connection.id);
    }
    return { userId, connectionIds: ids };
  }

  const rowsOfConnection = async (connectionId: string) => ({
    accounts: (await t.core.db.select({ id: accounts.id }).from(accounts).where(eq(accounts.connectionId, connectionId))).length,
    transactions: (await t.core.db.select({ id: transactions.id }).from(transactions).where(eq(transactions.connectionId, connectionId))).length,
    identities: (await t.core.db.select({ id: identities.connectionId }).from(identities).where(eq(identities.connectionId, connectionId))).length,
  });

  const rowsOfUser = async (userId: string) => ({
    users: (await t.core.db.select({ id: users.id }).from(users).where(eq(users.id, userId))).length,
    connections: (await t.core.db.select({ id: connections.id }).from(connections).where(eq(connections.userId, userId))).length,
    jobs: (await t.core.db.select({ id: jobs.id }).from(jobs).where(eq(jobs.userId, userId))).length,
    accounts: (await t.core.db.select({ id: accounts.id }).from(accounts).where(eq(accounts.userId, userId))).length,
    transactions: (await t.core.db.select({ id: transactions.id }).from(transactions).where(eq(transactions.userId, userId))).length,
    identities: (await t.core.db.select({ id: identities.connectionId }).from(identities).where(eq(identities.userId, userId))).length,
  });

  it(`purge racing a running refresh (${PURGE_LANES * PURGES_PER_LANE} purges)`, async () => {
    await Promise.all(Array.from({ length: PURGE_LANES }, async () => {
      const { userId, connectionIds: [connectionId] } = await linkedUser(WEB_BANKS.slice(0, 1));
      const base = `/v1/users/${userId}/connections/${connectionId}`;
      for (let i = 0; i < PURGES_PER_LANE; i++) {
        const refresh = await call('refresh', 'POST', `${base}/refresh`);
        if (refresh.status === 202) await jitter(60); // lands before, during or just after the run's writes
        await call('purge', 'POST', `${base}/purge`);
      }
      await sleep(SETTLE_MS);
      // The last purge cancelled whatever ran: nothing of the connection's data may have come back.
      assert.deepEqual(await rowsOfConnection(connectionId!), { accounts: 0, transactions: 0, identities: 0 }, `connection ${connectionId}`);
      const live = await t.core.db.select({ status: jobs.status }).from(jobs).where(eq(jobs.connectionId, connectionId!));
      assert.ok(live.every((j) => !['queued', 'running'].includes(j.status)), JSON.stringify(live));
    }));
  });

  it(`deleting a user racing a refresh, a refresh of all connections and a purge (${DELETE_ROUNDS} rounds)`, async () => {
    let next = 0;
    await Promise.all(Array.from({ length: DELETE_PARALLEL }, async () => {
      while (next < DELETE_ROUNDS) {
        next++;
        const { userId, connectionIds: [first, second] } = await linkedUser(WEB_BANKS);
        const base = `/v1/users/${userId}/connections`;
        const running = await call('refresh', 'POST', `${base}/${first}/refresh`);
        if (running.status === 202) await jitter(40);
        const [deleted] = await Promise.all([
          jitter(15).then(() => call('deleteUser', 'DELETE', `/v1/users/${userId}`)),
          jitter(15).then(() => call('refresh', 'POST', `${base}/${second}/refresh`)),
          jitter(15).then(() => call('refreshAll', 'POST', `${base}/refresh`)),
          jitter(15).then(() => call('purge', 'POST', `${base}/${first}/purge`)),
          // Rows that point at the user, written while it goes: a foreign key to a deleted row is a 404, not a 500.
          jitter(15).then(() => call('mintToken', 'POST', `/v1/users/${userId}/client-tokens`, { scopes: ['manage'] })),
          jitter(15).then(() => call('deleteConnection', 'DELETE', `${base}/${second}?data=purge`)),
        ]);
        if (deleted.status >= 500) continue; // counted below; nothing to check of a delete that did not happen
        assert.equal(deleted.status, 200, JSON.stringify(deleted.body));
        await sleep(SETTLE_MS);
        assert.deepEqual(await rowsOfUser(userId), { users: 0, connections: 0, jobs: 0, accounts: 0, transactions: 0, identities: 0 }, `user ${userId}`);
      }
    }));
  });

  it('never answered 5xx, and only documented statuses', async () => {
    const races = answers.length;
    const failed = answers.filter((a) => a.res.status >= 500);
    const undocumented = answers.filter((a) => !DOCUMENTED[a.op]!.includes(a.res.status));
    const byOp = Object.fromEntries(Object.keys(DOCUMENTED).map((op) => [op, answers.filter((a) => a.op === op).map((a) => a.res.status)
      .reduce<Record<number, number>>((m, s) => ({ ...m, [s]: (m[s] ?? 0) + 1 }), {})]));
    // Deadlocks PostgreSQL detected in this test's database (its statistics lag by up to a second), and the retries they cost.
    const deadlocks = PG ? ((await t.core.db.execute(sql`select deadlocks from pg_stat_database where datname = current_database()`)) as { rows: { deadlocks: number }[] }).rows[0]?.deadlocks : 0;
    console.log(`# races: ${races} requests, ${failed.length} answered 5xx (${PG ? 'PostgreSQL' : 'PGlite'}); deadlocks ${deadlocks}, transactions run again ${JSON.stringify(retryCounts)}; statuses ${JSON.stringify(byOp)}`);
    assert.ok(races >= (PG ? 200 : 20), `${races} racing requests`);
    assert.equal(failed.length, 0, failed.slice(0, 5).map((a) => `${a.op} ${a.res.status} ${JSON.stringify(a.res.body)}`).join('\n'));
    assert.deepEqual(undocumented.map((a) => `${a.op} ${a.res.status}`), []);
  });
});
