import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { newId } from '../src/domain/ids.js';
import { insertApplication, revokeApiKey } from '../src/db/repos/applications.js';
import { createApiKey } from '../src/services/applications.js';
import { systemClock } from '../src/domain/clock.js';
import { buildApp } from '../src/http/app.js';
import { startTestApp, type TestApp } from './helpers/app.js';

let t: TestApp;
before(async () => { t = await startTestApp(); });
after(async () => { await t.close(); });

function assertProblem(res: { status: number; body: any; headers: Record<string, unknown> }, status: number, code: string) {
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
  assert.equal(res.body.code, code);
  assert.equal(res.body.status, status);
  assert.equal(typeof res.body.title, 'string');
  assert.equal(typeof res.body.detail, 'string');
  assert.ok(res.body.detail.length > 10);
  const text = JSON.stringify(res.body);
  assert.doesNotMatch(text, /\bselect\b|\binsert into\b|\bat [\w.]+ \(|node_modules|\.ts:\d+/i, 'no SQL or stack traces');
}

describe('authentication', () => {
  it('answers 401 without a key, with a malformed key, and with a revoked key', async () => {
    const none = await t.app.inject({ method: 'GET', url: '/v1/users' });
    assertProblem({ status: none.statusCode, body: none.json(), headers: none.headers }, 401, 'unauthenticated');
    assert.equal(none.headers['www-authenticate'], 'Bearer');
    const bad = await t.api('GET', '/v1/users', undefined, { authorization: 'Bearer sk_sandbox_nope' });
    assertProblem(bad, 401, 'unauthenticated');
    const app = (await t.api('GET', '/v1/sandbox/clock')).status;
    assert.equal(app, 200);
    const { key, id } = await createApiKey(t.core.db, systemClock, (await import('../src/db/repos/applications.js').then((m) => m.findDefaultApplication(t.core.db)))!, 'temp');
    assert.equal((await t.api('GET', '/v1/users', undefined, { authorization: `Bearer ${key}` })).status, 200);
    await revokeApiKey(t.core.db, id, new Date());
    assertProblem(await t.api('GET', '/v1/users', undefined, { authorization: `Bearer ${key}` }), 401, 'unauthenticated');
  });

  it('needs no key for /health and /openapi.json', async () => {
    assert.equal((await t.app.inject({ method: 'GET', url: '/health' })).statusCode, 200);
    const doc = await t.app.inject({ method: 'GET', url: '/openapi.json' });
    assert.equal(doc.statusCode, 200);
    const spec = doc.json();
    assert.equal(spec.openapi, '3.1.0');
    for (const p of ['/v1/users', '/v1/users/{userId}/connections', '/v1/users/{userId}/connections/{connectionId}/refresh', '/v1/jobs/{jobId}/mfa', '/v1/users/{userId}/transactions/sync', '/v1/users/{userId}/connections/{connectionId}/profile',
      '/v1/users/{userId}/connections/{connectionId}/purge', '/v1/users/{userId}/connections/{connectionId}/unlink', '/v1/users/{userId}/connections/{connectionId}/repair',
      '/v1/users/{userId}/connections/{connectionId}/products', '/v1/users/{userId}/connections/import', '/v1/users/{userId}/connections/{connectionId}/timeline',
      '/v1/events', '/v1/webhook-endpoints', '/v1/webhook-endpoints/{endpointId}/deliveries', '/v1/webhook-deliveries/{deliveryId}/resend',
      '/v1/webhook-endpoints/{endpointId}/replay', '/v1/webhook-endpoints/{endpointId}/test', '/v1/sandbox/institutions/{institutionId}/outage',
      '/v1/application/providers', '/v1/application/providers/{provider}', '/v1/providers/{provider}/webhooks', '/v1/institutions']) {
      assert.ok(spec.paths[p], `${p} is documented`);
    }
    const create = spec.paths['/v1/users/{userId}/connections'].post;
    assert.deepEqual(create.requestBody.content['application/json'].schema.properties.method.enum, ['web', 'openbanking', 'hosted', 'token']);
  });
});

describe('bad input', () => {
  it('answers 400 naming each bad field', async () => {
    const userId = await t.createUser();
    const res = await t.api('POST', `/v1/users/${userId}/connections`, { institutionId: 42, method: 'carrier-pigeon', products: ['gold'] });
    assertProblem(res, 400, 'validation_failed');
    const fields = res.body.errors.map((e: any) => e.field).sort();
    assert.deepEqual(fields, ['body.institutionId', 'body.method', 'body.products.0']);
  });

  it('refuses unknown fields rather than ignoring them', async () => {
    const res = await t.api('POST', '/v1/users', { emial: 'typo@example.com' });
    assertProblem(res, 400, 'validation_failed');
    assert.match(JSON.stringify(res.body.errors), /emial/);
  });

  it('answers 400 to malformed JSON', async () => {
    const res = await t.api('POST', '/v1/users', '{"email": "a@b.c",');
    assertProblem(res, 400, 'malformed_json');
  });

  it('answers 400 to bad query parameters', async () => {
    const userId = await t.createUser();
    assertProblem(await t.api('GET', `/v1/users/${userId}/transactions?from=2026-02-30`), 400, 'validation_failed');
    assertProblem(await t.api('GET', `/v1/users/${userId}/transactions?limit=0`), 400, 'validation_failed');
    assertProblem(await t.api('GET', `/v1/users/${userId}/transactions?from=2026-03-01&to=2026-02-01`), 400, 'validation_failed');
    assertProblem(await t.api('GET', `/v1/users/${userId}/transactions?cursor=garbage`), 400, 'invalid_cursor');
    assertProblem(await t.api('GET', `/v1/users/${userId}/transactions/sync?cursor=eyJzIjotMX0`), 400, 'invalid_cursor');
  });

  it('answers 404 to unknown ids and routes', async () => {
    assertProblem(await t.api('GET', '/v1/users/usr_nope'), 404, 'not_found');
    const userId = await t.createUser();
    assertProblem(await t.api('GET', `/v1/users/${userId}/connections/con_nope`), 404, 'not_found');
    assertProblem(await t.api('GET', '/v1/jobs/job_nope'), 404, 'not_found');
    assertProblem(await t.api('POST', `/v1/users/${userId}/connections`, { institutionId: 'ins_nope', method: 'web', credentials: { login: 'a', password: 'b' } }), 404, 'not_found');
    assertProblem(await t.api('GET', '/v1/nothing-here'), 404, 'route_not_found');
  });

  it('answers 409 with the status and allowed actions when the state forbids the call', async () => {
    const userId = await t.createUser();
    const created = await t.api('POST', `/v1/users/${userId}/connections`, { institutionId: 'ins_sandbox_web', method: 'web', credentials: { login: 'user_good', password: 'pass_bad' } });
    const job = await t.waitForJob(created.body.job.id);
    assert.equal(job.status, 'failed');
    const res = await t.api('POST', `/v1/users/${userId}/connections/${created.body.connection.id}/refresh`);
    assertProblem(res, 409, 'invalid_state');
    assert.equal(res.body.connectionStatus, 'failed');
    assert.deepEqual(res.body.allowedActions, ['repair', 'update_products', 'purge', 'delete']);
  });

  it('requires credentials for web connections', async () => {
    const userId = await t.createUser();
    assertProblem(await t.api('POST', `/v1/users/${userId}/connections`, { institutionId: 'ins_sandbox_web', method: 'web' }), 400, 'credentials_required');
  });

  it('hides internal errors behind a 500 with no SQL, stack or message', async () => {
    const app = await buildApp(t.core, { logger: false });
    app.get('/v1/boom', async () => { throw new Error('duplicate key value violates unique constraint: insert into secrets values ($1)'); });
    const res = await app.inject({ method: 'GET', url: '/v1/boom', headers: { authorization: `Bearer ${t.key}` } });
    await app.close();
    assertProblem({ status: res.statusCode, body: res.json(), headers: res.headers }, 500, 'internal_error');
    assert.doesNotMatch(res.body, /secrets|duplicate key/);
  });
});

describe('tenant isolation', () => {
  it("answers 404 for another application's user, connection and job ids", async () => {
    const userId = await t.createUser();
    const created = await t.api('POST', `/v1/users/${userId}/connections`, { institutionId: 'ins_sandbox_web', method: 'web', credentials: { login: 'user_good', password: 'pass_good' } });
    await t.waitForJob(created.body.job.id);
    const other = await insertApplication(t.core.db, { id: newId('app'), name: 'other', environment: 'sandbox', createdAt: new Date() });
    const { key } = await createApiKey(t.core.db, systemClock, other, 'other');
    const as = { authorization: `Bearer ${key}` };
    assertProblem(await t.api('GET', `/v1/users/${userId}`, undefined, as), 404, 'not_found');
    assertProblem(await t.api('GET', `/v1/users/${userId}/connections/${created.body.connection.id}`, undefined, as), 404, 'not_found');
    assertProblem(await t.api('GET', `/v1/jobs/${created.body.job.id}`, undefined, as), 404, 'not_found');
    assertProblem(await t.api('GET', `/v1/users/${userId}/transactions`, undefined, as), 404, 'not_found');
    assertProblem(await t.api('POST', `/v1/users/${userId}/connections/${created.body.connection.id}/refresh`, undefined, as), 404, 'not_found');
    assert.deepEqual((await t.api('GET', '/v1/users', undefined, as)).body.data, []);
  });

  it('refuses sandbox calls to live applications', async () => {
    const live = await insertApplication(t.core.db, { id: newId('app'), name: 'live', environment: 'live', createdAt: new Date() });
    const { key } = await createApiKey(t.core.db, systemClock, live, 'live');
    assertProblem(await t.api('POST', '/v1/sandbox/clock', { advanceBy: 'P1D' }, { authorization: `Bearer ${key}` }), 403, 'sandbox_only');
  });
});

describe('users and idempotency', () => {
  it('creates, lists with a cursor, updates and deletes users', async () => {
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push((await t.api('POST', '/v1/users', { externalId: `ext-${i}-${Date.now()}` })).body.id);
    const page1 = (await t.api('GET', '/v1/users?limit=2')).body;
    assert.equal(page1.data.length, 2);
    const page2 = (await t.api('GET', `/v1/users?limit=500&cursor=${page1.nextCursor}`)).body;
    assert.ok(!page2.data.some((u: any) => page1.data.some((v: any) => v.id === u.id)));
    const patched = await t.api('PATCH', `/v1/users/${ids[0]}`, { name: 'Jo Citizen' });
    assert.equal(patched.body.name, 'Jo Citizen');
    assert.equal((await t.api('DELETE', `/v1/users/${ids[0]}`)).status, 200);
    assertProblem(await t.api('GET', `/v1/users/${ids[0]}`), 404, 'not_found');
  });

  it('answers 409 when an externalId is already taken, on create and on update', async () => {
    const ext = `dup-${Date.now()}`;
    assert.equal((await t.api('POST', '/v1/users', { externalId: ext })).status, 201);
    assertProblem(await t.api('POST', '/v1/users', { externalId: ext }), 409, 'external_id_taken');
    const other = await t.createUser();
    assertProblem(await t.api('PATCH', `/v1/users/${other}`, { externalId: ext }), 409, 'external_id_taken');
  });

  it('replays the first answer for a repeated Idempotency-Key and refuses it for another request', async () => {
    const key = `idem-${Date.now()}`;
    const a = await t.api('POST', '/v1/users', { name: 'Once' }, { 'idempotency-key': key });
    const b = await t.api('POST', '/v1/users', { name: 'Once' }, { 'idempotency-key': key });
    assert.equal(a.status, 201);
    assert.equal(b.status, 201);
    assert.equal(b.body.id, a.body.id);
    assert.equal(b.headers['idempotent-replayed'], 'true');
    const c = await t.api('POST', '/v1/users', { name: 'Twice' }, { 'idempotency-key': key });
    assertProblem(c, 422, 'idempotency_key_reused');
  });
});
