/**
 * Issue 11, the edge: NUL bytes, forged cursors, out-of-range dates, router errors, headers, stored
 * idempotent answers (sealed, replayed as sent, lapsing when their request died) and log redaction.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'drizzle-orm';
import { errForLog } from '../src/logging.js';
import { startTestApp, type TestApp } from './helpers/app.js';

function assertProblem(res: { status: number; body: any; headers: Record<string, unknown> }, status: number, code: string) {
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
  assert.equal(res.body.code, code, JSON.stringify(res.body));
  assert.equal(res.body.status, status);
  assert.equal(typeof res.body.title, 'string');
  assert.equal(typeof res.body.detail, 'string');
}

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

describe('the edge', () => {
  let t: TestApp;
  let userId: string;
  let connectionId: string;
  before(async () => {
    t = await startTestApp({ config: { allowPrivateAddresses: true } });
    userId = await t.createUser();
    const created = await t.api('POST', `/v1/users/${userId}/connections`, { institutionId: 'ins_sandbox_web', method: 'web', credentials: { login: 'user_good', password: 'pass_good' } });
    assert.equal(created.status, 202, JSON.stringify(created.body));
    connectionId = created.body.connection.id;
    await t.waitForJob(created.body.job.id);
  });
  after(() => t.close());

  it('refuses a NUL byte (in a path id, a query string or a JSON string) and half a surrogate pair with a 400 naming the field', async () => {
    const inPath = await t.api('GET', `/v1/users/usr_a%00b`);
    assertProblem(inPath, 400, 'validation_failed');
    assert.equal(inPath.body.errors[0].field, 'params.userId');
    const inQuery = await t.api('GET', `/v1/users?search=a%00b`);
    assertProblem(inQuery, 400, 'validation_failed');
    assert.equal(inQuery.body.errors[0].field, 'querystring.search');
    const inCursor = await t.api('GET', `/v1/users/${userId}/transactions?cursor=%00`);
    assertProblem(inCursor, 400, 'validation_failed');
    const inBody = await t.api('POST', '/v1/users', { name: 'Jo\u0000e', metadata: { 'k\u0000': 'v' } });
    assertProblem(inBody, 400, 'validation_failed');
    assert.deepEqual(inBody.body.errors.map((e: any) => e.field), ['body.name', 'body.metadata.k\\u0000']);
    const surrogate = await t.api('POST', '/v1/users', '{"name":"Jo","metadata":{"k":"x\\udfff"}}');
    assertProblem(surrogate, 400, 'validation_failed');
    assert.equal(surrogate.body.errors[0].field, 'body.metadata.k');
    const users = await t.api('GET', '/v1/users?limit=500');
    assert.ok(!JSON.stringify(users.body).includes('Jo'), 'nothing was stored');
  });

  it('answers router errors as problem documents: bad percent-encoding (400) and an over-long path segment (414)', async () => {
    assertProblem(await t.api('GET', '/v1/users/%E0%A4%A'), 400, 'malformed_url');
    assertProblem(await t.api('GET', `/v1/users/${'a'.repeat(150)}`), 414, 'uri_too_long');
  });

  it('refuses every cursor it did not issue, on every list, with 400 invalid_cursor', async () => {
    const page = await t.api('GET', `/v1/users/${userId}/transactions?limit=2`);
    assert.equal(page.status, 200);
    const real = page.body.nextCursor as string;
    assert.ok(real);
    const [body, mac] = real.split('.');
    const forged = [
      'notacursor', b64({ d: 'zzz', i: 'x' }), b64({ s: 1e300 }), b64(['0000-01-01T00:00:00Z', 1, 'x']), `${body}.${'A'.repeat(mac!.length)}`,
      `${b64({ d: '2020-01-01', i: 'txn_x' })}.${mac}`, // a signature moved onto another position
    ];
    const lists = [
      '/v1/users', `/v1/users/${userId}/connections`, `/v1/users/${userId}/connections/${connectionId}/jobs`,
      `/v1/users/${userId}/connections/${connectionId}/timeline`, `/v1/users/${userId}/transactions`, `/v1/users/${userId}/transactions/sync`,
      '/v1/events', '/v1/deletions', '/v1/webhook-endpoints', '/v1/connections',
    ];
    for (const list of lists) {
      for (const cursor of [...forged, real]) {
        if (list.endsWith('/transactions') && cursor === real) continue;
        assertProblem(await t.api('GET', `${list}?cursor=${encodeURIComponent(cursor)}`), 400, 'invalid_cursor');
      }
    }
    // The cursor it issued still pages.
    const next = await t.api('GET', `/v1/users/${userId}/transactions?limit=2&cursor=${encodeURIComponent(real)}`);
    assert.equal(next.status, 200);
    assert.notEqual(next.body.data[0].id, page.body.data[0].id);
  });

  it('reads a sync cursor issued before cursors were signed, strictly', async () => {
    const legacy = await t.api('GET', `/v1/users/${userId}/transactions/sync?cursor=${b64({ s: 0 })}&limit=5`);
    assert.equal(legacy.status, 200);
    assert.match(legacy.body.nextCursor, /\./);
    assertProblem(await t.api('GET', `/v1/users/${userId}/transactions/sync?cursor=${b64({ s: -1 })}`), 400, 'invalid_cursor');
    assertProblem(await t.api('GET', `/v1/users/${userId}/transactions/sync?cursor=${b64({ s: 1.5 })}`), 400, 'invalid_cursor');
  });

  it('validates the range of dates and instants, not only their shape', async () => {
    for (const q of ['from=0000-01-01', 'to=0000-12-31', 'from=1899-12-31', 'from=2024-02-30']) {
      assertProblem(await t.api('GET', `/v1/users/${userId}/transactions?${q}`), 400, 'validation_failed');
    }
    assert.equal((await t.api('GET', `/v1/users/${userId}/transactions?from=1900-01-01&to=9999-12-31`)).status, 200);
    for (const q of ['from=0000-01-01T00:00:00Z', 'to=0000-01-01T00:00:00Z', 'from=1969-12-31T23:59:59Z']) {
      assertProblem(await t.api('GET', `/v1/events?${q}`), 400, 'validation_failed');
    }
    const endpoint = await t.api('POST', '/v1/webhook-endpoints', { url: 'http://127.0.0.1:9/hook' });
    assert.equal(endpoint.status, 201, JSON.stringify(endpoint.body));
    assertProblem(await t.api('POST', `/v1/webhook-endpoints/${endpoint.body.id}/replay`, { from: '0000-01-01T00:00:00Z', to: new Date().toISOString() }), 400, 'validation_failed');
    await t.api('DELETE', `/v1/webhook-endpoints/${endpoint.body.id}`);
  });

  it('marks every /v1 answer no-store and nosniff, and keeps the consent page out of frames', async () => {
    for (const res of [await t.api('GET', `/v1/users/${userId}/accounts`), await t.api('GET', '/v1/users/nope')]) {
      assert.equal(res.headers['cache-control'], 'no-store');
      assert.equal(res.headers['x-content-type-options'], 'nosniff');
    }
    const created = await t.api('POST', `/v1/users/${userId}/connections`, { institutionId: 'ins_sandbox_openbank', method: 'openbanking' });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const page = await t.app.inject({ method: 'GET', url: new URL(created.body.authorizationUrl).pathname });
    assert.equal(page.statusCode, 200);
    assert.match(String(page.headers['content-security-policy']), /frame-ancestors 'none'/);
    assert.equal(page.headers['x-frame-options'], 'DENY');
  });

  describe('idempotent answers', () => {
    const stored = async (key: string) => {
      const res = await t.core.db.execute(sql`select status_code, answer_enc, locked_until from idempotency_keys where key = ${`key:${key}`}`);
      return (res as unknown as { rows: any[] }).rows[0];
    };

    it('seals a stored answer: the whsec_ secret shown once is not in the database, and the replay gives it back', async () => {
      const key = 'idem-webhook-secret';
      const first = await t.api('POST', '/v1/webhook-endpoints', { url: 'http://127.0.0.1:9/sealed' }, { 'idempotency-key': key });
      assert.equal(first.status, 201);
      assert.match(first.body.secret, /^whsec_/);
      const row = await stored(key);
      assert.equal(row.status_code, 201);
      assert.ok(!String(row.answer_enc).includes('whsec_'), 'the secret is not stored in clear');
      const dump = await t.core.db.execute(sql`select * from idempotency_keys`);
      assert.ok(!JSON.stringify((dump as any).rows).includes(first.body.secret));
      const again = await t.api('POST', '/v1/webhook-endpoints', { url: 'http://127.0.0.1:9/sealed' }, { 'idempotency-key': key });
      assert.equal(again.status, 201);
      assert.equal(again.headers['idempotent-replayed'], 'true');
      assert.equal(again.body.secret, first.body.secret);
      await t.api('DELETE', `/v1/webhook-endpoints/${first.body.id}`);
    });

    it('replays a 4xx as the problem document it was', async () => {
      const key = 'idem-problem';
      const first = await t.api('POST', `/v1/users/${userId}/connections/con_nope/refresh`, undefined, { 'idempotency-key': key });
      assertProblem(first, 404, 'not_found');
      const again = await t.api('POST', `/v1/users/${userId}/connections/con_nope/refresh`, undefined, { 'idempotency-key': key });
      assertProblem(again, 404, 'not_found');
      assert.equal(again.headers['idempotent-replayed'], 'true');
    });

    it('lets a key go when the request holding it died (its lease lapsed), and answers 409 while it lives', async () => {
      const key = 'idem-crashed';
      const body = { name: 'After a crash' };
      // The first request claims the key and runs; pretend its process died before answering.
      const first = await t.api('POST', '/v1/users', body, { 'idempotency-key': key });
      assert.equal(first.status, 201);
      await t.core.db.execute(sql`update idempotency_keys set status_code = null, answer_enc = null, locked_until = now() + interval '30 seconds' where key = ${`key:${key}`}`);
      const busy = await t.api('POST', '/v1/users', body, { 'idempotency-key': key });
      assertProblem(busy, 409, 'idempotency_key_in_use');
      assert.ok(Number(busy.headers['retry-after']) >= 1 && Number(busy.headers['retry-after']) <= 60);
      await t.core.db.execute(sql`update idempotency_keys set locked_until = now() - interval '1 second' where key = ${`key:${key}`}`);
      const retried = await t.api('POST', '/v1/users', body, { 'idempotency-key': key });
      assert.equal(retried.status, 201, JSON.stringify(retried.body));
      assert.notEqual(retried.headers['idempotent-replayed'], 'true');
      // A different request may not take over a dead request's key.
      await t.core.db.execute(sql`update idempotency_keys set status_code = null, answer_enc = null, locked_until = now() - interval '1 second' where key = ${`key:${key}`}`);
      assertProblem(await t.api('POST', '/v1/users', { name: 'Another' }, { 'idempotency-key': key }), 422, 'idempotency_key_reused');
    });

    it("fences a request whose lease lapsed: its late answer neither lands in nor deletes the retry's claim", async () => {
      const { claimKey, releaseClaim, storeAnswer } = await import('../src/services/idempotency.js');
      const tenant = { application: (await t.core.db.execute(sql`select * from applications limit 1`) as any).rows.map((r: any) => ({ id: r.id }))[0] } as any;
      const request = { method: 'POST', url: '/v1/users', body: { name: 'Slow' } };
      const first = await claimKey(t.core, tenant, 'idem-fenced', request);
      assert.ok('claimed' in first);
      await t.core.db.execute(sql`update idempotency_keys set locked_until = now() - interval '1 second' where key = 'key:idem-fenced'`);
      await new Promise((r) => setTimeout(r, 5)); // the retry's claim time differs from the first's
      const retry = await claimKey(t.core, tenant, 'idem-fenced', request);
      assert.ok('claimed' in retry, 'the retry takes over the dead claim');
      await storeAnswer(t.core, first.claimed, { statusCode: 201, contentType: 'application/json', body: '{"stale":true}' });
      await releaseClaim(t.core, first.claimed);
      const row = await stored('idem-fenced');
      assert.ok(row, "the stale release did not delete the retry's claim");
      assert.equal(row.status_code, null, "the stale answer did not land in the retry's claim");
      await storeAnswer(t.core, retry.claimed, { statusCode: 201, contentType: 'application/json', body: '{"fresh":true}' });
      const replay = await claimKey(t.core, tenant, 'idem-fenced', request);
      assert.ok('replay' in replay && replay.replay.body === '{"fresh":true}');
    });

    it("keeps an API key's keys apart from a client token's", async () => {
      const token = await t.api('POST', `/v1/users/${userId}/client-tokens`, { scopes: ['manage'] });
      assert.equal(token.status, 201, JSON.stringify(token.body));
      const asClient = { authorization: `Bearer ${token.body.token}`, 'idempotency-key': 'shared' };
      const byClient = await t.api('POST', `/v1/users/${userId}/connections/${connectionId}/refresh`, {}, asClient);
      const byServer = await t.api('POST', `/v1/users/${userId}/connections/${connectionId}/refresh`, {}, { 'idempotency-key': `client:${userId}:shared` });
      assert.notEqual(byServer.headers['idempotent-replayed'], 'true', JSON.stringify([byClient.status, byServer.status]));
    });

    it('sweeps keys past their day', async () => {
      const { deleteExpiredIdempotencyKeys } = await import('../src/db/repos/idempotency.js');
      await t.api('POST', '/v1/users', { name: 'Old' }, { 'idempotency-key': 'idem-old' });
      await t.core.db.execute(sql`update idempotency_keys set created_at = now() - interval '25 hours' where key = 'key:idem-old'`);
      assert.ok(await deleteExpiredIdempotencyKeys(t.core.db, new Date(Date.now() - 24 * 3600_000)) >= 1);
      assert.equal(await stored('idem-old'), undefined);
      assert.ok(await stored('idem-problem'), 'fresh keys stay');
    });
  });
});

describe('log redaction', () => {
  it("takes a failed query's parameters and PostgreSQL's value details out of logged errors", () => {
    const pgError = Object.assign(new Error('duplicate key value violates unique constraint "users_app_external_idx"'), {
      code: '23505', detail: 'Key (application_id, external_id)=(app_1, jo@example.com) already exists.',
    });
    const err = Object.assign(new Error('Failed query: insert into "users" ("email", "name") values ($1, $2)\nparams: jo@example.com,Jo Secret'), {
      query: 'insert into "users" ("email", "name") values ($1, $2)', params: ['jo@example.com', 'Jo Secret'], cause: pgError,
    });
    const logged = JSON.stringify(errForLog(err));
    assert.ok(!logged.includes('jo@example.com'), logged);
    assert.ok(!logged.includes('Jo Secret'), logged);
    assert.match(logged, /Failed query: insert into/);
    assert.match(logged, /23505/);
    const plain = JSON.stringify(errForLog({ message: err.message }));
    assert.ok(!plain.includes('jo@example.com'), plain);
    const quoted = JSON.stringify(errForLog(new Error('invalid input syntax for type integer: "jo@example.com"')));
    assert.ok(!quoted.includes('jo@example.com'), quoted);
    assert.match(quoted, /invalid input syntax for type integer/);
  });

  it('keeps a real failed query\'s values out of a line the process logger writes', async () => {
    const { default: pino } = await import('pino');
    const { Writable } = await import('node:stream');
    const { loggerOptions } = await import('../src/logging.js');
    let out = '';
    const log = pino(loggerOptions('info'), new Writable({ write(chunk, _enc, cb) { out += chunk; cb(); } }));
    const t = await startTestApp({ worker: false });
    try {
      const err = await t.core.db.execute(sql`select ${'jo@example.com'}::int as n, ${'Jo Secret'} as name`).then(() => null, (e: unknown) => e);
      assert.ok(err, 'the query fails');
      log.error({ err }, 'request failed');
    } finally {
      await t.close();
    }
    assert.match(out, /request failed/);
    assert.ok(!out.includes('jo@example.com') && !out.includes('Jo Secret'), out);
  });
});

describe('behind a reverse proxy', () => {
  it('reads CAUSEWAY_TRUST_PROXY, and with it counts sign-in failures by the forwarded client address', async () => {
    const { loadConfig } = await import('../src/config.js');
    assert.equal(loadConfig({}).trustProxy, false);
    assert.throws(() => loadConfig({ CAUSEWAY_TRUST_PROXY: '1' }), /CAUSEWAY_TRUST_PROXY/, 'a hop count cannot tell the proxy from a client');
    assert.deepEqual(loadConfig({ CAUSEWAY_TRUST_PROXY: '10.0.0.1, 10.1.0.0/16' }).trustProxy, ['10.0.0.1', '10.1.0.0/16']);
    assert.throws(() => loadConfig({ CAUSEWAY_TRUST_PROXY: 'yes please' }), /CAUSEWAY_TRUST_PROXY/);
    const { addressKey } = await import('../src/services/sign-in-throttle.js');
    const t = await startTestApp({ worker: false, config: { trustProxy: ['127.0.0.1'] } });
    try {
      const signIn = (client: string) => t.app.inject({
        method: 'POST', url: '/v1/operator-sessions', remoteAddress: '127.0.0.1', headers: { 'x-forwarded-for': client },
        payload: { email: 'nobody@example.com', password: 'wrong-password' },
      });
      assert.equal((await signIn('203.0.113.77')).statusCode, 401);
      const rows = await t.core.db.execute(sql`select key from sign_in_failures`);
      const keys = (rows as unknown as { rows: { key: string }[] }).rows.map((r) => r.key);
      assert.ok(keys.includes(addressKey('203.0.113.77')), JSON.stringify(keys));
      assert.ok(!keys.includes(addressKey('127.0.0.1')), 'the proxy is not the client');
    } finally {
      await t.close();
    }
  });
});
