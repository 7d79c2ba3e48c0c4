/**
 * @causeway/client, as built by `npm run build` (the package's dist/, through its exports), against
 * a real server listening on a port: link the sandbox bank, walk every transaction page with
 * for await, retry a POST whose answer was lost with the same Idempotency-Key, problems as
 * CausewayError, and verify real webhook deliveries captured by a local receiver.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Causeway, CausewayError, verifyWebhook, WebhookVerificationError, type Fetch } from '@causeway/client';
import { startTestApp, type TestApp } from './helpers/app.js';
import { until } from './helpers/wait.js';

const GENERATED_DOCUMENT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../packages/client/src/generated/openapi.json');
const USER_GOOD = { institutionId: 'ins_sandbox_web', method: 'web' as const, credentials: { login: 'user_good', password: 'pass_good' } };

interface Call { method: string; path: string; idempotencyKey: string | null; status: number; replayed: string | null; requestId: string | null }

/**
 * The global fetch, recording each call as the server answered it. `loseAnswer` picks requests
 * whose first answer is thrown away after the server has handled it, as a dropped connection would.
 */
function recordingFetch(loseAnswer: (req: Request) => boolean = () => false) {
  const calls: Call[] = [];
  const lost = new Set<string>();
  const fetchImpl: Fetch = async (req, init) => {
    const res = await fetch(req, init);
    const call = {
      method: req.method, path: new URL(req.url).pathname, idempotencyKey: req.headers.get('idempotency-key'), status: res.status,
      replayed: res.headers.get('idempotent-replayed'), requestId: res.headers.get('x-request-id'),
    };
    calls.push(call);
    const what = `${call.method} ${call.path}`;
    if (!lost.has(what) && loseAnswer(req)) {
      lost.add(what);
      await res.arrayBuffer();
      throw new TypeError('fetch failed: socket hang up');
    }
    return res;
  };
  return { calls, fetchImpl };
}

/** Where two JSON values differ, as paths (`/paths/~1v1~1users/post: only in b`). */
function differencesOf(a: unknown, b: unknown, at = ''): string[] {
  if (a === b) return [];
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null || Array.isArray(a) !== Array.isArray(b)) {
    return [`${at}: ${JSON.stringify(a)?.slice(0, 80)} vs ${JSON.stringify(b)?.slice(0, 80)}`];
  }
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  return [...new Set([...Object.keys(ra), ...Object.keys(rb)])].flatMap((k) => {
    const path = `${at}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`;
    if (!(k in ra)) return [`${path}: only in the served document`];
    if (!(k in rb)) return [`${path}: only in the built one`];
    return differencesOf(ra[k], rb[k], path);
  });
}

async function startReceiver() {
  const received: { headers: http.IncomingHttpHeaders; body: string }[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => { body += c; });
    req.on('end', () => { received.push({ headers: req.headers, body }); res.writeHead(204).end(); });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`, received,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

describe('@causeway/client against a real server', () => {
  let t: TestApp;
  let baseUrl: string;
  let client: Causeway;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;

  before(async () => {
    t = await startTestApp({ config: { allowPrivateAddresses: true } });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    baseUrl = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
    client = new Causeway({ apiKey: t.key, baseUrl });
    receiver = await startReceiver();
  });
  after(async () => {
    await receiver?.close();
    await t?.close();
  });

  it('was built from the document this server serves (npm run build regenerates it)', async () => {
    const served = await (await fetch(`${baseUrl}/openapi.json`)).json();
    const built = JSON.parse(fs.readFileSync(GENERATED_DOCUMENT, 'utf8'));
    const differences = differencesOf(built, served);
    assert.deepEqual(differences, [], `the client was generated from another document (run npm run build:client): ${differences.slice(0, 10).join('; ')}`);
  });

  it('links user_good at the sandbox bank, waits for the job, and walks every transaction page with for await', async () => {
    const user = await client.users.create({ externalId: 'client-walkthrough', email: 'jo@example.com' });
    assert.match(user.id, /^usr_/);
    assert.equal((await client.users.get(user.id)).externalId, 'client-walkthrough');

    const created = await client.connections.create(user.id, USER_GOOD);
    assert.ok(created.job, 'a web connection starts its first job at once');
    const job = await client.jobs.waitForJob(created.job.id, { timeoutMs: 20_000 });
    assert.equal(job.status, 'succeeded', JSON.stringify(job.steps));
    assert.equal((await client.connections.get(user.id, created.connection.id)).status, 'active');
    assert.deepEqual((await client.connections.list(user.id).toArray()).map((c) => c.id), [created.connection.id]);

    const accounts = await client.accounts.list(user.id).toArray();
    assert.equal(accounts.length, 4, 'user_good has four accounts');

    // Every transaction, 40 a page, against the change feed's count (another endpoint, another cursor).
    const recorder = recordingFetch();
    const paged = new Causeway({ apiKey: t.key, baseUrl, fetch: recorder.fetchImpl });
    const ids: string[] = [];
    let previousDate = '9999-12-31';
    for await (const tx of paged.transactions.list(user.id, { limit: 40 })) {
      assert.ok(tx.date <= previousDate, 'newest first across page boundaries');
      previousDate = tx.date;
      ids.push(tx.id);
    }
    const pages = recorder.calls.filter((c) => c.path.endsWith('/transactions'));
    assert.ok(pages.length >= 3, `several pages were walked (${pages.length})`);
    assert.equal(pages.length, Math.ceil(ids.length / 40), 'one request per page, none after the last');
    assert.equal(new Set(ids).size, ids.length, 'no transaction twice');

    const fed = new Set<string>();
    for (let cursor: string | undefined, more = true; more;) {
      const changes = await client.transactions.sync(user.id, { cursor, limit: 500 });
      for (const tx of changes.added) fed.add(tx.id);
      cursor = changes.nextCursor;
      more = changes.hasMore;
    }
    assert.equal(ids.length, fed.size, 'as many transactions as the change feed gives');
    assert.deepEqual([...ids].sort(), [...fed].sort());

    const firstAccount = accounts[0]!;
    const ofOne = await client.transactions.list(user.id, { accountId: firstAccount.id, limit: 500 }).toArray();
    assert.ok(ofOne.length > 0 && ofOne.every((tx) => tx.accountId === firstAccount.id));

    const refreshed = await client.connections.refresh(user.id, created.connection.id);
    assert.ok(refreshed.job);
    assert.equal((await client.jobs.waitForJob(refreshed.job.id)).status, 'succeeded');
  });

  it('retries a POST whose answer was lost with the same Idempotency-Key: one user, one connection, the answer replayed', async () => {
    const recorder = recordingFetch((req) => req.method === 'POST');
    const flaky = new Causeway({ apiKey: t.key, baseUrl, fetch: recorder.fetchImpl });

    const user = await flaky.users.create({ externalId: 'client-retry' });
    const userCalls = recorder.calls.filter((c) => c.path === '/v1/users');
    assert.equal(userCalls.length, 2, 'the lost answer was retried once');
    assert.match(userCalls[0]!.idempotencyKey ?? '', /^[0-9a-f-]{36}$/, 'a key is generated for the call');
    assert.equal(userCalls[1]!.idempotencyKey, userCalls[0]!.idempotencyKey, 'the retry sends the same key');
    assert.deepEqual(userCalls.map((c) => [c.status, c.replayed]), [[201, null], [201, 'true']]);
    const found = await client.users.list({ search: 'client-retry' }).toArray();
    assert.deepEqual(found.map((u) => u.id), [user.id], 'one user was created');

    const created = await flaky.connections.create(user.id, USER_GOOD);
    const connectionCalls = recorder.calls.filter((c) => c.path.endsWith('/connections'));
    assert.equal(connectionCalls.length, 2);
    assert.equal(connectionCalls[1]!.idempotencyKey, connectionCalls[0]!.idempotencyKey);
    assert.equal(connectionCalls[1]!.replayed, 'true');
    assert.deepEqual((await client.connections.list(user.id).toArray()).map((c) => c.id), [created.connection.id], 'one connection was created');
    assert.equal((await client.jobs.waitForJob(created.job!.id)).status, 'succeeded');

    // A key of the caller's own is sent as given, so a retry after a crash of the caller replays too.
    const again = await client.users.create({ externalId: 'client-own-key' }, { idempotencyKey: 'signup-42' });
    assert.equal((await client.users.create({ externalId: 'client-own-key' }, { idempotencyKey: 'signup-42' })).id, again.id);
    assert.equal((await client.users.list({ search: 'client-own-key' }).toArray()).length, 1);
  });

  it('retries a 503 and a 409 idempotency_key_in_use after their Retry-After, and leaves a long Retry-After to the caller', async () => {
    const calls: string[] = [];
    const answers = [
      new Response('{"type":"about:blank","title":"Unavailable","status":503,"detail":"Restarting","code":"unavailable"}', { status: 503, headers: { 'retry-after': '0', 'content-type': 'application/problem+json' } }),
      new Response('{"type":"about:blank","title":"Slow down","status":429,"detail":"Too many","code":"rate_limited"}', { status: 429, headers: { 'retry-after': '3600', 'content-type': 'application/problem+json', 'x-request-id': 'req_from_proxy' } }),
    ];
    const inUse = new Response('{"type":"about:blank","title":"In use","status":409,"detail":"Still running","code":"idempotency_key_in_use"}', { status: 409, headers: { 'retry-after': '0', 'content-type': 'application/problem+json' } });
    const keys: (string | null)[] = [];
    const fetchImpl: Fetch = async (req, init) => {
      calls.push(req.method);
      keys.push(req.headers.get('idempotency-key'));
      if (calls.length === 1) return answers[0]!;
      if (calls.length === 3) return answers[1]!;
      if (calls.length === 4) return inUse;
      return fetch(req, init);
    };
    const c = new Causeway({ apiKey: t.key, baseUrl, fetch: fetchImpl });
    const user = await c.users.create({ externalId: 'client-503' });
    assert.deepEqual(calls, ['POST', 'POST'], 'the 503 was retried');
    assert.equal((await client.users.get(user.id)).externalId, 'client-503');

    const err = await c.users.get(user.id).then(() => null, (e: unknown) => e);
    assert.ok(err instanceof CausewayError);
    assert.deepEqual([err.status, err.code, err.retryAfter, err.requestId], [429, 'rate_limited', 3600, 'req_from_proxy']);
    assert.equal(calls.length, 3, 'an hour is not waited out');

    // The first request with the key still running: asked again with the same key once it is done.
    const second = await c.users.create({ externalId: 'client-409' });
    assert.deepEqual(calls.slice(3), ['POST', 'POST']);
    assert.equal(keys[4], keys[3]);
    assert.equal((await client.users.get(second.id)).externalId, 'client-409');
  });

  it('throws a CausewayError carrying the problem document for a 4xx', async () => {
    const recorder = recordingFetch();
    const c = new Causeway({ apiKey: t.key, baseUrl, fetch: recorder.fetchImpl });
    const missing = await c.users.get('usr_missing').then(() => null, (e: unknown) => e);
    assert.ok(missing instanceof CausewayError);
    assert.equal(missing.status, 404);
    assert.equal(missing.code, 'not_found');
    assert.match(missing.detail, /usr_missing/);
    assert.match(missing.type, /not_found$/, 'the type names the code');
    assert.ok(missing.requestId, 'the request id to quote');
    assert.equal(missing.requestId, recorder.calls.at(-1)!.requestId, 'the same id as the X-Request-Id header');
    assert.equal(recorder.calls.length, 1, 'a 404 is not retried');

    const invalid = await c.users.create({ email: 'not an address' }).then(() => null, (e: unknown) => e);
    assert.ok(invalid instanceof CausewayError);
    assert.deepEqual([invalid.status, invalid.code], [400, 'validation_failed']);
    assert.equal(invalid.problem.errors?.[0]?.field, 'body.email');

    const traced = new Causeway({ apiKey: t.key, baseUrl, headers: { 'x-request-id': 'checkout-7f3a' } });
    await assert.rejects(traced.users.get('usr_missing'), (e: unknown) => e instanceof CausewayError && e.requestId === 'checkout-7f3a');

    const stranger = new Causeway({ apiKey: 'sk_sandbox_not_a_key', baseUrl });
    await assert.rejects(stranger.users.list().toArray(), (e: unknown) => e instanceof CausewayError && e.status === 401 && e.code === 'unauthenticated');
  });

  it('verifies a real delivery with the endpoint secret, and rejects a tampered one', async () => {
    const endpoint = await client.webhookEndpoints.create({ url: receiver.url, eventTypes: ['webhook_endpoint.test'] });
    assert.match(endpoint.secret ?? '', /^whsec_/);
    await client.webhookEndpoints.test(endpoint.id);
    const delivery = await until('the test delivery', () => receiver.received[0]);

    const event = verifyWebhook(delivery.body, delivery.headers, endpoint.secret!);
    assert.equal(event.type, 'webhook_endpoint.test');
    assert.equal(event.id, delivery.headers['webhook-id']);
    const asFetchHeaders = new Headers(Object.entries(delivery.headers).map(([k, v]): [string, string] => [k, String(v)]));
    assert.equal(verifyWebhook(Buffer.from(delivery.body), asFetchHeaders, ['whsec_' + Buffer.alloc(24).toString('base64'), endpoint.secret!]).id, event.id,
      'fetch Headers, a byte body, and any of several secrets');

    const tampered = delivery.body.replace('webhook_endpoint.test', 'connection.deleted');
    assert.notEqual(tampered, delivery.body);
    assert.throws(() => verifyWebhook(tampered, delivery.headers, endpoint.secret!), WebhookVerificationError);
    assert.throws(() => verifyWebhook(delivery.body, { ...delivery.headers, 'webhook-id': 'evt_other' }, endpoint.secret!), WebhookVerificationError);
    assert.throws(() => verifyWebhook(delivery.body, delivery.headers, 'whsec_' + Buffer.alloc(24).toString('base64')), WebhookVerificationError);

    const deliveries = await client.webhookEndpoints.deliveries(endpoint.id).toArray();
    assert.equal(deliveries.length, 1);
    assert.equal((await client.webhookEndpoints.delete(endpoint.id)).deleted, true);
  });
});
