/**
 * End to end: the real `causeway` process on a free port with an empty data directory (and, with
 * DATABASE_URL, a fresh PostgreSQL database), driven over HTTP with fetch and through its CLI.
 * The tests run in order and share one data directory: each step builds on what the previous left.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { usingPostgres } from './helpers/db.js';
import { client, createStorage, runCli, startServer, type Client, type Server, type Storage, tearDown } from './helpers/process.js';

const WEB = { institutionId: 'ins_sandbox_web', method: 'web', credentials: { login: 'user_good', password: 'pass_good' } };

let storage: Storage;
let server: Server | null = null;
let key: string;
let api: Client;
/** What the walk-through created, checked again after the lock test and the restart. */
const seen: { userId?: string; connectionId?: string; accounts?: number; transactions?: number; obUserId?: string } = {};

before(async () => {
  storage = await createStorage();
});

after(() => tearDown(server, storage));

describe('causeway start on an empty data directory', () => {
  it('prints its address and a first API key, and answers /health without a key', async () => {
    server = await startServer(storage.env());
    assert.match(server.stderr(), /Causeway is running at http:\/\/127\.0\.0\.1:\d+/);
    assert.equal(server.url, `http://127.0.0.1:${server.port}`);
    assert.ok(server.printedKey, `no key in:\n${server.stderr()}`);
    assert.match(server.printedKey, /^sk_sandbox_[A-Za-z0-9_-]+$/);
    assert.equal(server.stdout().includes(server.printedKey), false, 'the key goes to stderr, not to the logs on stdout');
    key = server.printedKey;
    api = client(server.url, key);

    const health = await api.get('/health', { key: null });
    assert.equal(health.status, 200);
    assert.deepEqual(health.body, { status: 'ok' });
    assert.equal((await api.get('/v1/institutions', { key: null })).status, 401);
    assert.equal((await api.get('/v1/institutions', { key: 'sk_sandbox_nope' })).status, 401);
    const institutions = await api.get('/v1/institutions');
    assert.equal(institutions.status, 200);
    assert.ok(institutions.body.data.some((i: any) => i.id === 'ins_sandbox_web'));
  });

  it('links a web connection: job steps succeed, accounts and paginated transactions, then a refresh', async () => {
    const userId = await api.createUser({ externalId: 'e2e-user', email: 'jo@example.com' });
    seen.userId = userId;
    const created = await api.post(`/v1/users/${userId}/connections`, WEB);
    assert.equal(created.status, 202, created.text);
    const { connection, job } = created.body;
    assert.equal(connection.status, 'pending');
    assert.match(job.id, /^job_/);
    assert.deepEqual(job.steps.map((s: any) => s.name), ['verify-credentials', 'retrieve-accounts', 'retrieve-transactions', 'retrieve-identity']);
    seen.connectionId = connection.id;

    const done = await api.waitForJob(job.id);
    assert.equal(done.status, 'succeeded', JSON.stringify(done));
    for (const step of done.steps) assert.equal(step.status, 'success', JSON.stringify(step));
    assert.equal(done.error, null);

    const accounts = await api.get(`/v1/users/${userId}/accounts`);
    assert.equal(accounts.status, 200);
    assert.ok(accounts.body.data.length >= 4, `accounts: ${accounts.body.data.length}`);
    const accountIds = new Set(accounts.body.data.map((a: any) => a.id));
    assert.equal(accountIds.size, accounts.body.data.length);
    seen.accounts = accountIds.size;

    // Pagination with limit=100: pages follow each other without overlap, newest first.
    const first = await api.get(`/v1/users/${userId}/transactions?limit=100`);
    assert.equal(first.status, 200, first.text);
    assert.equal(first.body.data.length, 100);
    assert.ok(first.body.nextCursor, 'more than 100 transactions, so a next page');
    const second = await api.get(`/v1/users/${userId}/transactions?limit=100&cursor=${encodeURIComponent(first.body.nextCursor)}`);
    assert.equal(second.status, 200, second.text);
    assert.ok(second.body.data.length > 0);
    const firstIds = new Set(first.body.data.map((t: any) => t.id));
    assert.ok(second.body.data.every((t: any) => !firstIds.has(t.id)), 'pages do not overlap');
    assert.ok(first.body.data.at(-1).date >= second.body.data[0].date, 'newest first across pages');
    const all = await api.allTransactions(userId, 100);
    assert.ok(all.pages >= 2);
    assert.equal(new Set(all.data.map((t: any) => t.id)).size, all.data.length, 'no transaction twice across pages');
    assert.ok(all.data.every((t: any) => accountIds.has(t.accountId)));
    assert.ok(all.data.some((t: any) => t.status === 'pending') && all.data.some((t: any) => t.status === 'posted'));
    assert.deepEqual(all.data.slice(0, 200).map((t: any) => t.id), [...first.body.data, ...second.body.data].map((t: any) => t.id));
    const bulk = await api.allTransactions(userId, 500);
    assert.deepEqual(bulk.data.map((t: any) => t.id), all.data.map((t: any) => t.id), 'the same list whatever the page size');
    seen.transactions = all.data.length;

    const refresh = await api.post(`/v1/users/${userId}/connections/${connection.id}/refresh`);
    assert.equal(refresh.status, 202, refresh.text);
    assert.notEqual(refresh.body.job.id, job.id);
    assert.equal(refresh.body.job.type, 'refresh');
    const refreshed = await api.waitForJob(refresh.body.job.id);
    assert.equal(refreshed.status, 'succeeded', JSON.stringify(refreshed));
    const con = await api.get(`/v1/users/${userId}/connections/${connection.id}`);
    assert.equal(con.status, 200);
    assert.equal(con.body.status, 'active');
    assert.equal(con.body.statusReason, null);
    assert.equal((await api.allTransactions(userId)).data.length, seen.transactions, 'a refresh stores nothing twice');
  });

  it('links an openbanking connection approved on the consent page', async () => {
    const userId = await api.createUser({ externalId: 'e2e-ob' });
    seen.obUserId = userId;
    const created = await api.post(`/v1/users/${userId}/connections`, { institutionId: 'ins_sandbox_openbank', method: 'openbanking' });
    assert.equal(created.status, 201, created.text);
    assert.equal(created.body.job, null);
    assert.equal(created.body.connection.status, 'pre_init');
    const authorizationUrl: string = created.body.authorizationUrl;
    assert.ok(authorizationUrl.startsWith(`${server!.url}/`), authorizationUrl);

    const page = await api.get(authorizationUrl, { key: null });
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /text\/html/);
    const approved = await api.post(authorizationUrl, 'decision=approve&persona=user_good', {
      key: null, headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    assert.equal(approved.status, 200, approved.text);

    const connectionId = created.body.connection.id;
    const jobs = await api.get(`/v1/users/${userId}/connections/${connectionId}/jobs`);
    assert.equal(jobs.status, 200);
    assert.equal(jobs.body.data.length, 1);
    assert.equal(jobs.body.data[0].steps[0].name, 'authorize');
    const done = await api.waitForJob(jobs.body.data[0].id);
    assert.equal(done.status, 'succeeded', JSON.stringify(done));
    for (const step of done.steps) assert.ok(['success', 'skipped'].includes(step.status), JSON.stringify(step));
    const con = await api.get(`/v1/users/${userId}/connections/${connectionId}`);
    assert.equal(con.body.status, 'active');
    assert.ok(con.body.consent?.grantedAt && con.body.consent?.expiresAt);
    assert.ok((await api.get(`/v1/users/${userId}/accounts`)).body.data.length >= 1);
  });

  it(usingPostgres()
    ? 'on PostgreSQL, a second process shares the database while the first runs'
    : 'refuses a second process on the data directory in use, and the first keeps running', async () => {
    if (!usingPostgres()) {
      const second = await runCli(['start'], { ...storage.env(), PORT: '0' }, 15_000);
      assert.notEqual(second.code, 0, `second start exited ${second.code}\n${second.stderr}`);
      assert.match(second.stderr, /in use/);
      assert.ok(second.stderr.includes(storage.dataDir), second.stderr);
      assert.ok(second.stderr.includes(`pid ${server!.child.pid}`), second.stderr);
      const list = await runCli(['keys', 'list'], storage.env(), 15_000);
      assert.notEqual(list.code, 0, `keys list exited ${list.code}\n${list.stderr}`);
      assert.match(list.stderr, /in use/);
      assert.ok(list.stderr.includes(storage.dataDir), list.stderr);
      assert.equal(list.stdout, '');
    } else {
      const list = await runCli(['keys', 'list'], storage.env(), 15_000);
      assert.equal(list.code, 0, list.stderr);
      assert.match(list.stdout, /^key_\S+\s+\S+…\s+default\s+created /m);
      const other = await startServer(storage.env(), { args: ['--role', 'api'] });
      try {
        assert.equal(other.printedKey, null, 'the database already has a key');
        const viaOther = await client(other.url, key).get(`/v1/users/${seen.userId}`);
        assert.equal(viaOther.status, 200, viaOther.text);
      } finally {
        assert.equal((await other.stop()).code, 0);
      }
    }
    // Either way, the first server still answers with its data intact.
    assert.equal(server!.child.exitCode, null, 'the first server is still running');
    assert.equal((await api.get('/health')).status, 200);
    assert.equal((await api.get(`/v1/users/${seen.userId}`)).status, 200);
    assert.equal((await api.get(`/v1/users/${seen.userId}/accounts`)).body.data.length, seen.accounts);
    assert.equal((await api.allTransactions(seen.userId!)).data.length, seen.transactions);
    // And it still writes: a new user.
    await api.createUser({ externalId: 'after-lock-test' });
  });
});

describe('the causeway command with the server stopped', () => {
  it('stops on SIGTERM with exit 0, creates, lists and revokes keys, and a restart keeps the data', async (t) => {
    const stopped = Date.now();
    const exit = await server!.stop(15_000);
    assert.deepEqual(exit, { code: 0, signal: null }, server!.stderr());
    t.diagnostic(`SIGTERM to exit: ${Date.now() - stopped} ms`);
    server = null;

    const created = await runCli(['keys', 'create', '--name', 'ci'], storage.env());
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, /^sk_sandbox_[A-Za-z0-9_-]+\n$/);
    const ciKey = created.stdout.trim();
    t.diagnostic(`keys create took ${created.ms} ms`);
    const kept = await runCli(['keys', 'create', '--name', 'ci-kept'], storage.env());
    assert.equal(kept.code, 0, kept.stderr);
    assert.match(kept.stdout, /^sk_sandbox_[A-Za-z0-9_-]+\n$/);
    const keptKey = kept.stdout.trim();
    assert.notEqual(keptKey, ciKey);

    const listed = await runCli(['keys', 'list'], storage.env());
    assert.equal(listed.code, 0, listed.stderr);
    const ciLine = listed.stdout.split('\n').find((l) => /\sci\s+created /.test(l));
    assert.ok(ciLine, listed.stdout);
    assert.ok(!ciLine.includes('revoked'));
    const [ciId, ciPrefix] = ciLine.split(/\s+/);
    assert.match(ciId!, /^key_/);
    assert.ok(ciKey.startsWith(ciPrefix!.replace(/…$/, '')), `${ciPrefix} is a prefix of the key`);
    assert.ok(!listed.stdout.includes(ciKey), 'the list never shows a whole key');
    assert.match(listed.stdout, /\sdefault\s+created /);
    assert.match(listed.stdout, /\sci-kept\s+created /);

    const revoked = await runCli(['keys', 'revoke', ciId!], storage.env());
    assert.equal(revoked.code, 0, revoked.stderr);
    assert.match(revoked.stderr, /Revoked 1 key\./);
    const again = await runCli(['keys', 'revoke', ciId!], storage.env());
    assert.notEqual(again.code, 0, 'revoking a revoked key is an error');
    const relisted = await runCli(['keys', 'list'], storage.env());
    assert.match(relisted.stdout.split('\n').find((l) => l.startsWith(`${ciId} `)) ?? '', /revoked /);

    server = await startServer(storage.env());
    assert.equal(server.printedKey, null, 'a restart on existing data prints no new key');
    const health = await client(server.url, null).get('/health');
    assert.equal(health.status, 200);
    const revokedRes = await client(server.url, ciKey).get('/v1/institutions');
    assert.equal(revokedRes.status, 401, revokedRes.text);
    const keptRes = await client(server.url, keptKey).get(`/v1/users/${seen.userId}`);
    assert.equal(keptRes.status, 200, keptRes.text);
    api = client(server.url, key);
    const user = await api.get(`/v1/users/${seen.userId}`);
    assert.equal(user.status, 200, 'the first key and the earlier user survive the restart');
    assert.equal(user.body.externalId, 'e2e-user');
    assert.equal((await api.get(`/v1/users/${seen.userId}/accounts`)).body.data.length, seen.accounts);
    assert.equal((await api.allTransactions(seen.userId!)).data.length, seen.transactions);
    const con = await api.get(`/v1/users/${seen.userId}/connections/${seen.connectionId}`);
    assert.equal(con.body.status, 'active');

    const exit2 = await server.stop(15_000);
    assert.deepEqual(exit2, { code: 0, signal: null }, server.stderr());
    server = null;
  });
});
