/**
 * The event schemas (src/http/event-schemas.ts) against what Causeway really sends: a sandbox
 * lifecycle (a user, a web link, a refresh, a failure, a repair, new accounts, products added, a
 * purge, an unlink, a delete, an openbanking consent running out and revoked, the user deleted,
 * an endpoint disabled) delivered to a local receiver; every body must parse, strictly, with the
 * schema of its type and carry `timestamp`; so must GET /v1/events. A new field or a new event
 * type without its schema fails here.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { EVENT_TYPES } from '../src/domain/webhooks.js';
import { EVENT_SCHEMAS, WebhookEnvelope } from '../src/http/event-schemas.js';
import { startTestApp, type TestApp } from './helpers/app.js';
import { until } from './helpers/wait.js';

const form = { 'content-type': 'application/x-www-form-urlencoded' };

/** Answers 200 on every path but /gone (410); keeps each body by path. */
async function startReceiver() {
  const received: { path: string; body: string }[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      received.push({ path: req.url ?? '/', body });
      res.writeHead(req.url === '/gone' ? 410 : 200).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received,
    async close() { server.closeAllConnections(); await new Promise<void>((r) => server.close(() => r())); },
  };
}

/** Parses one event with the schema of its type; fails naming the type and zod's complaint. */
function check(body: unknown, where: string) {
  const envelope = WebhookEnvelope.safeParse(body);
  assert.ok(envelope.success, `${where}: not an event envelope: ${JSON.stringify(envelope.error?.issues)} in ${JSON.stringify(body)}`);
  const type = envelope.data.type;
  const parsed = EVENT_SCHEMAS[type].safeParse(body);
  assert.ok(parsed.success, `${where}: ${type} does not match its schema: ${JSON.stringify(parsed.error?.issues)} in ${JSON.stringify(body)}`);
  assert.equal(envelope.data.timestamp, envelope.data.createdAt, `${where}: timestamp is when the event happened`);
  return envelope.data;
}

describe('webhook event schemas', () => {
  let t: TestApp;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  /** What the lifecycle left: the events as GET /v1/events lists them, and as delivered (by id). */
  let events: any[] = [];
  let delivery = new Map<string, unknown>();
  before(async () => {
    receiver = await startReceiver();
    t = await startTestApp({ config: { allowPrivateAddresses: true, webhookTimeoutSeconds: 2 } });
  });
  after(async () => {
    await t.close();
    await receiver.close();
  });

  const ok = async (method: 'POST' | 'DELETE', url: string, body?: unknown) => {
    const res = await t.api(method, url, body);
    assert.ok(res.status >= 200 && res.status < 300, `${method} ${url}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  };
  const simulate = (connectionId: string, event: string) => ok('POST', `/v1/sandbox/connections/${connectionId}/simulate`, { event });
  /** Until the connection's newest job has ended (a moved clock may start a background refresh). */
  const settled = async (base: string) => until(`${base} settled`, async () => {
    const [job] = (await t.api('GET', `${base}/jobs`)).body.data;
    return !job || !['queued', 'running'].includes(job.status);
  });
  const jobDone = async (base: string) => {
    const [job] = (await t.api('GET', `${base}/jobs`)).body.data;
    return t.waitForJob(job.id);
  };

  it('has a schema for every event type Causeway writes, and nothing else', () => {
    assert.deepEqual(Object.keys(EVENT_SCHEMAS).sort(), [...EVENT_TYPES].sort());
    for (const type of EVENT_TYPES) {
      const meta = EVENT_SCHEMAS[type].meta() as { id?: string };
      assert.match(meta.id ?? '', /^[A-Z][A-Za-z]*Event$/, type);
    }
  });

  it('refuses an unknown field, a wrong type, and an event without timestamp', () => {
    const base = {
      id: 'evt_1', type: 'user.created', timestamp: '2026-01-02T03:04:05.000Z', createdAt: '2026-01-02T03:04:05.000Z',
      applicationId: 'app_1', userId: 'usr_1', connectionId: null, data: { externalId: null },
    };
    assert.ok(EVENT_SCHEMAS['user.created'].safeParse(base).success);
    assert.equal(EVENT_SCHEMAS['user.created'].safeParse({ ...base, extra: 1 }).success, false);
    assert.equal(EVENT_SCHEMAS['user.created'].safeParse({ ...base, data: { externalId: null, email: 'x' } }).success, false);
    assert.equal(EVENT_SCHEMAS['user.deleted'].safeParse(base).success, false);
    const { timestamp: _, ...untimed } = base;
    assert.equal(EVENT_SCHEMAS['user.created'].safeParse(untimed).success, false);
    assert.equal(EVENT_SCHEMAS['user.created'].safeParse({ ...base, timestamp: 'yesterday' }).success, false);
  });

  it('describes every event a sandbox lifecycle delivers, each with its timestamp', async () => {
    const all = await ok('POST', '/v1/webhook-endpoints', { url: `${receiver.base}/all` });
    const gone = await ok('POST', '/v1/webhook-endpoints', { url: `${receiver.base}/gone`, eventTypes: ['webhook_endpoint.test'] });

    const user = await ok('POST', '/v1/users', { externalId: `events-${Date.now()}` });
    // A web link with user_good, a refresh, a failure (the login is asked again), its repair, new accounts, a product added.
    const web = await ok('POST', `/v1/users/${user.id}/connections`, { institutionId: 'ins_sandbox_web', method: 'web', credentials: { login: 'user_good', password: 'pass_good' }, products: ['accounts', 'transactions'] });
    const webBase = `/v1/users/${user.id}/connections/${web.connection.id}`;
    assert.equal((await t.waitForJob(web.job.id)).status, 'succeeded');
    await ok('POST', '/v1/sandbox/clock', { advanceBy: 'PT1H' }); // past the institution's minimum interval between refreshes
    await settled(webBase);
    assert.equal((await t.waitForJob((await ok('POST', `${webBase}/refresh`)).job.id)).status, 'succeeded');
    const wrong = await ok('POST', `/v1/users/${user.id}/connections`, { institutionId: 'ins_sandbox_mfa', method: 'web', credentials: { login: 'user_good', password: 'wrong' } });
    assert.equal((await t.waitForJob(wrong.job.id)).status, 'failed');
    await simulate(web.connection.id, 'login_required');
    const repaired = await ok('POST', `${webBase}/repair`, { credentials: { login: 'user_good', password: 'pass_good' } });
    assert.equal((await t.waitForJob(repaired.job.id)).status, 'succeeded');
    await simulate(web.connection.id, 'new_accounts');
    const products = await ok('POST', `${webBase}/products`, { products: ['identity'] });
    if (products.job) await t.waitForJob(products.job.id);
    await ok('POST', `${webBase}/purge`);
    await ok('POST', `${webBase}/unlink`);
    await ok('DELETE', webBase);

    // An openbanking consent granted at the sandbox bank, running out, then revoked.
    const ob = await t.api('POST', `/v1/users/${user.id}/connections`, { institutionId: 'ins_sandbox_openbank', method: 'openbanking' });
    assert.equal(ob.status, 201, JSON.stringify(ob.body));
    const approved = await t.app.inject({ method: 'POST', url: new URL(ob.body.authorizationUrl).pathname, payload: 'decision=approve&persona=user_good', headers: form });
    assert.equal(approved.statusCode, 200, approved.body);
    assert.equal((await jobDone(`/v1/users/${user.id}/connections/${ob.body.connection.id}`)).status, 'succeeded');
    await simulate(ob.body.connection.id, 'consent_expiring');
    await simulate(ob.body.connection.id, 'consent_revoked');

    await ok('POST', `/v1/webhook-endpoints/${gone.id}/test`); // 410: the endpoint is disabled, and an event says so
    await until('the endpoint disabled', async () => (await t.api('GET', `/v1/webhook-endpoints/${gone.id}`)).body.enabled === false);
    await ok('DELETE', `/v1/users/${user.id}`);

    // Every event the application now has, from the API; each must reach the receiver.
    const listed: any[] = [];
    for (let cursor: string | null = null; ;) {
      const res = await t.api('GET', `/v1/events?limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      listed.push(...res.body.data);
      cursor = res.body.nextCursor;
      if (!cursor) break;
    }

    const toAll = listed.filter((e) => e.type !== 'webhook_endpoint.test');
    const bodies = await until('every event delivered', () => {
      const got = new Map(receiver.received.map((r) => [JSON.parse(r.body).id as string, r]));
      return toAll.every((e) => got.has(e.id)) && receiver.received.some((r) => r.path === '/gone') ? receiver.received : undefined;
    }, 20_000);
    const delivered = new Set<string>();
    for (const r of bodies) {
      const e = check(JSON.parse(r.body), `delivery to ${r.path}`);
      delivered.add(e.type);
    }
    for (const type of [
      'user.created', 'user.deleted', 'connection.created', 'connection.status_changed', 'connection.activated', 'connection.new_accounts_available',
      'connection.access_expiring_soon', 'connection.repair_requested', 'connection.products_updated', 'connection.purged', 'connection.unlinked',
      'connection.deleted', 'job.completed', 'job.failed', 'accounts.updated', 'transactions.updated', 'consent.granted', 'consent.expiring',
      'consent.revoked', 'webhook_endpoint.test', 'webhook_endpoint.disabled',
    ]) assert.ok(delivered.has(type), `the lifecycle delivered ${type} (got ${[...delivered].sort().join(', ')})`);
    assert.ok(all.id);
    delivery = new Map(bodies.map((r) => [JSON.parse(r.body).id as string, JSON.parse(r.body)]));
    events = listed;
  });

  it('serves each event in GET /v1/events as it was delivered, with its timestamp', () => {
    assert.ok(events.length > 20, 'the lifecycle ran');
    for (const e of events) {
      check(e, `GET /v1/events ${e.id}`);
      assert.deepEqual(e, delivery.get(e.id), 'a delivery is the event as the API shows it');
    }
  });
});
