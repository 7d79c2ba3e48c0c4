/**
 * Tenant isolation over every operation in /openapi.json (issue 11, "make it stay fixed").
 * Application A has real data: a user with a finished connection (accounts, transactions,
 * identity), jobs, a webhook endpoint with delivered webhooks, events, a deletion record and a
 * client token. Each operation is called with A's ids in its path (and in its id filters) by three
 * callers that must not reach them: application B's API key, a client token of another user of A,
 * and a client token of a user of B. None may get a 2xx for A's ids, none may see a byte of A's
 * data (scanned for in every answer), none may tell A's ids from made-up ones, and A's data must
 * read the same at the end as at the start. A route added later is swept without an edit; a path
 * parameter of a new kind fails the test until the fixture has an id for it.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { systemClock } from '../src/domain/clock.js';
import { createApiKey, createApplication } from '../src/services/applications.js';
import { startTestApp, type ApiResponse, type TestApp } from './helpers/app.js';
import { fillPath, minimalValue, readOperations, type Operation } from './helpers/openapi.js';

let t: TestApp;
let receiver: http.Server;
let receiverUrl: string;

before(async () => {
  receiver = http.createServer((req, res) => { req.resume(); req.on('end', () => res.writeHead(204).end()); });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;
  t = await startTestApp({ config: { allowPrivateAddresses: true } });
});
after(async () => {
  await t.close();
  await new Promise((r) => receiver.close(r));
});

const tag = randomBytes(4).toString('hex');
/** Keys A used: an attacker sending them must never get A's stored answers back. */
const IDEMPOTENCY_KEYS = [`iso-${tag}-user`, `iso-${tag}-token`] as const;

/** A call as the given credential; `raw` is the answer's headers and body, as a scan for leaks reads them. */
async function call(method: string, url: string, auth: string, body?: unknown, idempotencyKey?: string): Promise<ApiResponse & { raw: string }> {
  const res = await t.app.inject({
    method: method as 'GET', url,
    headers: {
      authorization: `Bearer ${auth}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(idempotencyKey ? { 'idempotency-key': idempotencyKey } : {}),
    },
    ...(body !== undefined ? { payload: JSON.stringify(body) } : {}),
  });
  let parsed: any = null;
  try { parsed = res.body ? JSON.parse(res.body) : null; } catch { /* not JSON */ }
  const { date: _date, ...headers } = res.headers;
  return { status: res.statusCode, body: parsed, headers: res.headers, raw: `${JSON.stringify(headers)}\n${res.body}` };
}

async function ok(method: string, url: string, auth: string, body?: unknown, idempotencyKey?: string) {
  const res = await call(method, url, auth, body, idempotencyKey);
  assert.ok(res.status >= 200 && res.status < 300, `fixture ${method} ${url}: ${res.status} ${res.raw.slice(0, 500)}`);
  return res.body;
}

/** Every page of a list, by its nextCursor. */
async function all(url: string, auth: string): Promise<any[]> {
  const out: any[] = [];
  let cursor: string | null = null;
  do {
    const sep = url.includes('?') ? '&' : '?';
    const page = await ok('GET', `${url}${sep}limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, auth);
    out.push(...page.data);
    cursor = page.nextCursor;
  } while (cursor);
  return out;
}

interface World {
  keyA: string; keyB: string;
  /** A's ids by path parameter name. */
  ids: Record<string, string>;
  /** Who calls, with what, and the caller's own user (a client token's, or one of B's for B's key). */
  attackers: { name: string; auth: string; userId: string }[];
  victimToken: string;
  /** A's own calls made with an Idempotency-Key, to be repeated word for word by each attacker. */
  replays: { method: string; url: string; body: unknown; key: string }[];
  /** Strings of A's that no attacker may read: ids, PII, descriptions, secrets. */
  secrets: string[];
}

async function build(): Promise<World> {
  const keyA = t.key;
  const endpoint = await ok('POST', '/v1/webhook-endpoints', keyA, { url: receiverUrl, description: `A's endpoint ${tag}` });
  // A's own calls under Idempotency-Keys: their stored answers hold A's data (and a client token).
  const victimBody = { email: `victim-${tag}@example.com`, name: `Victoria Victim ${tag}`, externalId: `ext-victim-${tag}`, metadata: { note: `meta-secret-${tag}` } };
  const victim = await ok('POST', '/v1/users', keyA, victimBody, IDEMPOTENCY_KEYS[0]);
  const created = await ok('POST', `/v1/users/${victim.id}/connections`, keyA,
    { institutionId: 'ins_sandbox_web', method: 'web', credentials: { login: 'user_good', password: 'pass_good' } });
  const job = await t.waitForJob(created.job.id);
  assert.equal(job.status, 'succeeded', JSON.stringify(job));
  const base = `/v1/users/${victim.id}/connections/${created.connection.id}`;
  const accounts = await all(`/v1/users/${victim.id}/accounts`, keyA);
  const transactions = await all(`/v1/users/${victim.id}/transactions`, keyA);
  const profile = await ok('GET', `${base}/profile?unmasked=true`, keyA);
  assert.ok(accounts.length > 0 && transactions.length > 0 && profile.names.length > 0, 'A has accounts, transactions and identity');

  // A deletion record: a second user of A whose connection is deleted with its data.
  const other = await ok('POST', '/v1/users', keyA, { email: `other-${tag}@example.com`, name: `Otto Other ${tag}` });
  const otherCon = await ok('POST', `/v1/users/${other.id}/connections`, keyA,
    { institutionId: 'ins_sandbox_web', method: 'web', credentials: { login: `user_good_other_${tag}`, password: 'pass_good' } });
  await t.waitForJob(otherCon.job.id);
  const removed = await ok('DELETE', `/v1/users/${other.id}/connections/${otherCon.connection.id}?data=purge`, keyA);
  const victimToken = (await ok('POST', `/v1/users/${victim.id}/client-tokens`, keyA, { scopes: ['connect', 'manage'] }, IDEMPOTENCY_KEYS[1])).token;
  const replays = [
    { method: 'POST', url: '/v1/users', body: victimBody, key: IDEMPOTENCY_KEYS[0] },
    { method: 'POST', url: `/v1/users/${victim.id}/client-tokens`, body: { scopes: ['connect', 'manage'] }, key: IDEMPOTENCY_KEYS[1] },
  ];

  // The attackers: B's key, a token of another user of A, a token of a user of B.
  const appB = await createApplication(t.core.db, systemClock, { name: `Application B ${tag}`, environment: 'sandbox' });
  const keyB = (await createApiKey(t.core.db, systemClock, appB, 'b')).key;
  const peer = await ok('POST', '/v1/users', keyA, { email: `peer-${tag}@example.com` });
  const peerToken = (await ok('POST', `/v1/users/${peer.id}/client-tokens`, keyA, { scopes: ['connect', 'manage'] })).token;
  const userB = await ok('POST', '/v1/users', keyB, { email: `b-${tag}@example.com` });
  const tokenB = (await ok('POST', `/v1/users/${userB.id}/client-tokens`, keyB, { scopes: ['connect', 'manage'] })).token;

  const events = await all('/v1/events', keyA);
  const deliveries = await waitForDeliveries(keyA, endpoint.id);
  const jobs = await all(`${base}/jobs`, keyA);
  const deletions = await all('/v1/deletions', keyA);
  const appA = await ok('GET', '/v1/application', keyA);
  // A's own Plaid settings: its client id is shown to A only, its secret to no one.
  const plaidA = { clientId: `a-plaid-client-${tag}`, secret: `a-plaid-secret-${tag}`, environment: 'sandbox' };
  await ok('PUT', '/v1/application/providers/plaid', keyA, plaidA);
  // A bulk import of A's, run to its end before the sweep: its one row (A's user, a token the sandbox never issued) fails, changing nothing else of A's.
  const batch = await ok('POST', '/v1/imports', keyA, { provider: 'sandbox', rows: [{ user: victim.id, accessToken: `not-a-sandbox-token-${tag}` }] });
  for (const deadline = Date.now() + 30_000; (await ok('GET', `/v1/imports/${batch.id}`, keyA)).status !== 'completed';) {
    if (Date.now() > deadline) throw new Error(`A's import ${batch.id} did not complete`);
    await new Promise((r) => setTimeout(r, 50));
  }

  const ids = {
    userId: victim.id, connectionId: created.connection.id, accountId: accounts[0].id, jobId: job.id, endpointId: endpoint.id,
    deliveryId: deliveries[0].id, eventId: events[0].id, deletionId: removed.deletion.id, transactionId: transactions[0].id, importId: batch.id,
  };
  const quoted = (s: string | null) => (s ? [JSON.stringify(s)] : []);
  const secrets = [...new Set([
    keyA, victimToken, appA.id, receiverUrl, plaidA.clientId, plaidA.secret, endpoint.description, endpoint.id, victim.id, victim.email, victim.name, victim.externalId, `meta-secret-${tag}`,
    other.id, other.email, other.name, otherCon.connection.id, created.connection.id, removed.deletion.id, batch.id, `not-a-sandbox-token-${tag}`,
    ...accounts.flatMap((a) => [a.id, `"mask":"${a.mask}"`]),
    ...transactions.flatMap((x) => [x.id, ...quoted(x.description), ...quoted(x.merchantName)]),
    ...profile.names, ...profile.emails.map((e: any) => e.address), ...profile.phones.map((p: any) => p.number), ...profile.addresses.map((a: any) => a.line1),
    ...events.map((e) => e.id), ...deliveries.map((d) => d.id), ...jobs.map((j) => j.id), ...deletions.map((d) => d.id),
  ].filter((s): s is string => typeof s === 'string' && s.length >= 4))];
  return {
    keyA, keyB, ids, victimToken, secrets, replays,
    attackers: [
      { name: "B's API key", auth: keyB, userId: userB.id },
      { name: 'a client token of another user of A', auth: peerToken, userId: peer.id },
      { name: "a client token of B's user", auth: tokenB, userId: userB.id },
    ],
  };
}

/** A's deliveries once every one has been made (so the snapshot does not change under the sweep). */
async function waitForDeliveries(key: string, endpointId: string) {
  const deadline = Date.now() + 60_000; // generous: a loaded CI machine delays the webhook worker's polls
  for (;;) {
    const list = await all(`/v1/webhook-endpoints/${endpointId}/deliveries`, key);
    if (list.length > 0 && list.every((d) => d.status === 'succeeded')) return list;
    if (Date.now() > deadline) throw new Error(`A's deliveries did not all succeed: ${JSON.stringify(list.map((d) => d.status))}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Everything of A's that a call could change, read with A's key (nothing here moves by itself). */
async function snapshot(w: World): Promise<Record<string, unknown>> {
  // A refresh allowed now says "now": that moves with the clock, not with anyone's call.
  const settled = (x: unknown) => JSON.parse(JSON.stringify(x, (k, v) => (k === 'nextRefreshAllowedAt' && Date.parse(v) <= Date.now() + 1000 ? 'now' : v)));
  return settled(await read(w));
}

async function read(w: World) {
  const { userId, connectionId, endpointId } = w.ids;
  const base = `/v1/users/${userId}/connections/${connectionId}`;
  const { nextCursor: _cursor, ...sync } = await ok('GET', `/v1/users/${userId}/transactions/sync?limit=500`, w.keyA);
  const { now: _now, ...clock } = await ok('GET', '/v1/sandbox/clock', w.keyA);
  return {
    connection: await ok('GET', base, w.keyA), user: await ok('GET', `/v1/users/${userId}`, w.keyA), users: await all('/v1/users', w.keyA),
    connections: await all(`/v1/users/${userId}/connections`, w.keyA), accounts: await all(`/v1/users/${userId}/accounts`, w.keyA),
    transactions: await all(`/v1/users/${userId}/transactions`, w.keyA), sync, profile: await ok('GET', `${base}/profile?unmasked=true`, w.keyA),
    jobs: await all(`${base}/jobs`, w.keyA), timeline: await all(`${base}/timeline`, w.keyA),
    endpoint: await ok('GET', `/v1/webhook-endpoints/${endpointId}`, w.keyA), endpoints: await all('/v1/webhook-endpoints', w.keyA),
    deliveries: await all(`/v1/webhook-endpoints/${endpointId}/deliveries`, w.keyA), events: await all('/v1/events', w.keyA),
    deletions: await all('/v1/deletions', w.keyA), application: await ok('GET', '/v1/application', w.keyA), clock,
    victimToken: await ok('GET', '/v1/client-token', w.victimToken),
  };
}

/** Query parameters that name one of A's resources (userId, connectionId, accountId … filters). */
function idQuery(op: Operation, ids: Record<string, string>): string[] {
  return op.queryParams.filter((p) => ids[p.name] !== undefined).map((p) => `${p.name}=${encodeURIComponent(ids[p.name]!)}`);
}

/** The same id shape, made up: an answer must not tell it from A's real one. */
function madeUp(id: string): string {
  const prefix = id.includes('_') ? `${id.split('_')[0]}_` : '';
  return `${prefix}${'0'.repeat(Math.max(1, id.length - prefix.length - 6))}zzzzzz`;
}

/** A valid body, with A's ids for any field named like a path parameter. */
function bodyFor(op: Operation, ids: Record<string, string>): unknown {
  if (!op.body) return undefined;
  const value = minimalValue(op.body);
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    for (const k of Object.keys(value)) if (ids[k] !== undefined) (value as Record<string, unknown>)[k] = ids[k];
  }
  return value;
}

const ORDER: Record<string, number> = { GET: 0, POST: 1, PUT: 1, PATCH: 1, DELETE: 2 };

describe('tenant isolation over every operation in the API document', () => {
  it("never gives another application or another user's client token a 2xx or a byte of A's data", { timeout: 300_000 }, async () => {
    const w = await build();
    const ops = (await readOperations(t.app)).sort((a, b) => ORDER[a.method]! - ORDER[b.method]!);
    const owned = new Set(Object.keys(w.ids)); // institutionId is shared by every application, so not A's
    /** A's ids in the path (made up ones of the same shape when `made`), the caller's own user when `ownUser` is given. */
    const pathValue = (op: Operation, made: boolean, ownUser?: string) => Object.fromEntries(op.pathParams.map((p) => {
      if (p.name === 'institutionId') return [p.name, 'ins_sandbox_web'];
      if (p.name === 'provider') return [p.name, 'plaid']; // every application has its own settings for the same providers
      if (p.name === 'userId' && ownUser) return [p.name, ownUser];
      const v = w.ids[p.name];
      assert.ok(v, `${op.id}: the fixture has no id of A's for the path parameter ${p.name}; add one to build()`);
      return [p.name, made ? madeUp(v) : v];
    }));

    // The sweep is only as good as its ids: with A's own key, every read of A's ids answers 2xx.
    for (const op of ops.filter((o) => o.method === 'GET' && o.pathParams.some((p) => w.ids[p.name] !== undefined))) {
      const res = await call('GET', fillPath(op.path, pathValue(op, false)), w.keyA);
      assert.ok(res.status < 300, `A's own ${op.id} answers ${res.status}: ${res.raw.slice(0, 300)}`);
    }
    const before = await snapshot(w);
    const seen = JSON.stringify(before);
    const unseen = w.secrets.filter((s) => !seen.includes(s) && s !== w.keyA && s !== w.victimToken && !s.startsWith('"mask"'));
    assert.ok(unseen.length < w.secrets.length / 2, `most of A's secrets are in A's own answers, so the scan can find them: ${unseen.slice(0, 5)}`);

    const failures: string[] = [];
    const statuses = new Map<string, number>();
    let requests = 0;
    for (const op of ops) {
      const filters = idQuery(op, w.ids);
      const hasUser = op.pathParams.some((p) => p.name === 'userId');
      const othersOwned = op.pathParams.some((p) => p.name !== 'userId' && owned.has(p.name));
      for (const { name, auth, userId } of w.attackers) {
        // A's ids throughout; with A's ids as filters too; and the caller's own user with A's other ids (a
        // connection, account or job of A's reached through a user the caller may see).
        const variants: { ownUser?: string; query: string[] }[] = [{ query: [] }];
        if (filters.length > 0) variants.push({ query: filters });
        if (hasUser && (othersOwned || filters.length > 0)) variants.push({ ownUser: userId, query: filters });
        for (const v of variants) {
          const ownedPath = op.pathParams.some((p) => owned.has(p.name) && !(p.name === 'userId' && v.ownUser));
          const url = fillPath(op.path, pathValue(op, false, v.ownUser)) + (v.query.length ? `?${v.query.join('&')}` : '');
          const body = bodyFor(op, w.ids);
          const res = await call(op.method, url, auth, body);
          requests++;
          statuses.set(`${res.status}`, (statuses.get(`${res.status}`) ?? 0) + 1);
          if (process.env.ISOLATION_TRACE) console.log(`${name} ${op.method} ${url} ${res.status} ${JSON.stringify(res.body).slice(0, 160)}`);
          const sent = `${url}\n${JSON.stringify(body ?? null)}`;
          const fail = (why: string) => failures.push(`${name}: ${op.method} ${url} -> ${res.status}: ${why}\n      ${res.raw.slice(0, 300)}`);
          if (res.status >= 500) fail('5xx');
          if (res.status >= 200 && res.status < 300) {
            if (ownedPath) fail("2xx for A's ids");
            else if (v.query.length > 0 && Array.isArray(res.body?.data) && res.body.data.length > 0) fail("2xx with rows for A's ids in the filter");
          }
          // The caller's own words come back in a 404's detail; anything else of A's is a leak.
          const leaked = w.secrets.filter((s) => res.raw.includes(s) && !sent.includes(s));
          if (leaked.length > 0) fail(`A's data in the answer: ${leaked.slice(0, 5).join(', ')}`);
          if (ownedPath) {
            // An existence oracle: A's real ids and made-up ones must get the same answer.
            const madeQuery = v.query.map((q) => q.replace(/=(.*)$/, (_m, id: string) => `=${madeUp(decodeURIComponent(id))}`));
            const madeUrl = fillPath(op.path, pathValue(op, true, v.ownUser)) + (madeQuery.length ? `?${madeQuery.join('&')}` : '');
            const made = await call(op.method, madeUrl, auth, body);
            requests++;
            const codeOf = (r: { body: any }) => r.body?.code ?? '-';
            if (res.status !== 429 && made.status !== 429 && (made.status !== res.status || codeOf(made) !== codeOf(res))) {
              fail(`A's ids answer ${res.status} ${codeOf(res)}, made-up ids (${madeUrl}) ${made.status} ${codeOf(made)}`);
            }
          }
        }
      }
    }
    // Last, as B's copy of A's user carries A's words: A's requests repeated word for word with A's
    // Idempotency-Keys. A replay across tenants or users would hand over A's stored answer.
    for (const { name, auth } of w.attackers) {
      for (const r of w.replays) {
        const res = await call(r.method, r.url, auth, r.body, r.key);
        requests++;
        if (res.headers['idempotent-replayed']) failures.push(`${name}: ${r.method} ${r.url} with A's Idempotency-Key was answered with a replay`);
        const leaked = w.secrets.filter((s) => res.raw.includes(s) && !`${r.url}\n${JSON.stringify(r.body)}`.includes(s));
        if (leaked.length > 0) failures.push(`${name}: ${r.method} ${r.url} with A's Idempotency-Key -> ${res.status}: A's data in the answer: ${leaked.slice(0, 5).join(', ')}`);
      }
    }
    const after = await snapshot(w);
    for (const key of Object.keys(before)) {
      try {
        assert.deepEqual(after[key], before[key]);
      } catch (err) {
        failures.push(`A's ${key} changed during the sweep:\n${(err as Error).message.slice(0, 1500)}`);
      }
    }
    console.log(`isolation: answers by status ${JSON.stringify(Object.fromEntries(statuses))}`);
    console.log(`isolation: ${requests} requests, ${failures.length} failures (${ops.length} operations, ${w.attackers.length} callers, ${w.secrets.length} strings of A's scanned for)`);
    assert.equal(failures.length, 0, `${failures.length} isolation failures:\n${failures.join('\n')}`);
  });
});
