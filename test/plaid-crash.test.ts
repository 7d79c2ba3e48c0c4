/**
 * A worker killed in the middle of a paginated Plaid first sync: the real `causeway` process,
 * pointed at the Plaid fake with small, slow /transactions/sync pages, is SIGKILLed while it waits
 * for a page. Nothing of the half-read sync may have been stored (pages are applied with the cursor
 * in one statement at the end), so a new process reads from the start again once the dead one's
 * heartbeat lapses, and ends with each transaction once and the fake's final cursor.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'drizzle-orm';
import { openDatabase } from '../src/db/open.js';
import { startPlaidFake, type PlaidFake, type RequestLogEntry } from './fakes/plaid/index.js';
import { client, createStorage, startServer, tearDown, type Exit, type Server, type Storage } from './helpers/process.js';
import { until } from './helpers/wait.js';

const PAGE_SIZE = 5;
const TRANSACTIONS = 90;
const PAGE_DELAY_MS = 150;
/** The kill lands while the worker waits for this page of its first sync. */
const KILL_AT_PAGE = 6;
/** Deadlines only: a loaded machine can take long to start a process (tsx compiles the sources). */
const START_TIMEOUT_MS = 120_000;

let storage: Storage;
let fake: PlaidFake;
let server: Server | null = null;

before(async () => {
  storage = await createStorage('causeway-plaid-crash-');
  fake = await startPlaidFake({ seed: 'causeway-plaid-crash', pageSize: PAGE_SIZE, initialTransactions: TRANSACTIONS });
});

after(async () => {
  fake.onRequest = null;
  try {
    await tearDown(server, storage);
  } finally {
    await fake.close();
  }
});

const env = () => storage.env({
  CAUSEWAY_PLAID_CLIENT_ID: fake.clientId,
  CAUSEWAY_PLAID_SECRET: fake.secret,
  CAUSEWAY_PLAID_URL: fake.url,
  CAUSEWAY_JOB_HEARTBEAT_SECONDS: '10',
  CAUSEWAY_RETRY_DELAY_SECONDS: '0',
});

describe('a worker killed during a paginated Plaid sync', () => {
  it('is recovered by a new process: one copy of each transaction, and the fake\'s final cursor', async (t) => {
    const started = Date.now();
    server = await startServer(env(), { timeoutMs: START_TIMEOUT_MS });
    const key = server.printedKey;
    assert.ok(key, server.stderr());
    let api = client(server.url, key);
    const at = () => `${((Date.now() - started) / 1000).toFixed(1)} s`;
    t.diagnostic(`server ready at ${at()}`);
    // The worker fills the Plaid catalogue at start, from the deployment's settings.
    await until('the Plaid catalogue', async () => (await api.get('/v1/institutions/ins_plaid_109508')).status === 200, 60_000);

    t.diagnostic(`catalogue ready at ${at()}`);
    // 1. Link First Platypus through Hosted Link; the first sync reads 5 transactions a page, slowly.
    const userId = await api.createUser({ externalId: 'plaid-crash' });
    const created = await api.post(`/v1/users/${userId}/connections`, { institutionId: 'ins_plaid_109508', method: 'hosted' });
    assert.equal(created.status, 201, created.text);
    const connectionId: string = created.body.connection.id;
    const known = new Set(fake.items().map((i) => i.itemId));
    const page = await fetch(created.body.link.url, { method: 'POST', body: new URLSearchParams({ action: 'success' }), redirect: 'manual' });
    assert.equal(page.status, 303);
    const item = fake.items().find((i) => !known.has(i.itemId))!;
    assert.ok(item, 'Hosted Link made an Item');
    const syncs = () => fake.requestsTo('/transactions/sync').filter((r) => r.body.access_token === item.accessToken);

    fake.delay('/transactions/sync', PAGE_DELAY_MS);
    const victim = server;
    const kill: { exit: Promise<Exit> | null; during: RequestLogEntry | null } = { exit: null, during: null };
    fake.onRequest = async (entry) => {
      if (entry.path !== '/transactions/sync' || entry.body.access_token !== item.accessToken || kill.exit) return;
      if (syncs().length < KILL_AT_PAGE) return;
      kill.during = entry;
      kill.exit = victim.crash();
      await kill.exit;
    };
    const back = await fetch(page.headers.get('location')!);
    assert.equal(back.status, 200, await back.text());
    const [job] = (await api.get(`/v1/users/${userId}/connections/${connectionId}/jobs`)).body.data;
    assert.equal(job.type, 'create');

    // 2. SIGKILL while the worker waits for a page, after KILL_AT_PAGE - 1 pages were served.
    const exit = await until('the kill', () => kill.exit, 60_000);
    assert.deepEqual(exit, { code: null, signal: 'SIGKILL' });
    server = null;
    fake.onRequest = null;
    fake.delay('/transactions/sync', 0);
    const pagesBefore = syncs().length;
    assert.equal(pagesBefore, KILL_AT_PAGE);
    assert.ok(syncs().slice(0, -1).every((r) => r.status === 200 && (r.response as { has_more: boolean }).has_more), 'every page served so far said has_more');
    assert.equal(kill.during?.status, undefined, 'killed while the page was being asked for, before it was answered');
    t.diagnostic(`killed waiting for page ${KILL_AT_PAGE} of ${Math.ceil(TRANSACTIONS / PAGE_SIZE)} at ${at()}`);
    // The bank moves on while Causeway is down.
    fake.addTransactions(item.itemId, 3);

    // 3. A new process. Before the job runs again, nothing of the half-read sync is stored.
    server = await startServer(env(), { timeoutMs: START_TIMEOUT_MS });
    assert.equal(server.printedKey, null, 'the data survived: no new key on restart');
    t.diagnostic(`restarted at ${at()}`);
    api = client(server.url, key);
    const jobNow = async () => (await api.get(`/v1/jobs/${job.id}`)).body;
    const first = await jobNow();
    const stored = (await api.allTransactions(userId)).data;
    const second = await jobNow();
    if (first.attempts === 1 && second.attempts === 1) {
      assert.deepEqual(stored, [], 'no transaction of the interrupted pagination was stored');
      const con = (await api.get(`/v1/users/${userId}/connections/${connectionId}`)).body;
      assert.equal(con.firstSyncedAt, null);
    } else {
      t.diagnostic('the job ran again before it could be looked at');
    }

    // 4. The job is handed to the new worker once the dead one's heartbeat lapses, and finishes.
    const done = await api.waitForJob(job.id, { timeoutMs: 120_000, intervalMs: 200 });
    assert.equal(done.status, 'succeeded', JSON.stringify(done));
    assert.ok(done.attempts >= 2, `a second run finished the job (attempts ${done.attempts})`);
    const con = (await api.get(`/v1/users/${userId}/connections/${connectionId}`)).body;
    assert.equal(con.status, 'active', JSON.stringify(con));
    const resumed = syncs().slice(pagesBefore);
    assert.equal(resumed[0]!.body.cursor, undefined, 'the new run read from the start: no cursor had been stored');
    const truth = fake.transactions(item.itemId);
    assert.equal(resumed.length, Math.ceil(truth.length / PAGE_SIZE), 'the new run read every page once');
    const finalCursor = (resumed.at(-1)!.response as { next_cursor: string; has_more: boolean });
    assert.equal(finalCursor.has_more, false);
    const listed = (await api.allTransactions(userId)).data;
    assert.equal(listed.length, truth.length, 'as many transactions as the Item has');
    assert.equal(new Set(listed.map((x) => x.id)).size, listed.length);
    t.diagnostic(`job succeeded after ${done.attempts} attempts at ${at()}; ${listed.length} transactions in ${resumed.length} pages`);

    // 5. In the database: each of the Item's transactions once, and the fake's final cursor.
    const stopped = await server.stop(15_000);
    assert.deepEqual(stopped, { code: 0, signal: null }, server.stderr());
    server = null;
    const database = await openDatabase({ databaseUrl: storage.databaseUrl, dataDir: storage.dataDir });
    try {
      const q = async (query: ReturnType<typeof sql>) => ((await database.db.execute(query)) as unknown as { rows: any[] }).rows;
      const [row] = await q(sql`select provider_cursor from connections where id = ${connectionId}`);
      assert.equal(row.provider_cursor, finalCursor.next_cursor, "the stored cursor is the fake's final one");
      const ids = (await q(sql`select provider_transaction_id from transactions where connection_id = ${connectionId} and removed_at is null`))
        .map((r) => r.provider_transaction_id as string);
      assert.equal(ids.length, truth.length);
      assert.deepEqual(ids.sort(), truth.map((x) => x.transaction_id).sort(), 'each transaction of the Item, once');
      const [all] = await q(sql`select count(*)::int as n from transactions where connection_id = ${connectionId}`);
      assert.equal(all.n, truth.length, 'no removed leftovers either');
    } finally {
      await database.close();
    }
    t.diagnostic(`done at ${at()}`);
  });
});
