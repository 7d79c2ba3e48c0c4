/**
 * Bulk migration through the API (POST /v1/imports) against the Plaid fake: every row imported for
 * its user (found by id, external id or email, or created), failures listed by row with their code,
 * a token already imported for the same user skipped with the existing connection (never a second),
 * bad rows refused by number with nothing stored, a CSV body numbered by line, an idempotent POST,
 * a rate limit waited out, a run cut off between a connection and its row resumed without a
 * duplicate, counts always the rows' statuses, tokens never shown, another application's batch 404.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'drizzle-orm';
import { startPlaidFake, type PlaidFake } from './fakes/plaid/index.js';
import { startTestApp, type TestApp } from './helpers/app.js';
import { until } from './helpers/wait.js';
import { systemClock } from '../src/domain/clock.js';
import { createApiKey, createApplication } from '../src/services/applications.js';
import { createImportBatch, resumeStalledImports, runImportBatch, runImportBatchJob } from '../src/services/imports.js';
import { IMPORT_BATCH_QUEUE } from '../src/jobs/queue.js';
import { importConnection } from '../src/services/import.js';
import { markRowAttempted } from '../src/db/repos/imports.js';
import { findDefaultApplication } from '../src/db/repos/applications.js';
import { createUser } from '../src/services/users.js';

let fake: PlaidFake;
let t: TestApp;

before(async () => {
  fake = await startPlaidFake({ seed: 'causeway-imports-test', initialTransactions: 5 });
  t = await startTestApp({ config: { providerEnv: { CAUSEWAY_PLAID_CLIENT_ID: fake.clientId, CAUSEWAY_PLAID_SECRET: fake.secret, CAUSEWAY_PLAID_URL: fake.url } } });
  // The worker fills the Plaid catalogue at start; rows that name an institution need it there.
  await until('the Plaid catalogue', async () => (await t.api('GET', '/v1/institutions/ins_plaid_109508')).status === 200, 60_000);
});
after(async () => {
  await t?.close();
  await fake?.close();
});

async function rows<T = any>(query: ReturnType<typeof sql>): Promise<T[]> {
  return ((await t.core.db.execute(query)) as unknown as { rows: T[] }).rows;
}

/** A batch once it has completed (rows are paced at 10 a second by default). */
async function completed(id: string, timeoutMs = 30_000): Promise<any> {
  return until(`import ${id} completed`, async () => {
    const res = await t.api('GET', `/v1/imports/${id}`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body.status === 'completed' ? res.body : false;
  }, timeoutMs);
}

/** The batch's counts as its rows say them, read straight from the table. */
async function rowCounts(id: string): Promise<Record<string, number>> {
  const counted = await rows<{ status: string; n: number }>(sql`select status, count(*)::int as n from import_rows where batch_id = ${id} group by status`);
  return Object.fromEntries(counted.map((r) => [r.status, Number(r.n)]));
}

function assertCountsMatchRows(batch: any, byStatus: Record<string, number>) {
  for (const s of ['imported', 'skipped', 'failed', 'pending'] as const) assert.equal(batch.counts[s], byStatus[s] ?? 0, `${s}: ${JSON.stringify(batch.counts)} vs rows ${JSON.stringify(byStatus)}`);
  assert.equal(batch.counts.total, Object.values(byStatus).reduce((a, b) => a + b, 0));
}

async function allRows(id: string): Promise<any[]> {
  const res = await t.api('GET', `/v1/imports/${id}/rows?limit=500`);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.data;
}

async function connectionsOf(userId: string): Promise<any[]> {
  const res = await t.api('GET', `/v1/users/${userId}/connections`);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.data;
}

const item = () => fake.createItem({ transactions: 5 });

describe('POST /v1/imports', () => {
  it('imports every row for its user (by id, external id or email; created when new), counts them and never shows a token', async () => {
    const existing = await t.createUser();
    const items = [item(), item(), item(), item()];
    const res = await t.api('POST', '/v1/imports', {
      provider: 'plaid',
      rows: [
        { user: existing, accessToken: items[0]!.accessToken },
        { user: 'meld-user-1', accessToken: items[1]!.accessToken },
        { user: 'Ana.Import@example.com', accessToken: items[2]!.accessToken },
        { user: 'meld-user-1', accessToken: items[3]!.accessToken, institutionId: 'ins_plaid_109508' },
      ],
    });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    assert.match(res.body.id, /^imp_/);
    assert.equal(res.body.provider, 'plaid');
    assert.equal(res.body.source, 'api');
    assert.deepEqual(res.body.counts, { total: 4, imported: 0, skipped: 0, failed: 0, pending: 4 });

    const done = await completed(res.body.id);
    assert.deepEqual(done.failures.data, []);
    assert.deepEqual(done.counts, { total: 4, imported: 4, skipped: 0, failed: 0, pending: 0 });
    assert.deepEqual(done.failures, { data: [], nextCursor: null });
    assert.ok(done.finishedAt && done.startedAt);
    assertCountsMatchRows(done, await rowCounts(done.id));

    const list = await allRows(done.id);
    assert.deepEqual(list.map((r) => [r.row, r.status]), [[1, 'imported'], [2, 'imported'], [3, 'imported'], [4, 'imported']]);
    assert.equal(list[0].userId, existing);
    assert.equal(list[1].userId, list[3].userId, 'two rows of one new user make one user');
    const meld = (await t.api('GET', `/v1/users/${list[1].userId}`)).body;
    assert.equal(meld.externalId, 'meld-user-1');
    const ana = (await t.api('GET', `/v1/users/${list[2].userId}`)).body;
    assert.equal(ana.email, 'Ana.Import@example.com');
    for (const r of list) {
      const connections = await connectionsOf(r.userId);
      const c = connections.find((x) => x.id === r.connectionId);
      assert.ok(c, `row ${r.row}'s connection belongs to its user`);
      assert.equal(c.provider, 'plaid');
      assert.equal(c.institution.id, 'ins_plaid_109508');
    }
    assert.equal((await connectionsOf(list[1].userId)).length, 2);

    // The tokens are stored encrypted and never answered.
    const answers = JSON.stringify([res.body, done, list, (await t.api('GET', '/v1/imports')).body]);
    const stored = JSON.stringify(await rows(sql`select * from import_rows where batch_id = ${done.id}`));
    for (const i of items) {
      assert.ok(!answers.includes(i.accessToken), 'no token in an answer');
      assert.ok(!stored.includes(i.accessToken), 'no token in clear in the table');
    }
  });

  it('lists failed rows with their row, user, code and message, a page at a time', async () => {
    const good = item();
    const res = await t.api('POST', '/v1/imports', {
      provider: 'plaid',
      rows: [
        { user: 'fail-user-1', accessToken: good.accessToken },
        { user: 'fail-user-2', accessToken: 'access-sandbox-00000000-0000-4000-8000-000000000000' },
        { user: 'usr_0000000000zzzzzzzzzzzzzzzz', accessToken: item().accessToken },
        { user: 'fail-user-3', accessToken: item().accessToken, institutionId: 'ins_nope' },
      ],
    });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const done = await completed(res.body.id);
    assert.deepEqual(done.counts, { total: 4, imported: 1, skipped: 0, failed: 3, pending: 0 });
    assertCountsMatchRows(done, await rowCounts(done.id));
    assert.deepEqual(done.failures.data.map((f: any) => [f.row, f.user, f.code]), [
      [2, 'fail-user-2', 'validation_failed'],
      [3, 'usr_0000000000zzzzzzzzzzzzzzzz', 'not_found'],
      [4, 'fail-user-3', 'not_found'],
    ]);
    assert.match(done.failures.data[0].message, /Plaid does not recognise this access token \(INVALID_ACCESS_TOKEN\)/);
    assert.match(done.failures.data[1].message, /No user with id usr_0000000000zzzzzzzzzzzzzzzz/);
    assert.match(done.failures.data[2].message, /institution/);

    const first = await t.api('GET', `/v1/imports/${done.id}?limit=2`);
    assert.deepEqual(first.body.failures.data.map((f: any) => f.row), [2, 3]);
    assert.ok(first.body.failures.nextCursor);
    const second = await t.api('GET', `/v1/imports/${done.id}?limit=2&cursor=${encodeURIComponent(first.body.failures.nextCursor)}`);
    assert.deepEqual(second.body.failures.data.map((f: any) => f.row), [4]);
    assert.equal(second.body.failures.nextCursor, null);
    const failedRows = await t.api('GET', `/v1/imports/${done.id}/rows?status=failed`);
    assert.deepEqual(failedRows.body.data.map((r: any) => r.row), [2, 3, 4]);
    assert.equal((await t.api('GET', `/v1/imports/${done.id}?cursor=garbage`)).body.code, 'invalid_cursor');
  });

  it('skips a token already imported for the same user (the existing connection kept), refuses one imported for another user, and never makes a second connection', async () => {
    const userId = await t.createUser();
    const other = await t.createUser();
    const already = item();
    const single = await t.api('POST', `/v1/users/${userId}/connections/import`, { provider: 'plaid', accessToken: already.accessToken });
    assert.equal(single.status, 202, JSON.stringify(single.body));
    const fresh = item();
    const body = {
      provider: 'plaid',
      rows: [
        { user: userId, accessToken: already.accessToken },
        { user: userId, accessToken: fresh.accessToken },
        { user: other, accessToken: already.accessToken },
      ],
    };
    const first = await completed((await t.api('POST', '/v1/imports', body)).body.id);
    assert.deepEqual(first.counts, { total: 3, imported: 1, skipped: 1, failed: 1, pending: 0 });
    const firstRows = await allRows(first.id);
    assert.equal(firstRows[0].status, 'skipped');
    assert.equal(firstRows[0].connectionId, single.body.connection.id, 'the skipped row names the connection already there');
    assert.equal(firstRows[0].error, null);
    assert.deepEqual([firstRows[2].status, firstRows[2].error.code], ['failed', 'conflicting_connection']);

    // The same rows again: everything that was imported is skipped; nothing new.
    const again = await t.api('POST', '/v1/imports', body);
    assert.equal(again.status, 202);
    assert.notEqual(again.body.id, first.id);
    const second = await completed(again.body.id);
    assert.deepEqual(second.counts, { total: 3, imported: 0, skipped: 2, failed: 1, pending: 0 });
    const secondRows = await allRows(second.id);
    assert.deepEqual(secondRows.slice(0, 2).map((r) => r.connectionId), firstRows.slice(0, 2).map((r) => r.connectionId));
    assertCountsMatchRows(second, await rowCounts(second.id));
    assert.equal((await connectionsOf(userId)).length, 2);
    assert.equal((await connectionsOf(other)).length, 0);
  });

  it('refuses bad rows by their number and stores nothing: JSON fields, CSV lines, too many rows, an unknown provider', async () => {
    const before = (await t.api('GET', '/v1/imports?limit=500')).body.data.length;
    const empty = await t.api('POST', '/v1/imports', { provider: 'plaid', rows: [{ user: 'a', accessToken: 'access-x' }, { user: 'b', accessToken: '' }] });
    assert.equal(empty.status, 400, JSON.stringify(empty.body));
    assert.equal(empty.body.code, 'validation_failed');
    assert.deepEqual(empty.body.errors.map((e: any) => e.field), ['body.rows.1.accessToken']);

    const spaced = await t.api('POST', '/v1/imports', { provider: 'plaid', rows: [{ user: 'a', accessToken: 'access x' }] });
    assert.equal(spaced.status, 400);
    assert.deepEqual(spaced.body.errors, [{ field: 'body.rows.0', message: 'the access token contains spaces' }]);

    const csv = await t.app.inject({
      method: 'POST', url: '/v1/imports?provider=plaid', headers: { authorization: `Bearer ${t.key}`, 'content-type': 'text/csv' },
      payload: 'user,token\nmeld-1,access-1\nmeld-2\n,access-3\nmeld-4,access-4\n',
    });
    assert.equal(csv.statusCode, 400, csv.body);
    assert.deepEqual(csv.json().errors, [{ field: 'line 3', message: 'has 1 column; expected user,token or user,token,institutionId' }, { field: 'line 4', message: 'no user (a usr_… id, your external id or an email)' }]);
    assert.match(csv.json().detail, /^2 rows are not valid, so nothing was imported: line 3: has 1 column/);

    const noProvider = await t.app.inject({ method: 'POST', url: '/v1/imports', headers: { authorization: `Bearer ${t.key}`, 'content-type': 'text/csv' }, payload: 'a,b\n' });
    assert.equal(noProvider.statusCode, 400);
    assert.deepEqual(noProvider.json().errors.map((e: any) => e.field), ['querystring.provider']);

    const many = Array.from({ length: 10_001 }, (_, i) => ({ user: `u${i}`, accessToken: `access-${i}` }));
    const tooMany = await t.api('POST', '/v1/imports', { provider: 'plaid', rows: many });
    assert.equal(tooMany.status, 400, JSON.stringify(tooMany.body).slice(0, 300));
    assert.deepEqual(tooMany.body.errors.map((e: any) => e.field), ['body.rows']);

    const unknown = await t.api('POST', '/v1/imports', { provider: 'nope', rows: [{ user: 'a', accessToken: 'access-a' }] });
    assert.equal(unknown.status, 400);
    assert.deepEqual(unknown.body.errors.map((e: any) => e.field), ['body.provider']);
    assert.equal((await t.api('GET', '/v1/imports?limit=500')).body.data.length, before, 'no batch stored');
  });

  it('takes a CSV body with ?provider=, numbering rows by line', async () => {
    const [a, b] = [item(), item()];
    const res = await t.app.inject({
      method: 'POST', url: '/v1/imports?provider=plaid', headers: { authorization: `Bearer ${t.key}`, 'content-type': 'text/csv' },
      payload: `user,access_token\r\ncsv-user-1,${a.accessToken}\r\n\r\n"csv-user-2","${b.accessToken}",ins_plaid_109508\r\ncsv-user-3,access-sandbox-00000000-0000-4000-8000-000000000001\r\n`,
    });
    assert.equal(res.statusCode, 202, res.body);
    const done = await completed(res.json().id);
    assert.deepEqual(done.counts, { total: 3, imported: 2, skipped: 0, failed: 1, pending: 0 });
    assert.deepEqual((await allRows(done.id)).map((r) => r.row), [2, 4, 5]);
    assert.deepEqual(done.failures.data.map((f: any) => [f.row, f.user]), [[5, 'csv-user-3']]);
  });

  it('answers a repeated Idempotency-Key with the first batch, making one', async () => {
    const body = { provider: 'plaid', rows: [{ user: 'idem-user', accessToken: item().accessToken }] };
    const key = `imports-${Date.now()}`;
    const a = await t.api('POST', '/v1/imports', body, { 'idempotency-key': key });
    const b = await t.api('POST', '/v1/imports', body, { 'idempotency-key': key });
    assert.equal(a.status, 202);
    assert.equal(b.status, 202);
    assert.equal(b.body.id, a.body.id);
    assert.equal(b.headers['idempotent-replayed'], 'true');
    const c = await t.api('POST', '/v1/imports', { ...body, rowsPerSecond: 5 }, { 'idempotency-key': key });
    assert.equal(c.status, 422);
    assert.equal(c.body.code, 'idempotency_key_reused');
    const listed = (await t.api('GET', '/v1/imports?limit=500')).body.data.filter((x: any) => x.id === a.body.id);
    assert.equal(listed.length, 1);
    const done = await completed(a.body.id);
    assert.equal(done.counts.imported, 1);
    const user = (await allRows(done.id))[0].userId;
    assert.equal((await connectionsOf(user)).length, 1);
  });

  it("answers 404 for another application's batch and refuses client tokens", async () => {
    const mine = (await t.api('POST', '/v1/imports', { provider: 'plaid', rows: [{ user: 'iso-user', accessToken: item().accessToken }] })).body;
    const appB = await createApplication(t.core.db, systemClock, { name: 'B', environment: 'sandbox' });
    const keyB = (await createApiKey(t.core.db, systemClock, appB, 'b')).key;
    const asB = (url: string) => t.api('GET', url, undefined, { authorization: `Bearer ${keyB}` });
    for (const url of [`/v1/imports/${mine.id}`, `/v1/imports/${mine.id}/rows`]) {
      const res = await asB(url);
      assert.equal(res.status, 404, JSON.stringify(res.body));
      assert.equal(res.body.code, 'not_found');
      assert.equal(JSON.stringify(res.body).includes('iso-user'), false);
    }
    assert.deepEqual((await asB('/v1/imports')).body.data, []);
    const userId = await t.createUser();
    const token = (await t.api('POST', `/v1/users/${userId}/client-tokens`, { scopes: ['connect', 'manage'] })).body.token;
    for (const [method, url] of [['GET', '/v1/imports'], ['GET', `/v1/imports/${mine.id}`], ['POST', '/v1/imports']] as const) {
      const res = await t.api(method, url, method === 'POST' ? { provider: 'plaid', rows: [{ user: userId, accessToken: 'access-x' }] } : undefined, { authorization: `Bearer ${token}` });
      assert.equal(res.status, 403, `${method} ${url}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.code, 'client_token_not_allowed');
    }
    await completed(mine.id);
  });

  it("waits out the provider's rate limit (its Retry-After) and imports the row it refused", async () => {
    const items = [item(), item()];
    // The first row's Item only: a job of an earlier test calling /item/get meanwhile must not take a 429 meant for this import.
    fake.injectError('/item/get', { error_type: 'RATE_LIMIT_EXCEEDED', error_code: 'ITEM_GET_LIMIT', http: 429, retryAfter: 1, times: 2, itemId: items[0]!.itemId });
    const ours = () => fake.requestsTo('/item/get').filter((c) => items.some((i) => i.accessToken === c.body.access_token));
    const started = Date.now();
    const res = await t.api('POST', '/v1/imports', { provider: 'plaid', rows: items.map((i, n) => ({ user: `limited-${n}`, accessToken: i.accessToken })), concurrency: 1 });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const done = await completed(res.body.id);
    assert.deepEqual(done.counts, { total: 2, imported: 2, skipped: 0, failed: 0, pending: 0 });
    // The import's own calls (its jobs' later calls come after the rows are done)
    const calls = ours().slice(0, 4);
    assert.deepEqual(calls.map((c) => c.status), [429, 429, 200, 200]);
    assert.ok(Date.now() - started >= 2_000, 'each Retry-After of 1 s was waited');
    const gaps = calls.slice(1, 3).map((c, i) => Date.parse(c.at) - Date.parse(calls[i]!.at));
    for (const gap of gaps) assert.ok(gap >= 950, `a call after a 429 waits its Retry-After (waited ${gap} ms)`);
  });
});

describe('a run cut off and run again', () => {
  it('marks a row whose connection was made before the cut as imported, with that connection, and makes no second', async () => {
    const tenant = { application: (await findDefaultApplication(t.core.db))! };
    const [a, b, c] = [item(), item(), item()];
    const before = await t.createUser();
    // Row 3's token was imported for its user before the batch: skipped.
    await importConnection(t.core, tenant, before, { provider: 'plaid', accessToken: c.accessToken });
    const batch = await createImportBatch(t.core, tenant, {
      provider: 'plaid', source: 'cli', rowsPerSecond: 0, concurrency: 2,
      rows: [
        { row: 1, user: 'cut-user-1', accessToken: a.accessToken, institutionId: null },
        { row: 2, user: 'cut-user-2', accessToken: b.accessToken, institutionId: null },
        { row: 3, user: before, accessToken: c.accessToken, institutionId: null },
      ],
    });
    // A run that got as far as row 1's connection and was killed before marking the row.
    const u1 = (await createUser(t.core, tenant, { externalId: 'cut-user-1' })).id;
    await markRowAttempted(t.core.db, batch.id, 1, u1, new Date(Date.now() - 1_000));
    const made = await importConnection(t.core, tenant, u1, { provider: 'plaid', accessToken: a.accessToken });

    const seen: number[] = [];
    const result = await runImportBatch(t.core, batch.id, { maxWaitMs: 60_000, onRow: (e) => seen.push(e.row) });
    assert.ok(result);
    assert.equal(result.batch.status, 'completed');
    assert.deepEqual([result.batch.imported, result.batch.skipped, result.batch.failed], [2, 1, 0]);
    assert.deepEqual(seen.sort(), [1, 2, 3]);
    const list = await allRows(batch.id);
    assert.deepEqual(list.map((r) => [r.row, r.status]), [[1, 'imported'], [2, 'imported'], [3, 'skipped']]);
    assert.equal(list[0].connectionId, made.connection.id, 'the connection made before the cut, not a second');
    assert.equal((await connectionsOf(u1)).length, 1);
    assert.equal((await connectionsOf(before)).length, 1);

    // Run again: nothing pending, nothing changes.
    const again = await runImportBatch(t.core, batch.id, { maxWaitMs: 60_000 });
    assert.deepEqual([again!.batch.imported, again!.batch.skipped, again!.batch.failed], [2, 1, 0]);
    assertCountsMatchRows((await t.api('GET', `/v1/imports/${batch.id}`)).body, await rowCounts(batch.id));
  });

  it('stops starting rows when asked (a worker shutting down), and the job says so, so pg-boss retries it; the next run finishes the rest', async () => {
    const tenant = { application: (await findDefaultApplication(t.core.db))! };
    const items = Array.from({ length: 6 }, () => item());
    const batch = await createImportBatch(t.core, tenant, {
      provider: 'plaid', source: 'cli', rowsPerSecond: 20, concurrency: 1,
      rows: items.map((i, n) => ({ row: n + 1, user: `stop-user-${n}`, accessToken: i.accessToken, institutionId: null })),
    });
    const stop = new AbortController();
    const first = await runImportBatch(t.core, batch.id, { maxWaitMs: 60_000, signal: stop.signal, onRow: (e) => { if (e.row === 2) stop.abort(); } });
    assert.equal(first!.stopped, true);
    assert.equal(first!.batch.status, 'running');
    assert.ok(first!.batch.imported >= 2 && first!.batch.imported < 6, `stopped part way: ${first!.batch.imported}`);
    await assert.rejects(runImportBatchJob(t.core, batch.id, AbortSignal.abort()), /stopped with rows pending/);
    await runImportBatchJob(t.core, batch.id);
    const done = (await t.api('GET', `/v1/imports/${batch.id}`)).body;
    assert.equal(done.status, 'completed');
    assert.deepEqual(done.counts, { total: 6, imported: 6, skipped: 0, failed: 0, pending: 0 });
    const connections = new Set((await allRows(batch.id)).map((r) => r.connectionId));
    assert.equal(connections.size, 6);
  });

  it("sends an API batch again when its run stopped moving (a delivery lost in a crash), and the worker finishes it", async () => {
    const tenant = { application: (await findDefaultApplication(t.core.db))! };
    // Created as POST /v1/imports does, but the process died before sending it to the queue.
    const batch = await createImportBatch(t.core, tenant, {
      provider: 'plaid', source: 'api', rows: [{ row: 1, user: 'lost-user', accessToken: item().accessToken, institutionId: null }],
    });
    assert.equal(await resumeStalledImports(t.core), 0, 'not stalled yet');
    await t.core.db.execute(sql`update import_batches set updated_at = now() - interval '10 minutes' where id = ${batch.id}`);
    assert.equal(await resumeStalledImports(t.core), 1);
    assert.equal(await resumeStalledImports(t.core), 0, 'taken once');
    const done = await completed(batch.id);
    assert.deepEqual(done.counts, { total: 1, imported: 1, skipped: 0, failed: 0, pending: 0 });
  });

  it('hands a Retry-After longer than a run waits on to a job that starts after it, the row left pending', async () => {
    fake.injectError('/item/get', { error_type: 'RATE_LIMIT_EXCEEDED', error_code: 'ITEM_GET_LIMIT', http: 429, retryAfter: 90, times: 1 });
    const res = await t.api('POST', '/v1/imports', { provider: 'plaid', rows: [{ user: 'later-user', accessToken: item().accessToken }] });
    assert.equal(res.status, 202);
    const waiting = await until('the batch waits', async () => {
      const b = (await t.api('GET', `/v1/imports/${res.body.id}`)).body;
      return b.waitUntil ? b : false;
    }, 20_000);
    assert.equal(waiting.status, 'running');
    assert.deepEqual(waiting.counts, { total: 1, imported: 0, skipped: 0, failed: 0, pending: 1 });
    const waitMs = Date.parse(waiting.waitUntil) - Date.now();
    assert.ok(waitMs > 60_000 && waitMs <= 90_000, `waits about 90 s (${waitMs} ms left)`);
    const [row] = await rows<{ queue_job_id: string }>(sql`select queue_job_id from import_batches where id = ${res.body.id}`);
    const next = await t.core.queue.boss.getJobById(IMPORT_BATCH_QUEUE, row!.queue_job_id);
    assert.ok(next, 'a job is queued for after the wait');
    assert.equal(next.state, 'created');
    assert.ok(Math.abs(new Date(next.startAfter).getTime() - Date.parse(waiting.waitUntil)) < 1_000, `it starts at the wait's end: ${next.startAfter}`);
  });
});
