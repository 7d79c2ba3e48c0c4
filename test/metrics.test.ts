/**
 * What an operator's tooling reads: /metrics after a sandbox bank is linked and its webhook
 * delivered (HTTP, jobs, queues, webhooks, provider calls, scheduler lag, process series), who may
 * scrape, /ready against a database that answers, is closed, or hangs, and X-Request-Id on every
 * kind of answer, in every problem and on the request's log lines.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { buildApp } from '../src/http/app.js';
import { listenForMetrics } from '../src/http/observability.js';
import type { Core } from '../src/services/core.js';
import { openDatabase, type Db } from '../src/db/open.js';
import { startTestApp, type TestApp } from './helpers/app.js';
import { createTestDatabase, usingPostgres } from './helpers/db.js';
import { until } from './helpers/wait.js';

/** The samples of one metric whose labels include `labels`, summed (a missing series sums to undefined). */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  let sum: number | undefined;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) sum = (sum ?? 0) + Number(m[3]);
  }
  return sum;
}

const GENERATED = /^req_[0-9a-f]{20}$/;

describe('metrics, readiness and request ids', () => {
  let t: TestApp;
  let receiver: http.Server;
  let receiverUrl: string;
  const delivered: string[] = [];
  let userId: string;
  let job: { id: string; type: string };
  let linkStatus: number;

  before(async () => {
    receiver = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => { body += c; });
      req.on('end', () => { delivered.push(body); res.writeHead(200).end('ok'); });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;
    t = await startTestApp({ config: { allowPrivateAddresses: true } });
    assert.equal((await t.api('POST', '/v1/webhook-endpoints', { url: receiverUrl })).status, 201);
    userId = await t.createUser();
    const res = await t.api('POST', `/v1/users/${userId}/connections`, { institutionId: 'ins_sandbox_web', method: 'web', credentials: { login: 'user_good', password: 'pass_good' } });
    linkStatus = res.status;
    job = res.body.job;
    assert.equal((await t.waitForJob(job.id)).status, 'succeeded');
    // Background refresh: the test clock moved a minute past the connection's due time; the clock's move runs the scheduler.
    const connection = (await t.api('GET', `/v1/users/${userId}/connections/${res.body.connection.id}`)).body;
    const now = Date.parse((await t.api('GET', '/v1/sandbox/clock')).body.now);
    const by = Math.ceil((Date.parse(connection.nextScheduledRefreshAt) + 60_000 - now) / 1000);
    assert.equal((await t.api('POST', '/v1/sandbox/clock', { advanceBy: `PT${by}S` })).status, 200);
    await until('a webhook delivered to the receiver', () => delivered.length > 0);
  });
  after(async () => {
    await t.close();
    await new Promise<void>((r) => receiver.close(() => r()));
  });

  const scrape = async () => {
    const res = await t.app.inject({ method: 'GET', url: '/metrics' });
    assert.equal(res.statusCode, 200, res.body);
    assert.match(String(res.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    return res.body;
  };

  it('counts requests by method, route pattern and status, with durations, and never a raw id', async () => {
    const text = await until('the link and its delivery counted', async () => {
      const s = await scrape();
      return (sample(s, 'causeway_webhook_attempts_total', { outcome: 'delivered' }) ?? 0) >= 1 ? s : false;
    });
    const route = '/v1/users/:userId/connections';
    assert.ok(sample(text, 'causeway_http_requests_total', { method: 'POST', route, status: String(linkStatus) })! >= 1, 'the link request');
    assert.ok(sample(text, 'causeway_http_request_duration_seconds_count', { method: 'POST', route })! >= 1);
    assert.ok(sample(text, 'causeway_http_requests_total', { method: 'GET', route: '/v1/jobs/:jobId', status: '200' })! >= 1, 'the job polls');
    assert.ok(!text.includes(userId) && !text.includes(job.id), 'ids never become labels');
  });

  it('counts the job by type and outcome with its duration, and the queue deliveries that ran it', async () => {
    const text = await scrape();
    assert.equal(job.type, 'create');
    assert.ok(sample(text, 'causeway_jobs_total', { type: 'create', outcome: 'succeeded' })! >= 1);
    assert.ok(sample(text, 'causeway_job_duration_seconds_count', { type: 'create', outcome: 'succeeded' })! >= 1);
    assert.ok(sample(text, 'causeway_job_duration_seconds_sum', { type: 'create', outcome: 'succeeded' })! > 0);
    assert.ok(sample(text, 'causeway_job_runs_total', { queue: 'connection-job', outcome: 'completed' })! >= 1);
    assert.ok(sample(text, 'causeway_job_run_duration_seconds_count', { queue: 'connection-job' })! >= 1);
  });

  it('counts webhook attempts by outcome, with request duration and commit-to-delivery latency', async () => {
    const text = await scrape();
    assert.ok(sample(text, 'causeway_webhook_request_duration_seconds_count', { outcome: 'delivered' })! >= 1);
    assert.ok(sample(text, 'causeway_webhook_delivery_latency_seconds_count')! >= 1);
    assert.ok(sample(text, 'causeway_webhook_delivery_latency_seconds_sum')! > 0);
  });

  it('counts provider calls by provider, institution and outcome, and times them by operation', async () => {
    const text = await scrape();
    assert.ok(sample(text, 'causeway_provider_calls_total', { provider: 'sandbox', institution: 'ins_sandbox_web', outcome: 'ok' })! >= 2, 'login and at least one fetch');
    assert.ok(sample(text, 'causeway_provider_call_duration_seconds_count', { provider: 'sandbox' })! >= 2);
    assert.match(text, /causeway_provider_calls_total\{provider="sandbox",institution="ins_sandbox_web",outcome="ok"\}/);
    assert.ok(sample(text, 'causeway_provider_call_duration_seconds_count', { provider: 'sandbox', operation: 'verifyCredentials', outcome: 'ok' })! >= 1);
  });

  it('measures scheduler lag: the refresh fell due a minute before the clock moved past it', async () => {
    const text = await scrape();
    assert.ok(sample(text, 'causeway_scheduler_lag_seconds_count')! >= 1);
    assert.ok(sample(text, 'causeway_scheduler_lag_seconds_sum')! >= 59, `lag ${sample(text, 'causeway_scheduler_lag_seconds_sum')}`);
  });

  it('reads each queue\'s depth and the age of its oldest ready job from the database at scrape time', async () => {
    const boss = t.core.queue.boss;
    await boss.createQueue('metrics-probe');
    await boss.send('metrics-probe', { n: 1 }, { startAfter: new Date(Date.now() - 60_000) });
    await boss.send('metrics-probe', { n: 2 }, { startAfter: new Date(Date.now() + 3_600_000) });
    const text = await scrape();
    assert.equal(sample(text, 'causeway_queue_depth', { queue: 'metrics-probe', state: 'ready' }), 1);
    assert.equal(sample(text, 'causeway_queue_depth', { queue: 'metrics-probe', state: 'deferred' }), 1);
    const age = sample(text, 'causeway_queue_oldest_ready_age_seconds', { queue: 'metrics-probe' })!;
    assert.ok(age >= 59 && age < 600, `oldest ready age ${age}`);
    for (const queue of ['connection-job', 'mfa-timeout', 'import-batch']) {
      assert.notEqual(sample(text, 'causeway_queue_depth', { queue, state: 'ready' }), undefined, `${queue} listed even when empty`);
    }
    await boss.deleteQueue('metrics-probe');
    assert.equal(sample(await scrape(), 'causeway_queue_depth', { queue: 'metrics-probe' }), undefined, 'a queue gone is no longer reported');
  });

  it('includes the default process series', async () => {
    const text = await scrape();
    assert.ok(sample(text, 'process_cpu_user_seconds_total')! > 0);
    assert.ok(sample(text, 'nodejs_heap_size_used_bytes')! > 0);
  });

  it('asks for the token when CAUSEWAY_METRICS_TOKEN is set, and serves nothing when off', async () => {
    const token = 'scrape-token-0123456789';
    const guarded = await buildApp({ ...t.core, config: { ...t.core.config, metrics: { enabled: true, token, port: null } } }, { logger: false });
    const off = await buildApp({ ...t.core, config: { ...t.core.config, metrics: { enabled: false, token: null, port: null } } }, { logger: false });
    try {
      const refused = await guarded.inject({ method: 'GET', url: '/metrics', headers: { authorization: 'Bearer wrong-token-0123456789' } });
      assert.equal(refused.statusCode, 401);
      assert.equal(refused.json().code, 'unauthenticated');
      assert.equal((await guarded.inject({ method: 'GET', url: '/metrics' })).statusCode, 401);
      const ok = await guarded.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${token}` } });
      assert.equal(ok.statusCode, 200);
      assert.ok(sample(ok.body, 'causeway_http_requests_total')! >= 1);
      const gone = await off.inject({ method: 'GET', url: '/metrics' });
      assert.equal(gone.statusCode, 404);
      assert.equal(gone.json().code, 'route_not_found');
    } finally {
      await guarded.close();
      await off.close();
    }
  });

  it('serves /metrics, /ready and /health on CAUSEWAY_METRICS_PORT (how workers are scraped), and not on the API port', async () => {
    const core = { ...t.core, config: { ...t.core.config, metrics: { enabled: true, token: null, port: 0 } } };
    const { url, app } = await listenForMetrics(core);
    const api = await buildApp(core, { logger: false });
    try {
      const res = await fetch(`${url}/metrics`);
      assert.equal(res.status, 200);
      assert.ok(sample(await res.text(), 'causeway_jobs_total', { type: 'create' })! >= 1);
      assert.deepEqual(await (await fetch(`${url}/ready`)).json(), { status: 'ready' });
      assert.equal((await fetch(`${url}/health`)).status, 200);
      assert.equal((await api.inject({ method: 'GET', url: '/metrics' })).statusCode, 404);
    } finally {
      await app.close();
      await api.close();
    }
  });

  it('answers /ready 200 while the database answers, 503 not_ready when it is closed or hangs; /health stays 200', async () => {
    const ready = await t.app.inject({ method: 'GET', url: '/ready' });
    assert.equal(ready.statusCode, 200);
    assert.deepEqual(ready.json(), { status: 'ready' });
    // PostgreSQL: a server that refuses connections; embedded: a PGlite database closed under the process.
    const gone = usingPostgres()
      ? await openDatabase({ databaseUrl: 'postgres://postgres@127.0.0.1:1/causeway', dataDir: '' })
      : (await createTestDatabase()).database;
    await gone.close();
    const hanging = { execute: () => new Promise(() => {}) } as unknown as Db;
    for (const [what, db] of [['unreachable', gone.db], ['hanging', hanging]] as const) {
      const app = await buildApp({ ...t.core, db } as Core, { logger: false });
      try {
        const res = await app.inject({ method: 'GET', url: '/ready', headers: { 'x-request-id': `ready-${what}` } });
        assert.equal(res.statusCode, 503, what);
        assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
        assert.equal(res.json().code, 'not_ready');
        assert.equal(res.json().type, '/docs/errors#not_ready');
        assert.equal(res.json().requestId, `ready-${what}`);
        assert.equal(res.headers['retry-after'], '5');
        assert.equal((await app.inject({ method: 'GET', url: '/health' })).statusCode, 200, 'liveness does not depend on the database');
      } finally {
        await app.close();
      }
    }
  });

  describe('X-Request-Id', () => {
    const get = (url: string, headers: Record<string, string> = {}) => t.app.inject({ method: 'GET', url, headers });

    it('echoes a sane id on a success, a 404, a 400 problem, a 401 and a page, and quotes it in every problem', async () => {
      const ok = await t.api('GET', '/v1/users', undefined, { 'x-request-id': 'ok-1.2:3_A' });
      assert.equal(ok.status, 200);
      assert.equal(ok.headers['x-request-id'], 'ok-1.2:3_A');
      const missing = await t.api('GET', '/v1/no-such-thing', undefined, { 'x-request-id': 'nf-1' });
      assert.equal(missing.status, 404);
      assert.equal(missing.headers['x-request-id'], 'nf-1');
      assert.equal(missing.body.requestId, 'nf-1');
      assert.equal(missing.body.type, '/docs/errors#route_not_found');
      const invalid = await t.api('POST', '/v1/users', { email: 42 }, { 'x-request-id': 'bad-1' });
      assert.equal(invalid.status, 400);
      assert.equal(invalid.headers['x-request-id'], 'bad-1');
      assert.deepEqual([invalid.body.code, invalid.body.type, invalid.body.requestId], ['validation_failed', '/docs/errors#validation_failed', 'bad-1']);
      const anonymous = await get('/v1/users', { 'x-request-id': 'anon-1' });
      assert.equal(anonymous.statusCode, 401);
      assert.equal(anonymous.headers['x-request-id'], 'anon-1');
      assert.equal(anonymous.json().requestId, 'anon-1');
      const page = await get('/', { 'x-request-id': 'page-1' });
      assert.equal(page.statusCode, 200);
      assert.equal(page.headers['x-request-id'], 'page-1');
      const x = 'x'.repeat(128);
      assert.equal((await get('/health', { 'x-request-id': x })).headers['x-request-id'], x, '128 characters is still sane');
    });

    it('generates req_… when the id is absent or not sane, and the problem quotes the generated one', async () => {
      const absent = await get('/v1/users');
      assert.match(String(absent.headers['x-request-id']), GENERATED);
      assert.equal(absent.json().requestId, absent.headers['x-request-id']);
      for (const bad of ['has space', 'x'.repeat(129), '<script>', 'é']) {
        const res = await get('/nope', { 'x-request-id': bad });
        assert.match(String(res.headers['x-request-id']), GENERATED, bad);
        assert.equal(res.json().requestId, res.headers['x-request-id']);
      }
      assert.notEqual((await get('/health')).headers['x-request-id'], (await get('/health')).headers['x-request-id'], 'a new id each time');
    });

    it('carries the id on router errors and on requests the HTTP parser refuses', async () => {
      const bad = await get('/v1/users/%E0%A4%A', { 'x-request-id': 'url-1' });
      assert.equal(bad.statusCode, 400);
      assert.equal(bad.headers['x-request-id'], 'url-1');
      assert.equal(bad.json().requestId, 'url-1');
      const url = await t.app.listen({ port: 0, host: '127.0.0.1' });
      const raw = await new Promise<string>((resolve, reject) => {
        const socket = net.connect(Number(new URL(url).port), '127.0.0.1');
        let answer = '';
        socket.on('data', (c) => { answer += c; });
        socket.on('end', () => resolve(answer));
        socket.on('error', reject);
        socket.write('GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n');
      });
      const id = /\r\nX-Request-Id: (\S+)\r\n/i.exec(raw)?.[1];
      assert.match(id ?? '', GENERATED, raw);
      const body = JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4));
      assert.deepEqual([body.code, body.type, body.requestId], ['malformed_request', '/docs/errors#malformed_request', id]);
    });

    it('logs one line a request, with the id, the request, its status and time, and the application and key once authenticated', async () => {
      const lines: string[] = [];
      const app = await buildApp({ ...t.core, config: { ...t.core.config, logLevel: 'info' } }, { logStream: { write: (l) => { lines.push(l); } } });
      try {
        const res = await app.inject({ method: 'GET', url: '/v1/users', headers: { authorization: `Bearer ${t.key}`, 'x-request-id': 'log-1' } });
        assert.equal(res.statusCode, 200);
      } finally {
        await app.close();
      }
      const mine = lines.map((l) => JSON.parse(l)).filter((l) => l.reqId === 'log-1');
      // One line a request at info: the completed one, with the request it answered.
      assert.equal(mine.length, 1, lines.join(''));
      const completed = mine.find((l) => l.msg === 'request completed');
      assert.ok(completed, lines.join(''));
      assert.deepEqual(completed.req, { method: 'GET', url: '/v1/users', remoteAddress: '127.0.0.1' });
      assert.equal(completed.res.statusCode, 200);
      assert.equal(typeof completed.responseTime, 'number');
      const applicationId = (await t.api('GET', '/v1/application')).body.id;
      assert.equal(completed.applicationId, applicationId);
      assert.equal(completed.credential, 'api_key');
      assert.match(completed.keyId, /^key_/);
      assert.ok(!lines.join('').includes(t.key), 'the key itself is never logged');
    });
  });
});
