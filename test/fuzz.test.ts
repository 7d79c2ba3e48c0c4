/**
 * Generated requests over every operation in /openapi.json (issue 11, "make it stay fixed"): path
 * ids real, wrong and hostile; query strings of the wrong type, forged cursors, impossible dates;
 * JSON bodies from each operation's schema with one mutation; wrong content types and broken JSON.
 * Every answer must be below 500, and every 4xx a problem document. A route added later is fuzzed
 * without an edit. Beside the random cases, an edge sweep sends each known-dangerous value to each
 * parameter and body field once (helpers/fuzz-cases.ts). FUZZ_SEED and FUZZ_RUNS override the
 * fixed seed and the number of random cases; FUZZ_PROFILE=1 prints where the time went.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { InjectOptions } from 'fastify';
import { startTestApp, type TestApp } from './helpers/app.js';
import { caseArb, edgeCases, type FuzzCase } from './helpers/fuzz-cases.js';
import { fillPath, readOperations, type Operation } from './helpers/openapi.js';

const SEED = Number(process.env.FUZZ_SEED ?? 20260611);
const RUNS = Number(process.env.FUZZ_RUNS ?? 2000);
/** Each batch of cases has its own fixtures, so a DELETE in one batch leaves the next batch's real ids real. */
const BATCHES = 4;
const EDGE_BATCHES = 3;
const CONCURRENCY = 4;

type Fixture = Record<string, string>;

let t: TestApp;
before(async () => { t = await startTestApp(); });
after(async () => { await t.close(); });

async function ok(method: InjectOptions['method'], url: string, body?: unknown, expected = [200, 201, 202]) {
  const res = await t.api(method, url, body);
  assert.ok(expected.includes(res.status), `fixture ${method} ${url}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

/** A user with a finished web connection (accounts, transactions, identity), an event, a delivery, a deletion record. */
async function makeFixture(i: number): Promise<Fixture> {
  const endpoint = await ok('POST', '/v1/webhook-endpoints', { url: `https://hooks.example.com/causeway/${i}`, description: `fuzz ${i}` });
  const user = await ok('POST', '/v1/users', { email: `fuzz${i}@example.com`, name: `Fuzz Person ${i}`, externalId: `fuzz-${i}` });
  const created = await ok('POST', `/v1/users/${user.id}/connections`, {
    institutionId: 'ins_sandbox_web', method: 'web',
    // One login per batch: the same bank login on two live connections of one application waits out a pause.
    credentials: { login: i === 0 ? 'user_good' : `user_good_${i}`, password: 'pass_good' },
  });
  const job = await t.waitForJob(created.job.id);
  assert.equal(job.status, 'succeeded', `fixture job: ${JSON.stringify(job)}`);
  const accounts = await ok('GET', `/v1/users/${user.id}/accounts`);
  assert.ok(accounts.data.length > 0, 'the fixture connection brought accounts');
  const doomed = await ok('POST', '/v1/users', { email: `doomed${i}@example.com` });
  const deletion = await ok('DELETE', `/v1/users/${doomed.id}`);
  const events = await ok('GET', `/v1/events?userId=${user.id}`);
  const deliveries = await ok('GET', `/v1/webhook-endpoints/${endpoint.id}/deliveries`);
  const token = await ok('POST', '/v1/sandbox/tokens', { institutionId: 'ins_sandbox_openbank' });
  const cursor = async (url: string) => encodeURIComponent((await ok('GET', url)).nextCursor ?? 'none');
  assert.ok(events.data.length > 0 && deliveries.data.length > 0, 'the fixture has events and deliveries');
  return {
    userId: user.id, connectionId: created.connection.id, accountId: accounts.data[0].id, jobId: job.id, endpointId: endpoint.id,
    deliveryId: deliveries.data[0].id, eventId: events.data[0].id, deletionId: deletion.deletion.id, institutionId: 'ins_sandbox_web',
    accessToken: token.accessToken, txCursor: await cursor(`/v1/users/${user.id}/transactions?limit=1`),
    eventsCursor: await cursor('/v1/events?limit=1'), usersCursor: await cursor('/v1/users?limit=1'),
  };
}

/** `@@name@@` becomes the fixture's value; `@@wrong:name@@` the same id under another prefix; `@@tamper:name@@` one character changed. */
function resolveRefs(text: string, f: Fixture): string {
  return text.replace(/@@(wrong:|tamper:)?(\w+)@@/g, (m, how: string | undefined, name: string) => {
    const v = f[name];
    if (v === undefined) return m;
    if (!how) return v;
    if (how === 'tamper:') return `${v.slice(0, -2)}${v.at(-2) === 'A' ? 'B' : 'A'}${v.at(-1)}`;
    const swap: Record<string, string> = { usr: 'con', con: 'usr', acc: 'txn', job: 'con', whe: 'whd', whd: 'whe', evt: 'job', del: 'usr', ins: 'usr' };
    const prefix = v.split('_')[0]!;
    return `${swap[prefix] ?? 'zzz'}${v.slice(prefix.length)}`;
  });
}

interface Sent { method: string; url: string; status: number; contentType: string; body: string }

async function send(op: Operation, c: FuzzCase, f: Fixture): Promise<Sent[]> {
  const url = resolveRefs(fillPath(op.path, c.path), f) + (c.query.length ? `?${resolveRefs(c.query.join('&'), f)}` : '');
  const headers: Record<string, string> = {};
  if (c.auth === 'key') headers.authorization = `Bearer ${t.key}`;
  if (c.auth === 'bad') headers.authorization = 'Bearer sk_sandbox_notarealkeynotarealkey00';
  if (c.auth === 'basic') headers.authorization = 'Basic dXNlcjpwYXNz';
  if (c.idempotencyKey !== null) headers['idempotency-key'] = c.idempotencyKey;
  let payload: string | undefined;
  if (c.body.kind === 'json') {
    headers['content-type'] = 'application/json';
    payload = resolveRefs(JSON.stringify(c.body.value) ?? 'null', f);
  } else if (c.body.kind === 'raw') {
    if (c.body.contentType !== null) headers['content-type'] = c.body.contentType;
    payload = resolveRefs(c.body.payload, f);
  }
  const out: Sent[] = [];
  for (let i = 0; i < (c.repeat ? 2 : 1); i++) {
    const res = await t.app.inject({ method: op.method, url, headers, ...(payload !== undefined ? { payload } : {}) });
    out.push({ method: op.method, url, status: res.statusCode, contentType: String(res.headers['content-type'] ?? ''), body: res.body });
  }
  return out;
}

/** What is wrong with an answer, or null: below 500, and every 4xx an RFC 9457 problem with our code. */
function verdict(r: Sent): string | null {
  if (r.status >= 500) return `${r.status}`;
  if (r.status < 400) return null;
  if (!/^application\/problem\+json/.test(r.contentType)) return `${r.status} as ${r.contentType || 'no content type'}`;
  let body: any;
  try { body = JSON.parse(r.body); } catch { return `${r.status} problem that is not JSON`; }
  const missing = ['type', 'title', 'detail', 'code'].filter((k) => typeof body?.[k] !== 'string');
  if (missing.length > 0) return `${r.status} problem without ${missing.join(', ')}`;
  if (body.status !== r.status) return `${r.status} problem whose status is ${body.status}`;
  // The database's own range check caught what validation let through: a 400 for the caller, a defect for us.
  if (body.code === 'value_out_of_range') return `${r.status} value_out_of_range (validation let a value reach the database)`;
  return null;
}

/** Long strings shortened, so a case prints in a few lines. */
function describeCase(c: FuzzCase): string {
  return JSON.stringify(c, (_k, v) => (typeof v === 'string' && v.length > 120 ? `${v.slice(0, 60)}…(${v.length} chars)` : v));
}

function codeOf(body: string): string {
  try { return String(JSON.parse(body).code ?? '-'); } catch { return '-'; }
}

/**
 * The hostile part of a case most likely to explain a failure, so the report groups failures by
 * cause rather than by route (a first guess: the examples show the whole case).
 */
function likelyCause(op: Operation, c: FuzzCase, url: string): string {
  const body = c.body.kind === 'json' ? JSON.stringify(c.body.value) ?? '' : c.body.kind === 'raw' ? c.body.payload : '';
  const [path = '', query = ''] = url.split('?');
  const dates = /(^|&)(from|to)=/.test(query) || /"(from|to)":/.test(body);
  if (/%00/i.test(path)) return 'NUL in a path id';
  if (/%00/i.test(query)) return 'NUL in the query';
  if (/\\u0000|\u0000/.test(body)) return 'NUL in the body';
  if (/\\ud[89a-f][0-9a-f]{2}/i.test(body) || /[\ud800-\udfff]/.test(body.replace(/[\ud800-\udbff][\udc00-\udfff]/g, ''))) return 'lone surrogate in the body';
  if (Object.values(c.path).some((v) => v.length > 100)) return 'path id over 100 characters';
  if (/%(?![0-9a-f]{2})|%[c-f][0-9a-f](?!%)|%E0%A4%A|%ED%A0|%FF|%C0/i.test(url)) return 'bad percent-encoding';
  if (/(^|&)cursor=/.test(query)) return 'cursor';
  if (dates) return 'date range';
  if (op.id === 'POST /v1/sandbox/clock') return 'clock';
  if (c.idempotencyKey !== null && c.repeat) return 'idempotent replay';
  if (c.body.kind !== 'none') return `body: ${c.body.mutation.replace(/ at \/.*/, '')}`;
  return 'other';
}

interface FailureGroup { count: number; ops: Map<string, number>; examples: string[] }

describe('fuzzing every operation in the API document', () => {
  it(`answers below 500, with a problem document for every 4xx, to ${RUNS} generated requests and an edge sweep`, { timeout: 600_000 }, async () => {
    const ops = await readOperations(t.app);
    assert.ok(ops.length >= 40, `the document lists ${ops.length} operations`);
    const byId = new Map(ops.map((o) => [o.id, o]));
    const cases = fc.sample(caseArb(ops), { seed: SEED, numRuns: RUNS });
    const edges = edgeCases(ops);
    console.log(`fuzz: seed ${SEED} (FUZZ_SEED=${SEED} to repeat), ${cases.length} random cases and ${edges.length} edge cases over ${ops.length} operations`);
    // Random batches keep their sampled order; in an edge batch deletions go last, so the other cases meet live fixtures.
    const last = (c: FuzzCase) => (c.op.startsWith('DELETE ') ? 1 : 0);
    const split = (list: FuzzCase[], n: number) => Array.from({ length: n }, (_, i) => list.slice(Math.floor((i * list.length) / n), Math.floor(((i + 1) * list.length) / n)));
    const batches = [...split(cases, BATCHES), ...split(edges, EDGE_BATCHES).map((b) => [...b].sort((x, y) => last(x) - last(y)))];

    const fixtureStart = Date.now();
    const fixtures = await Promise.all(batches.map((_, b) => makeFixture(b)));
    console.log(`fuzz: ${fixtures.length} fixtures in ${((Date.now() - fixtureStart) / 1000).toFixed(1)} s`);

    const failures = new Map<string, FailureGroup>();
    const perOp = new Map<string, number>();
    const statuses = new Map<number, number>();
    const timeByOp = new Map<string, number>();
    let requests = 0;
    let failed = 0;
    const started = Date.now();
    const cpu = process.cpuUsage();
    for (const [b, batch] of batches.entries()) {
      let next = 0;
      const worker = async () => {
        while (next < batch.length) {
          const c = batch[next++]!;
          const op = byId.get(c.op)!;
          perOp.set(op.id, (perOp.get(op.id) ?? 0) + 1);
          let answers: Sent[];
          const sentAt = Date.now();
          try {
            answers = await send(op, c, fixtures[b]!);
            if (process.env.FUZZ_PROFILE) timeByOp.set(op.id, (timeByOp.get(op.id) ?? 0) + Date.now() - sentAt);
          } catch (err) {
            throw new Error(`the fuzz harness could not send ${describeCase(c)}: ${(err as Error).stack}`);
          }
          for (const r of answers) {
            requests++;
            statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
            const bad = verdict(r);
            if (!bad) continue;
            failed++;
            const key = r.status >= 500 ? `${bad} ${codeOf(r.body)} (${likelyCause(op, c, r.url)})` : `${bad} ${codeOf(r.body)}`;
            const group = failures.get(key) ?? { count: 0, ops: new Map<string, number>(), examples: [] };
            failures.set(key, group);
            group.count++;
            if (!group.ops.has(op.id) && group.examples.length < 3) {
              group.examples.push(`${r.method} ${r.url.length > 300 ? `${r.url.slice(0, 300)}…` : r.url}\n        answer ${r.status} ${r.contentType}: ${r.body.slice(0, 300)}\n        case ${describeCase(c)}`);
            }
            group.ops.set(op.id, (group.ops.get(op.id) ?? 0) + 1);
          }
        }
      };
      await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    }
    console.log(`fuzz: answers by status ${JSON.stringify(Object.fromEntries([...statuses].sort((a, b) => a[0] - b[0])))}`);
    if (process.env.FUZZ_PROFILE) console.log([...timeByOp].sort((x, y) => y[1] - x[1]).slice(0, 12));
    const untouched = ops.filter((o) => !perOp.has(o.id)).map((o) => o.id);
    const used = process.cpuUsage(cpu);
    console.log(`fuzz: ${requests} requests, ${failed} failures (${failures.size} kinds) in ${((Date.now() - started) / 1000).toFixed(1)} s (${((used.user + used.system) / 1e6).toFixed(1)} s of CPU)`);
    assert.deepEqual(untouched, [], 'every operation was fuzzed');
    assert.ok(requests >= 2000 || RUNS < 2000, `at least 2,000 requests (${requests})`);
    const report = [...failures.entries()].sort((a, b) => b[1].count - a[1].count)
      .map(([key, g]) => `  ${g.count} × ${key} on ${g.ops.size} operations: ${[...g.ops].map(([o, n]) => `${o} ${n}`).join(', ')}\n${g.examples.map((e) => `      e.g. ${e}`).join('\n')}`)
      .join('\n');
    assert.equal(failed, 0, `${failed} of ${requests} answers broke the rules (seed ${SEED}):\n${report}`);
  });
});
