/**
 * Webhooks against a real local HTTP receiver (PRODUCT.md §4): Standard Webhooks signatures that
 * the `standardwebhooks` and `svix` packages verify (secret rotation included), the retry
 * schedule under the test clock, Retry-After, 410, five days of failures, redirects, a hanging
 * receiver beside a healthy one, resend, replay, test events, the delivery log, events and the
 * timeline.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { Webhook as SvixWebhook } from 'svix';
import { nextAttemptDelayMs, RETRY_SCHEDULE_MS } from '../src/domain/webhooks.js';
import { sendWebhook } from '../src/jobs/webhook-http.js';
import { isBlockedAddress } from '../src/net/guard.js';
import { signatureHeader } from '../src/services/webhooks.js';
import { insertApplication } from '../src/db/repos/applications.js';
import { systemClock } from '../src/domain/clock.js';
import { newId } from '../src/domain/ids.js';
import { createApiKey } from '../src/services/applications.js';
import { openDatabase } from '../src/db/open.js';
import { startWebhookWorker } from '../src/jobs/webhook-worker.js';
import { createCore, stopJobs } from '../src/runtime.js';
import { startTestApp, type TestApp } from './helpers/app.js';
import { until } from './helpers/wait.js';
import { registry } from '../src/metrics.js';

function assertProblem(res: { status: number; body: any }, status: number, code: string) {
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.equal(res.body.code, code, JSON.stringify(res.body));
}

interface Received { path: string; headers: http.IncomingHttpHeaders; body: string; at: number }

/** A receiver whose answer each path chooses: `/ok`, `/fail` (500), `/gone` (410), `/hang`, `/redirect`, `/later` (503 + Retry-After), `/big`. */
async function startReceiver() {
  const received: Received[] = [];
  const hanging: http.ServerResponse[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      const path = req.url ?? '/';
      received.push({ path, headers: req.headers, body, at: Date.now() });
      if (path.startsWith('/ok')) return res.writeHead(200).end('thanks');
      if (path.startsWith('/fail')) return res.writeHead(500).end('down for maintenance');
      if (path.startsWith('/gone')) return res.writeHead(410).end();
      if (path.startsWith('/later')) return res.writeHead(503, { 'retry-after': '3600' }).end();
      if (path.startsWith('/redirect')) return res.writeHead(302, { location: '/ok/target' }).end();
      if (path.startsWith('/big')) return res.writeHead(200).end('x'.repeat(5000));
      hanging.push(res); // /hang: never answers
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    base, received,
    at: (prefix: string) => received.filter((r) => r.path.startsWith(prefix)),
    async close() {
      for (const h of hanging) h.destroy();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

describe('webhook signing (known answers)', () => {
  it('reproduces the Standard Webhooks test vector', () => {
    const sig = signatureHeader(['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'], 'msg_p5jXN8AQM9LWM0D4loKWxJek', new Date(1614265330 * 1000), '{"test": 2432232314}');
    assert.equal(sig, 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  });

  it('signs with every live secret, space-separated', () => {
    const sig = signatureHeader(['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'], 'msg_p5jXN8AQM9LWM0D4loKWxJek', new Date(1614265330 * 1000), '{"test": 2432232314}');
    assert.equal(sig, 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE= v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  });

  it('waits 0, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h with at most 10% jitter, and honours a longer Retry-After', () => {
    assert.deepEqual(RETRY_SCHEDULE_MS.map((_, i) => nextAttemptDelayMs(i, null, 0.5)), [0, 5000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000]);
    assert.equal(nextAttemptDelayMs(8, null, 0.5), null, 'eight attempts, then it gives up');
    assert.equal(nextAttemptDelayMs(1, null, 0), 4500);
    assert.equal(nextAttemptDelayMs(1, null, 0.999999), 5500);
    assert.equal(nextAttemptDelayMs(1, 120, 0.5), 120_000);
    assert.equal(nextAttemptDelayMs(2, 1, 0.5), 300_000, 'a shorter Retry-After does not hurry the schedule');
    assert.equal(nextAttemptDelayMs(1, 999_999, 0.5), 36_000_000, 'capped at the longest wait');
  });
});

describe('webhook address safety', () => {
  it('knows the private, loopback, link-local and reserved ranges of both families', () => {
    for (const a of ['127.0.0.1', '10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '::1', 'fe80::1', 'fd00::1', '::ffff:127.0.0.1', '::ffff:10.0.0.1']) {
      assert.ok(isBlockedAddress(a), a);
    }
    for (const a of ['8.8.8.8', '1.1.1.1', '172.32.0.1', '2606:4700:4700::1111']) assert.ok(!isBlockedAddress(a), a);
  });

  it('refuses at delivery time a name that resolves to loopback, and a loopback address, unless allowed', async () => {
    const receiver = await startReceiver();
    try {
      const port = new URL(receiver.base).port;
      const byName = await sendWebhook(`http://localhost:${port}/ok`, {}, '{}', { timeoutMs: 2000, allowPrivate: false });
      assert.match(byName.error ?? '', /loopback|private/);
      const byAddress = await sendWebhook(`${receiver.base}/ok`, {}, '{}', { timeoutMs: 2000, allowPrivate: false });
      assert.match(byAddress.error ?? '', /loopback|private/);
      assert.equal(receiver.received.length, 0, 'nothing reached the receiver');
      const allowed = await sendWebhook(`http://localhost:${port}/ok`, {}, '{}', { timeoutMs: 2000, allowPrivate: true });
      assert.equal(allowed.statusCode, 200);
    } finally {
      await receiver.close();
    }
  });

  it('refuses private endpoint URLs when the operator has not allowed them', async () => {
    const t = await startTestApp({ worker: false, config: { allowPrivateAddresses: false } });
    try {
      for (const url of ['http://127.0.0.1:9/x', 'http://localhost/x', 'http://[::1]/x', 'http://10.0.0.8/hook', 'ftp://example.com/x', 'not a url', 'http://user:pw@example.com/x']) {
        const res = await t.api('POST', '/v1/webhook-endpoints', { url });
        assertProblem(res, 400, 'webhook_url_not_allowed');
        assert.equal(res.body.errors[0].field, 'body.url');
      }
      assert.equal((await t.api('POST', '/v1/webhook-endpoints', { url: 'https://hooks.example.com/causeway' })).status, 201);
    } finally {
      await t.close();
    }
  });
});

describe('webhook delivery', () => {
  let t: TestApp;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  before(async () => {
    receiver = await startReceiver();
    t = await startTestApp({ config: { allowPrivateAddresses: true, webhookTimeoutSeconds: 2 } });
  });
  after(async () => {
    await t.close();
    await receiver.close();
  });

  async function endpoint(path: string, eventTypes?: string[]) {
    const res = await t.api('POST', '/v1/webhook-endpoints', { url: `${receiver.base}${path}`, ...(eventTypes ? { eventTypes } : {}) });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.match(res.body.secret, /^whsec_/);
    return res.body as { id: string; secret: string };
  }
  const deliveries = async (endpointId: string) => (await t.api('GET', `/v1/webhook-endpoints/${endpointId}/deliveries?limit=500`)).body.data as any[];
  const advance = async (advanceBy: string) => assert.equal((await t.api('POST', '/v1/sandbox/clock', { advanceBy })).status, 200);

  it('delivers each event signed: standardwebhooks and svix verify it, and webhook-id is the event id', async () => {
    const ep = await endpoint('/ok/interop', ['user.created']);
    const user = await t.api('POST', '/v1/users', { externalId: `interop-${Date.now()}` });
    const got = await until('the delivery', () => receiver.at('/ok/interop')[0]);
    const headers = { 'webhook-id': String(got.headers['webhook-id']), 'webhook-timestamp': String(got.headers['webhook-timestamp']), 'webhook-signature': String(got.headers['webhook-signature']) };
    const payload = new StandardWebhook(ep.secret).verify(got.body, headers) as any;
    new SvixWebhook(ep.secret).verify(got.body, headers);
    assert.throws(() => new StandardWebhook('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw').verify(got.body, headers), /signature/i, 'another secret does not verify');
    assert.deepEqual([payload.type, payload.userId, payload.data.externalId], ['user.created', user.body.id, user.body.externalId]);
    assert.equal(headers['webhook-id'], payload.id);
    const event = (await t.api('GET', `/v1/events/${payload.id}`)).body;
    assert.equal(event.type, 'user.created');
    assert.ok(Math.abs(Number(headers['webhook-timestamp']) * 1000 - Date.now()) < 60_000, 'timestamped in real time');
    const log = await until('a succeeded delivery', async () => (await deliveries(ep.id)).find((d) => d.status === 'succeeded'));
    assert.deepEqual([log.attemptCount, log.attempts[0].statusCode, log.attempts[0].responseBody, log.eventType], [1, 200, 'thanks', 'user.created']);
    assert.ok(log.attempts[0].durationMs >= 0);
    assert.equal((await t.api('GET', `/v1/webhook-endpoints/${ep.id}`)).body.secret, undefined, 'the secret is shown once');
  });

  it('signs with both secrets during a rotation, so a receiver holding either verifies', async () => {
    const ep = await endpoint('/ok/rotate', ['user.created']);
    const rotated = await t.api('POST', `/v1/webhook-endpoints/${ep.id}/rotate-secret`, { graceSeconds: 3600 });
    assert.equal(rotated.status, 200, JSON.stringify(rotated.body));
    assert.notEqual(rotated.body.secret, ep.secret);
    assert.ok(rotated.body.secretRotation.previousSecretExpiresAt);
    await t.api('POST', '/v1/users', {});
    const got = await until('the delivery', () => receiver.at('/ok/rotate')[0]);
    const headers = { 'webhook-id': String(got.headers['webhook-id']), 'webhook-timestamp': String(got.headers['webhook-timestamp']), 'webhook-signature': String(got.headers['webhook-signature']) };
    assert.equal(headers['webhook-signature'].split(' ').length, 2);
    for (const secret of [ep.secret, rotated.body.secret]) {
      new StandardWebhook(secret).verify(got.body, headers);
      new SvixWebhook(secret).verify(got.body, headers);
    }
    // After the grace period only the new secret signs.
    await advance('PT2H');
    await t.api('POST', '/v1/users', {});
    const later = await until('the second delivery', () => receiver.at('/ok/rotate')[1]);
    const h2 = { 'webhook-id': String(later.headers['webhook-id']), 'webhook-timestamp': String(later.headers['webhook-timestamp']), 'webhook-signature': String(later.headers['webhook-signature']) };
    assert.equal(h2['webhook-signature'].split(' ').length, 1);
    new StandardWebhook(rotated.body.secret).verify(later.body, h2);
    assert.throws(() => new StandardWebhook(ep.secret).verify(later.body, h2));
  });

  it('retries on the schedule under the test clock, with the same webhook-id every time, then gives up', async () => {
    const ep = await endpoint('/fail/schedule', ['webhook_endpoint.test']);
    const test = await t.api('POST', `/v1/webhook-endpoints/${ep.id}/test`);
    assert.equal(test.status, 202, JSON.stringify(test.body));
    await until('attempt 1', () => receiver.at('/fail/schedule').length === 1);
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(receiver.at('/fail/schedule').length, 1, 'the second attempt waits for its time');
    // The waits after attempts 1..7: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h, each within 10%. Short
    // of 90% of a wait (less the real seconds the test itself takes) nothing may come; past 110% the
    // next attempt must.
    const waitsSeconds = [5, 300, 1800, 7200, 18_000, 36_000, 36_000];
    for (const [i, wait] of waitsSeconds.entries()) {
      const early = Math.floor(wait * 0.85) - 2;
      await advance(`PT${early}S`);
      await new Promise((r) => setTimeout(r, 350));
      assert.equal(receiver.at('/fail/schedule').length, i + 1, `attempt ${i + 2} not before its time`);
      await advance(`PT${Math.ceil(wait * 1.11) - early}S`);
      await until(`attempt ${i + 2}`, () => receiver.at('/fail/schedule').length === i + 2);
    }
    const [d] = await until('a failed delivery', async () => {
      const all = await deliveries(ep.id);
      return all[0]?.status === 'failed' ? all : undefined;
    });
    assert.equal(d.attemptCount, 8);
    assert.deepEqual(d.attempts.map((a: any) => a.statusCode), [500, 500, 500, 500, 500, 500, 500, 500]);
    assert.equal(d.attempts[0].responseBody, 'down for maintenance');
    const ids = new Set(receiver.at('/fail/schedule').map((r) => r.headers['webhook-id']));
    assert.deepEqual([...ids], [d.eventId]);
    await advance('P1D');
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(receiver.at('/fail/schedule').length, 8, 'no ninth attempt');
  });

  it('honours Retry-After', async () => {
    const ep = await endpoint('/later', ['webhook_endpoint.test']);
    await t.api('POST', `/v1/webhook-endpoints/${ep.id}/test`);
    const [d] = await until('the first attempt recorded', async () => {
      const all = await deliveries(ep.id);
      return all[0]?.attemptCount === 1 ? all : undefined;
    });
    const wait = Date.parse(d.nextAttemptAt) - Date.parse(d.attempts[0].attemptedAt);
    assert.ok(wait >= 3_599_000 && wait <= 3_601_000, `waits ${wait} ms`);
  });

  it('disables an endpoint that answers 410, and says so in an event', async () => {
    const watcher = await endpoint('/ok/watcher', ['webhook_endpoint.disabled']);
    const ep = await endpoint('/gone', ['webhook_endpoint.test']);
    await t.api('POST', `/v1/webhook-endpoints/${ep.id}/test`);
    const disabled = await until('disabled', async () => {
      const e = (await t.api('GET', `/v1/webhook-endpoints/${ep.id}`)).body;
      return e.enabled === false ? e : undefined;
    });
    assert.equal(disabled.disabledReason, 'gone');
    const [d] = await deliveries(ep.id);
    assert.deepEqual([d.status, d.attemptCount], ['failed', 1]);
    const note = await until('the disabled event', () => receiver.at('/ok/watcher')[0]);
    assert.deepEqual([JSON.parse(note.body).type, JSON.parse(note.body).data.endpointId, JSON.parse(note.body).data.reason], ['webhook_endpoint.disabled', ep.id, 'gone']);
    assertProblem(await t.api('POST', `/v1/webhook-endpoints/${ep.id}/test`), 409, 'webhook_endpoint_disabled');
    const enabled = await t.api('PATCH', `/v1/webhook-endpoints/${ep.id}`, { enabled: true });
    assert.deepEqual([enabled.body.enabled, enabled.body.disabledReason], [true, null]);
    await t.api('DELETE', `/v1/webhook-endpoints/${watcher.id}`);
  });

  it('disables an endpoint whose every attempt has failed for five days', async () => {
    const ep = await endpoint('/fail/days', ['webhook_endpoint.test']);
    await t.api('POST', `/v1/webhook-endpoints/${ep.id}/test`);
    await until('failing', async () => (await t.api('GET', `/v1/webhook-endpoints/${ep.id}`)).body.failingSince);
    await advance('P4D');
    await t.api('POST', `/v1/webhook-endpoints/${ep.id}/test`);
    await until('the attempt after four days', async () => (await deliveries(ep.id)).filter((d) => d.attemptCount >= 1).length === 2);
    assert.equal((await t.api('GET', `/v1/webhook-endpoints/${ep.id}`)).body.enabled, true, 'four days is not five');
    await advance('P1DT1H');
    await t.api('POST', `/v1/webhook-endpoints/${ep.id}/test`);
    const e = await until('disabled', async () => {
      const x = (await t.api('GET', `/v1/webhook-endpoints/${ep.id}`)).body;
      return x.enabled === false ? x : undefined;
    });
    assert.equal(e.disabledReason, 'failing');
    const said = (await t.api('GET', '/v1/events?type=webhook_endpoint.disabled&limit=100')).body.data.filter((x: any) => x.data.endpointId === ep.id);
    assert.deepEqual(said.map((x: any) => x.data.reason), ['failing'], 'one event says so');
  });

  it('does not follow redirects, and keeps only the first 1 KB of an answer', async () => {
    const redirect = await endpoint('/redirect', ['webhook_endpoint.test']);
    const big = await endpoint('/big', ['webhook_endpoint.test']);
    await t.api('POST', `/v1/webhook-endpoints/${redirect.id}/test`);
    await t.api('POST', `/v1/webhook-endpoints/${big.id}/test`);
    const [r] = await until('the redirect attempt', async () => ((await deliveries(redirect.id))[0]?.attemptCount ? deliveries(redirect.id) : undefined));
    assert.equal(r.attempts[0].statusCode, 302);
    assert.match(r.attempts[0].error, /redirect/);
    assert.equal(r.status, 'pending', 'a redirect is a failure, retried');
    assert.equal(receiver.at('/ok/target').length, 0);
    const [b] = await until('the big answer', async () => ((await deliveries(big.id))[0]?.attemptCount ? deliveries(big.id) : undefined));
    assert.equal(b.status, 'succeeded');
    assert.equal(b.attempts[0].responseBody.length, 1024);
  });

  it('a receiver that hangs does not delay another', async () => {
    const slow = await endpoint('/hang', ['webhook_endpoint.test']);
    const slower = await endpoint('/hang/too', ['webhook_endpoint.test']);
    const fast = await endpoint('/ok/beside', ['webhook_endpoint.test']);
    for (let i = 0; i < 12; i++) {
      await t.api('POST', `/v1/webhook-endpoints/${slow.id}/test`);
      await t.api('POST', `/v1/webhook-endpoints/${slower.id}/test`);
    }
    await until('the slow receivers holding requests', () => receiver.at('/hang').length >= 16);
    const sent = Date.now();
    await t.api('POST', `/v1/webhook-endpoints/${fast.id}/test`);
    const got = await until('the fast delivery', () => receiver.at('/ok/beside')[0]);
    assert.ok(got.at - sent < 1500, `arrived after ${got.at - sent} ms`);
    const timedOut = await until('a timed-out attempt', async () => (await deliveries(slow.id)).find((d) => d.attempts[0]?.error));
    assert.match(timedOut.attempts[0].error, /no answer within 2 s/);
    await t.api('DELETE', `/v1/webhook-endpoints/${slow.id}`);
    await t.api('DELETE', `/v1/webhook-endpoints/${slower.id}`);
  });

  it('resend and replay deliver the same events again, with their own webhook-ids', async () => {
    const ep = await endpoint('/ok/replay', ['user.created']);
    const from = (await t.api('GET', '/v1/sandbox/clock')).body.now;
    const users = [];
    for (let i = 0; i < 3; i++) users.push((await t.api('POST', '/v1/users', {})).body.id);
    await until('three deliveries', () => receiver.at('/ok/replay').length === 3);
    const to = (await t.api('GET', '/v1/sandbox/clock')).body.now;
    const firstIds = receiver.at('/ok/replay').map((r) => r.headers['webhook-id']);
    const replay = await t.api('POST', `/v1/webhook-endpoints/${ep.id}/replay`, { from, to });
    assert.equal(replay.status, 202, JSON.stringify(replay.body));
    assert.equal(replay.body.deliveries, 3);
    await until('three more', () => receiver.at('/ok/replay').length === 6);
    assert.deepEqual(receiver.at('/ok/replay').slice(3).map((r) => r.headers['webhook-id']).sort(), [...firstIds].sort());
    const one = (await deliveries(ep.id)).find((d) => d.trigger === 'event');
    const resent = await t.api('POST', `/v1/webhook-deliveries/${one.id}/resend`);
    assert.equal(resent.status, 202, JSON.stringify(resent.body));
    assert.deepEqual([resent.body.trigger, resent.body.eventId], ['resend', one.eventId]);
    const again = await until('the resent one', () => receiver.at('/ok/replay')[6]);
    assert.equal(again.headers['webhook-id'], one.eventId);
    assertProblem(await t.api('POST', `/v1/webhook-endpoints/${ep.id}/replay`, { from: to, to: from }), 400, 'validation_failed');
    assertProblem(await t.api('POST', `/v1/webhook-endpoints/${ep.id}/replay`, { from: 'yesterday', to }), 400, 'validation_failed');
    assertProblem(await t.api('POST', '/v1/webhook-deliveries/whd_nope/resend'), 404, 'not_found');
  });

  it("lists events with filters and a cursor; a connection's deliveries join its timeline", async () => {
    const ep = await endpoint('/ok/timeline', ['connection.activated']);
    const userId = (await t.api('POST', '/v1/users', {})).body.id;
    const created = await t.api('POST', `/v1/users/${userId}/connections`, { institutionId: 'ins_sandbox_web', method: 'web', credentials: { login: 'user_good', password: 'pass_good' } });
    await t.waitForJob(created.body.job.id);
    const connectionId = created.body.connection.id;
    const got = await until('connection.activated', () => receiver.at('/ok/timeline')[0]);
    assert.equal(JSON.parse(got.body).connectionId, connectionId);
    const types = (await t.api('GET', `/v1/events?connectionId=${connectionId}&limit=100`)).body.data.map((e: any) => e.type);
    for (const type of ['connection.created', 'connection.status_changed', 'connection.activated', 'job.completed', 'accounts.updated', 'transactions.updated']) {
      assert.ok(types.includes(type), `${type} in ${types.join(', ')}`);
    }
    const paged: string[] = [];
    let cursor: string | null = null;
    do {
      const page: any = (await t.api('GET', `/v1/events?connectionId=${connectionId}&limit=2${cursor ? `&cursor=${cursor}` : ''}`)).body;
      paged.push(...page.data.map((e: any) => e.type));
      cursor = page.nextCursor;
    } while (cursor);
    assert.deepEqual(paged, types);
    const jobs = (await t.api('GET', `/v1/events?type=job.completed,job.failed&userId=${userId}`)).body.data;
    assert.deepEqual(jobs.map((e: any) => [e.type, e.data.jobId]), [['job.completed', created.body.job.id]]);
    const txns = (await t.api('GET', `/v1/events?type=transactions.updated&connectionId=${connectionId}`)).body.data[0];
    assert.ok(txns.data.added > 100);
    assertProblem(await t.api('GET', '/v1/events?cursor=%%%'), 400, 'invalid_cursor');
    await until('the delivery recorded', async () => (await deliveries(ep.id))[0]?.status === 'succeeded');
    const timeline = (await t.api('GET', `/v1/users/${userId}/connections/${connectionId}/timeline?order=asc`)).body.data;
    const delivery = timeline.find((e: any) => e.kind === 'webhook_delivery');
    assert.ok(delivery, JSON.stringify(timeline.map((e: any) => e.kind)));
    assert.deepEqual([delivery.delivery.endpointId, delivery.delivery.eventType, delivery.delivery.status], [ep.id, 'connection.activated', 'succeeded']);
  });

  it('two workers share the deliveries and never send one twice', async () => {
    // PostgreSQL: a second process's worth (its own pool and queue); embedded: a second worker on the same database.
    const second = t.core.database.kind === 'postgres'
      ? await createCore(t.core.config, { database: await openDatabase({ databaseUrl: t.core.database.url, dataDir: '' }), logLevel: 'silent' })
      : t.core;
    const worker = await startWebhookWorker(second);
    try {
      const paths = ['/ok/two/a', '/ok/two/b', '/ok/two/c'];
      for (const path of paths) await endpoint(path, ['user.created']);
      const users = 60;
      await Promise.all(Array.from({ length: 4 }, async (_, lane) => {
        for (let i = lane; i < users; i += 4) await t.api('POST', '/v1/users', {});
      }));
      await until('every delivery', () => paths.every((p) => receiver.at(p).length >= users), 20_000);
      await new Promise((r) => setTimeout(r, 500));
      for (const path of paths) {
        const ids = receiver.at(path).map((r) => String(r.headers['webhook-id']));
        assert.equal(ids.length, users, `${path}: each event once`);
        assert.equal(new Set(ids).size, users, `${path}: no id twice`);
      }
    } finally {
      await worker.stop();
      if (second !== t.core) {
        await stopJobs(second);
        await second.database.close();
      }
    }
  });

  it('validates endpoints, and keeps other applications out', async () => {
    assertProblem(await t.api('POST', '/v1/webhook-endpoints', { url: `${receiver.base}/ok`, eventTypes: ['user.exploded'] }), 400, 'validation_failed');
    assertProblem(await t.api('POST', '/v1/webhook-endpoints', { url: `${receiver.base}/ok`, colour: 'red' }), 400, 'validation_failed');
    assertProblem(await t.api('GET', '/v1/webhook-endpoints/whe_nope'), 404, 'not_found');
    const ep = await endpoint('/ok/crud');
    const patched = await t.api('PATCH', `/v1/webhook-endpoints/${ep.id}`, { description: 'billing', eventTypes: ['user.deleted'] });
    assert.deepEqual([patched.body.description, patched.body.eventTypes], ['billing', ['user.deleted']]);
    const list = (await t.api('GET', '/v1/webhook-endpoints?limit=500')).body.data;
    assert.ok(list.some((e: any) => e.id === ep.id) && list.every((e: any) => e.secret === undefined));
    assert.equal((await t.api('DELETE', `/v1/webhook-endpoints/${ep.id}`)).status, 200);
    assertProblem(await t.api('GET', `/v1/webhook-endpoints/${ep.id}`), 404, 'not_found');

    // Another application sees none of it, and its endpoints get none of this application's events.
    const mine = await endpoint('/ok/mine', ['user.created']);
    const other = await insertApplication(t.core.db, { id: newId('app'), name: 'other', environment: 'sandbox', createdAt: new Date() });
    const as = { authorization: `Bearer ${(await createApiKey(t.core.db, systemClock, other, 'other')).key}` };
    const theirs = await t.api('POST', '/v1/webhook-endpoints', { url: `${receiver.base}/ok/theirs`, eventTypes: ['user.created'] }, as);
    assert.equal(theirs.status, 201);
    await t.api('POST', '/v1/users', {});
    await until('my delivery', () => receiver.at('/ok/mine')[0]);
    const [d] = await deliveries(mine.id);
    const eventId = d.eventId;
    for (const [method, path, body] of [
      ['GET', `/v1/webhook-endpoints/${mine.id}`, undefined], ['PATCH', `/v1/webhook-endpoints/${mine.id}`, { enabled: false }],
      ['DELETE', `/v1/webhook-endpoints/${mine.id}`, undefined], ['GET', `/v1/webhook-endpoints/${mine.id}/deliveries`, undefined],
      ['POST', `/v1/webhook-endpoints/${mine.id}/rotate-secret`, {}], ['POST', `/v1/webhook-endpoints/${mine.id}/test`, undefined],
      ['POST', `/v1/webhook-endpoints/${mine.id}/replay`, { from: '2020-01-01T00:00:00Z', to: '2030-01-01T00:00:00Z' }],
      ['POST', `/v1/webhook-deliveries/${d.id}/resend`, undefined], ['GET', `/v1/events/${eventId}`, undefined],
    ] as const) {
      assertProblem(await t.api(method, path, body, as), 404, 'not_found');
    }
    assert.deepEqual((await t.api('GET', '/v1/events', undefined, as)).body.data, []);
    assert.ok(!(await t.api('GET', '/v1/webhook-endpoints?limit=500', undefined, as)).body.data.some((e: any) => e.id === mine.id));
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(receiver.at('/ok/theirs').length, 0, "the other application's endpoint got nothing");
    assert.equal((await t.api('GET', `/v1/webhook-endpoints/${mine.id}`)).body.enabled, true, 'untouched');
  });
});

describe('a quiet webhook worker', () => {
  let t: TestApp;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  before(async () => {
    receiver = await startReceiver();
    t = await startTestApp({ config: { allowPrivateAddresses: true } });
  });
  after(async () => {
    await t.close();
    await receiver.close();
  });

  /** This process's webhook claims so far, by whether they found anything. */
  const claims = async () => {
    const values = (await registry.getSingleMetric('causeway_webhook_claims_total')!.get()).values;
    const of = (found: string) => values.filter((v) => v.labels.found === found).reduce((n, v) => n + v.value, 0);
    return { some: of('some'), none: of('none') };
  };

  it('claims once a delivery: no claim that finds nothing after finding one or after its attempt ends, only the poll', async () => {
    const res = await t.api('POST', '/v1/webhook-endpoints', { url: `${receiver.base}/ok/quiet`, eventTypes: ['webhook_endpoint.test'] });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const events = 12;
    const before = await claims();
    const started = performance.now();
    for (let i = 1; i <= events; i++) {
      assert.equal((await t.api('POST', `/v1/webhook-endpoints/${res.body.id}/test`)).status, 202);
      await until(`delivery ${i} recorded`, async () => {
        const log = (await t.api('GET', `/v1/webhook-endpoints/${res.body.id}/deliveries?limit=50`)).body.data as { status: string }[];
        return log.filter((d) => d.status === 'succeeded').length >= i;
      });
    }
    const elapsedMs = performance.now() - started;
    const after = await claims();
    assert.equal(receiver.at('/ok/quiet').length, events, 'each sent once');
    assert.ok(after.some - before.some <= events, `${after.some - before.some} claims found deliveries for ${events}`);
    // A poll every 250 ms while nothing is due; before, each delivery also cost two claims that found nothing.
    const polls = Math.floor(elapsedMs / 250) + 2;
    assert.ok(after.none - before.none <= polls, `${after.none - before.none} claims found nothing in ${Math.round(elapsedMs)} ms (polls: at most ${polls})`);
  });
});
