/**
 * One application's sandbox test clock cannot hurt another (issue 11, defect 1). The clock runs at
 * most 10 years ahead: a bad or overflowing duration, or a move past the bound, answers 400 and
 * stores nothing, and the abusing application's own routes keep answering. Meanwhile the other
 * application keeps receiving its webhooks and getting its background refreshes through the shared
 * claims, which take each application's due rows on its own (bounded) clock: even an offset an
 * earlier version stored past the bound fails no statement and moves nobody else's time.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { eq } from 'drizzle-orm';
import { insertApplication, setClockOffset } from '../src/db/repos/applications.js';
import { findStaleQueuedJobs } from '../src/db/repos/jobs.js';
import { applications, connections, jobs } from '../src/db/schema.js';
import { DAY_MS, MAX_CLOCK_OFFSET_MS, systemClock } from '../src/domain/clock.js';
import { parseDuration } from '../src/domain/duration.js';
import { newId } from '../src/domain/ids.js';
import { createApiKey } from '../src/services/applications.js';
import { applyDueRules } from '../src/services/due.js';
import { runSchedulerTick } from '../src/services/scheduler.js';
import { startTestApp, type ApiResponse, type TestApp } from './helpers/app.js';
import { until } from './helpers/wait.js';

/** Answers 200 on `/ok…`, 503 with a Retry-After of an hour on `/later…`; keeps what it got. */
async function startReceiver() {
  const received: { path: string; body: string }[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      const path = req.url ?? '/';
      received.push({ path, body });
      if (path.startsWith('/later')) return res.writeHead(503, { 'retry-after': '3600' }).end();
      res.writeHead(200).end('thanks');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    at: (prefix: string) => received.filter((r) => r.path.startsWith(prefix)),
    async close() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

describe('one application abusing its sandbox clock', () => {
  let t: TestApp;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let abuserId: string;
  let as: Record<string, string>;
  /** The abusing application's calls; none may ever answer 5xx. */
  const abuser = async (method: 'GET' | 'POST' | 'DELETE', url: string, body?: unknown): Promise<ApiResponse> => {
    const res = await t.api(method, url, body, as);
    assert.ok(res.status < 500, `${method} ${url} answered ${res.status}: ${JSON.stringify(res.body)}`);
    return res;
  };
  const storedOffset = async (id: string) => (await t.core.db.select().from(applications).where(eq(applications.id, id)))[0]!.clockOffsetMs;

  before(async () => {
    receiver = await startReceiver();
    t = await startTestApp({ config: { allowPrivateAddresses: true, webhookTimeoutSeconds: 2 } });
    const other = await insertApplication(t.core.db, { id: newId('app'), name: 'abuser', environment: 'sandbox', createdAt: new Date() });
    abuserId = other.id;
    as = { authorization: `Bearer ${(await createApiKey(t.core.db, systemClock, other, 'abuser')).key}` };
  });
  after(async () => {
    await t.close();
    await receiver.close();
  });

  /** An endpoint for user.created at `path`, for the default application or (with `headers`) the abuser. */
  async function endpoint(path: string, headers: Record<string, string> = {}) {
    const res = await t.api('POST', '/v1/webhook-endpoints', { url: `${receiver.base}${path}`, eventTypes: ['user.created'] }, headers);
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body.id as string;
  }

  /** A web connection of the default application, synced. */
  async function linked() {
    const userId = await t.createUser();
    const res = await t.api('POST', `/v1/users/${userId}/connections`, { institutionId: 'ins_sandbox_web', method: 'web', credentials: { login: 'user_good', password: 'pass_good' } });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    assert.equal((await t.waitForJob(res.body.job.id)).status, 'succeeded');
    return res.body.connection.id as string;
  }

  /**
   * The default application still works through the shared machinery: a new user's webhook arrives
   * (the worker's claim across applications), and a connection made due gets its background refresh
   * from a scheduler tick for every application, as a worker runs it.
   */
  async function victimStillServed(connectionId: string, label: string) {
    const user = await t.api('POST', '/v1/users', { externalId: `victim-${label}` });
    assert.equal(user.status, 201, JSON.stringify(user.body));
    await until(`the ${label} webhook`, () => receiver.at('/ok/victim').some((r) => JSON.parse(r.body).userId === user.body.id));

    const before = (await t.core.db.select().from(jobs).where(eq(jobs.connectionId, connectionId))).filter((j) => j.trigger === 'scheduled').length;
    await t.core.db.update(connections).set({ nextScheduledRefreshAt: new Date(Date.now() - 1000) }).where(eq(connections.id, connectionId));
    await runSchedulerTick(t.core); // every application's due refreshes, as the worker's tick
    const scheduled = await until(`the ${label} background refresh`, async () => {
      const js = (await t.core.db.select().from(jobs).where(eq(jobs.connectionId, connectionId))).filter((j) => j.trigger === 'scheduled');
      return js.length > before && js.every((j) => !['queued', 'running'].includes(j.status)) ? js : undefined;
    }, 20_000);
    assert.equal(scheduled.length, before + 1, `${label}: one more background refresh`);
    assert.ok(scheduled.every((j) => j.status === 'succeeded'), `${label}: ${scheduled.map((j) => j.status).join(', ')}`);

    // The sweeps that serve every application run too.
    await applyDueRules(t.core);
    await findStaleQueuedJobs(t.core.db, new Date(Date.now() - 30_000), 500);
  }

  it('parses durations without overflow: huge numbers are refused, not turned into Infinity or an imprecise number', () => {
    assert.equal(parseDuration('PT999999999H'), 999_999_999 * 3_600_000, 'large but exact');
    assert.equal(parseDuration('P99999999D'), 99_999_999 * 86_400_000, 'large but exact');
    assert.equal(parseDuration('PT99999999999H'), null, 'past a safe integer of milliseconds');
    assert.equal(parseDuration(`P${'9'.repeat(400)}D`), null, 'would be Infinity');
    assert.equal(parseDuration('PT1.5S'), 1500);
    assert.equal(parseDuration('PT0.0004S'), 0, 'whole milliseconds');
  });

  it('refuses bad and out-of-bound clock moves with 400, stores nothing past 10 years, and the other application keeps its webhooks and background refreshes', async () => {
    const victimConnection = await linked();
    await endpoint('/ok/victim');
    await endpoint('/ok/abuser', as);
    // A delivery whose next attempt is an hour away on the victim's clock.
    const later = await t.api('POST', '/v1/webhook-endpoints', { url: `${receiver.base}/later/victim`, eventTypes: ['webhook_endpoint.test'] });
    assert.equal(later.status, 201, JSON.stringify(later.body));
    assert.equal((await t.api('POST', `/v1/webhook-endpoints/${later.body.id}/test`)).status, 202);
    await until('the first attempt of the retried delivery', () => receiver.at('/later/victim').length === 1);
    await victimStillServed(victimConnection, 'first');

    const refuse = async (advanceBy: string, mentions: RegExp) => {
      const before = await storedOffset(abuserId);
      const res = await abuser('POST', '/v1/sandbox/clock', { advanceBy });
      assert.equal(res.status, 400, `${advanceBy}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.code, 'validation_failed');
      assert.equal(res.body.errors?.[0]?.field, 'body.advanceBy', JSON.stringify(res.body));
      assert.match(`${res.body.detail ?? ''} ${res.body.errors[0].message}`, mentions, JSON.stringify(res.body));
      assert.equal(await storedOffset(abuserId), before, `${advanceBy} stored nothing`);
    };
    const accept = async (advanceBy: string) => {
      const res = await abuser('POST', '/v1/sandbox/clock', { advanceBy });
      assert.equal(res.status, 200, `${advanceBy}: ${JSON.stringify(res.body)}`);
      assert.equal(await storedOffset(abuserId), res.body.offsetMs);
      return res.body as { now: string; offsetMs: number };
    };

    await refuse('PT99999999999H', /10 years/);
    await refuse('P99999999D', /10 years/);
    await refuse(`P${'9'.repeat(30)}D`, /10 years/);
    await refuse('PT0.0001S', /positive/);
    await refuse('P0D', /positive/);
    await refuse('P1M', /positive/);
    await refuse('P3651D', /10 years/);
    assert.equal(await storedOffset(abuserId), 0);

    // Large but valid moves, up to the bound and past it.
    for (let i = 1; i <= 3; i++) assert.equal((await accept('P1000D')).offsetMs, i * 1000 * DAY_MS);
    await refuse('P1000D', /at most P650D more/);
    await victimStillServed(victimConnection, 'second');
    const atBound = await accept('P650D');
    assert.equal(atBound.offsetMs, MAX_CLOCK_OFFSET_MS);
    assert.ok(Math.abs(Date.parse(atBound.now) - (Date.now() + MAX_CLOCK_OFFSET_MS)) < 60_000);
    await refuse('PT1S', /at most PT0S more/);
    await refuse('PT99999999999H', /10 years/);
    assert.equal(await storedOffset(abuserId), MAX_CLOCK_OFFSET_MS);

    // The abuser's own routes still answer, its clock at the bound.
    const clock = await abuser('GET', '/v1/sandbox/clock');
    assert.deepEqual([clock.status, clock.body.offsetMs], [200, MAX_CLOCK_OFFSET_MS]);
    const user = await abuser('POST', '/v1/users', { externalId: 'abuser-user' });
    assert.equal(user.status, 201);
    assert.ok(Date.parse(user.body.createdAt) > Date.now() + MAX_CLOCK_OFFSET_MS - DAY_MS, 'made on its own clock');
    assert.equal((await abuser('GET', '/v1/users')).status, 200);
    assert.equal((await abuser('GET', `/v1/users/${user.body.id}`)).status, 200);
    const link = await abuser('POST', `/v1/users/${user.body.id}/connections`, { institutionId: 'ins_sandbox_web', method: 'web', credentials: { login: 'user_good', password: 'pass_good' } });
    assert.equal(link.status, 202, JSON.stringify(link.body));
    await until("the abuser's link", async () => !['queued', 'running'].includes((await abuser('GET', `/v1/jobs/${link.body.job.id}`)).body.status));
    assert.equal((await abuser('GET', `/v1/users/${user.body.id}/connections/${link.body.connection.id}`)).status, 200);
    assert.equal((await abuser('GET', '/v1/events')).status, 200);
    await until("the abuser's own webhook", () => receiver.at('/ok/abuser').some((r) => JSON.parse(r.body).userId === user.body.id));

    await victimStillServed(victimConnection, 'third');
    // Claims that served every application did not read the abuser's future into the victim's time.
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(receiver.at('/later/victim').length, 1, "the victim's retry waits for its own hour");
    assert.equal((await t.api('GET', '/v1/sandbox/clock')).body.offsetMs, 0);
    const [d] = (await t.api('GET', `/v1/webhook-endpoints/${later.body.id}/deliveries`)).body.data;
    assert.deepEqual([d.status, d.attemptCount], ['pending', 1]);
  });

  it('an offset an earlier version stored past the bound fails no shared claim and no route of its own', async () => {
    const victimConnection = await linked();
    for (const [label, offset] of [['PT99999999999H', 99_999_999_999 * 3_600_000], ['P99999999D', 99_999_999 * DAY_MS], ['a negative', -DAY_MS]] as const) {
      await setClockOffset(t.core.db, abuserId, offset); // as stored before the bound existed
      await victimStillServed(victimConnection, `stored ${label}`);
      const clock = await abuser('GET', '/v1/sandbox/clock');
      assert.equal(clock.status, 200);
      assert.ok([0, MAX_CLOCK_OFFSET_MS].includes(clock.body.offsetMs), `bounded: ${clock.body.offsetMs}`);
      assert.equal((await abuser('POST', '/v1/users', {})).status, 201);
      assert.equal((await abuser('GET', '/v1/users')).status, 200);
      await runSchedulerTick(t.core, abuserId);
      await applyDueRules(t.core, abuserId);
      const move = await abuser('POST', '/v1/sandbox/clock', { advanceBy: 'P1D' });
      assert.equal(move.status, offset < 0 ? 200 : 400, JSON.stringify(move.body));
    }
    await setClockOffset(t.core.db, abuserId, 0);
  });

  it('counts every one of several moves sent at once, and none passes the bound', async () => {
    const moves = await Promise.all(Array.from({ length: 8 }, () => abuser('POST', '/v1/sandbox/clock', { advanceBy: 'P1D' })));
    assert.deepEqual(moves.map((m) => m.status), Array(8).fill(200));
    assert.equal(await storedOffset(abuserId), 8 * DAY_MS);
    await setClockOffset(t.core.db, abuserId, MAX_CLOCK_OFFSET_MS - 3 * DAY_MS);
    const near = await Promise.all(Array.from({ length: 6 }, () => abuser('POST', '/v1/sandbox/clock', { advanceBy: 'P1D' })));
    assert.equal(near.filter((m) => m.status === 200).length, 3);
    assert.equal(near.filter((m) => m.status === 400).length, 3);
    assert.equal(await storedOffset(abuserId), MAX_CLOCK_OFFSET_MS);
    await setClockOffset(t.core.db, abuserId, 0);
  });
});
