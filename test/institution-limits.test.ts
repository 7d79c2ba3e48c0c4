/**
 * Institution limits across workers (issue 5): with two workers on one database (on PostgreSQL a
 * second `causeway start --role worker` process; embedded, a second worker in this process, as one
 * data directory has one process), an institution never runs more of an application's refreshes at
 * once than its limit, starts them at its pace, and a 429 holds every worker back for its
 * Retry-After. The scheduler moves refreshes the institution cannot take soon to their planned
 * moment instead of queueing them.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { eq, inArray } from 'drizzle-orm';
import { connections, jobs, providerCalls } from '../src/db/schema.js';
import { startWorker } from '../src/runtime.js';
import { runSchedulerTick, SCHEDULER_TICK_MS } from '../src/services/scheduler.js';
import { acquirePermit, flushPermitReturns, holdPermit, RETURN_MS } from '../src/services/limits.js';
import { readThrottle } from '../src/db/repos/throttles.js';
import { startTestApp, type TestApp } from './helpers/app.js';
import { sleep, spawnCauseway, type Spawned } from './helpers/process.js';

const LATENCY_MS = 30;
const GOOD = { login: 'user_good', password: 'pass_good' };

/** The most jobs whose [startedAt, finishedAt] overlap at one moment. */
function maxOverlap(rows: { startedAt: Date | null; finishedAt: Date | null }[]): number {
  const edges = rows.flatMap((r) => [[r.startedAt!.getTime(), 1], [r.finishedAt!.getTime(), -1]] as const)
    .sort((a, b) => a[0] - b[0] || a[1] - b[1]); // an end before a start at the same ms
  let now = 0;
  let most = 0;
  for (const [, d] of edges) { now += d; most = Math.max(most, now); }
  return most;
}

describe('institution limits across two workers', () => {
  let t: TestApp;
  let spawned: Spawned | null = null;
  let stopSecond: (() => Promise<void>) | null = null;
  let appId: string;
  before(async () => {
    t = await startTestApp({ config: { sandboxLatencyMs: LATENCY_MS, jobConcurrency: 4 } });
    appId = (await t.api('GET', '/v1/application')).body.id;
    if (t.core.database.kind === 'postgres') {
      spawned = spawnCauseway(['start', '--role', 'worker'], {
        DATABASE_URL: t.core.database.url, CAUSEWAY_ENCRYPTION_KEY: t.core.config.encryptionKey!, CAUSEWAY_DATA_DIR: '/tmp',
        CAUSEWAY_SANDBOX_LATENCY_MS: String(LATENCY_MS), CAUSEWAY_JOB_CONCURRENCY: '4', CAUSEWAY_RETRY_DELAY_SECONDS: '0',
        CAUSEWAY_BACKGROUND_REFRESH: 'false', LOG_LEVEL: 'debug',
      });
      const said = () => spawned!.stdout() + spawned!.stderr();
      for (let i = 0; i < 400 && !said().includes('worker is running'); i++) await sleep(50);
      assert.match(said(), /worker is running/, said());
    } else {
      stopSecond = await startWorker(t.core);
    }
  });
  after(async () => {
    if (spawned) {
      spawned.child.kill('SIGTERM');
      await spawned.waitExit(15_000);
    }
    if (stopSecond) await stopSecond();
    await t.close();
  });

  const settings = (institutions: Record<string, unknown>) => t.api('PATCH', '/v1/application', { institutions });
  async function link(institutionId: string) {
    const userId = await t.createUser();
    const res = await t.api('POST', `/v1/users/${userId}/connections`, { institutionId, method: 'web', credentials: GOOD });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    return { userId, connectionId: res.body.connection.id as string, jobId: res.body.job.id as string };
  }
  const jobRows = (ids: string[]) => t.core.db.select().from(jobs).where(inArray(jobs.id, ids));

  it('runs at most maxConcurrentRefreshes of them at once at an institution, however many workers ask', async () => {
    assert.equal((await settings({ ins_sandbox_web: { maxConcurrentRefreshes: 2 } })).status, 200);
    const view = (await t.api('GET', '/v1/institutions/ins_sandbox_web')).body;
    assert.deepEqual([view.limits.maxConcurrentRefreshes, view.limits.refreshesPerMinute], [2, 60_000], 'the stricter of the two applies');
    const links = await Promise.all(Array.from({ length: 10 }, () => link('ins_sandbox_web')));
    for (const l of links) assert.equal((await t.waitForJob(l.jobId, undefined, 60_000)).status, 'succeeded');
    const all = links.map((l) => l.jobId);
    // Rounds of ten refreshes at once until both workers have run some (which takes which is the queue's choice).
    const secondRan = () => (spawned ? (spawned.stdout() + spawned.stderr()).split('\n').filter((l) => l.includes('"job run started"')).length : 1);
    for (let round = 0; round < 3 && (secondRan() === 0 || secondRan() >= all.length); round++) {
      const refreshes = await Promise.all(links.map(async (l) => {
        const r = await t.api('POST', `/v1/users/${l.userId}/connections/${l.connectionId}/refresh`);
        assert.equal(r.status, 202, JSON.stringify(r.body));
        return r.body.job.id as string;
      }));
      for (const id of refreshes) assert.equal((await t.waitForJob(id, undefined, 60_000)).status, 'succeeded');
      all.push(...refreshes);
    }
    const rows = await jobRows(all);
    assert.equal(maxOverlap(rows), 2, 'two at a time, never three');
    const there = secondRan();
    assert.ok(there > 0 && there < rows.length, `both workers ran jobs: ${there} of ${rows.length} in the second`);
  });

  it('a place given back is written by the next take there, else on its own soon after, and before the jobs stop', async () => {
    const key = { applicationId: appId, institutionId: 'ins_returns' };
    const capacity = { maxConcurrentRefreshes: 5, refreshesPerMinute: 60_000_000 };
    const holders = async () => Object.keys((await readThrottle(t.core.db, key)).holders).sort();
    assert.equal((await acquirePermit(t.core, key, capacity, 'run_a')).granted, true);
    holdPermit(t.core, key, 'run_a').release();
    assert.deepEqual(await holders(), ['run_a'], 'not a statement of its own at once');
    assert.equal((await acquirePermit(t.core, key, capacity, 'run_b')).granted, true);
    assert.deepEqual(await holders(), ['run_b'], 'written by the next take');
    holdPermit(t.core, key, 'run_b').release();
    const given = Date.now();
    while ((await holders()).length > 0 && Date.now() - given < 5_000) await sleep(10);
    assert.deepEqual(await holders(), [], 'no take came: written on its own');
    assert.ok(Date.now() - given < RETURN_MS + 1_000, `written ${Date.now() - given} ms after it was given back`);
    assert.equal((await acquirePermit(t.core, key, capacity, 'run_c')).granted, true);
    holdPermit(t.core, key, 'run_c').release();
    await flushPermitReturns(t.core); // what stopJobs does after the queue stopped
    assert.deepEqual(await holders(), [], 'written when the jobs stop');
  });

  it('starts them at the institution’s pace, evenly spaced', async () => {
    assert.equal((await settings({ ins_sandbox_universal: { refreshesPerMinute: 120 } })).status, 200);
    const links = await Promise.all(Array.from({ length: 5 }, () => link('ins_sandbox_universal')));
    for (const l of links) assert.equal((await t.waitForJob(l.jobId, undefined, 60_000)).status, 'succeeded');
    const starts = (await jobRows(links.map((l) => l.jobId))).map((j) => j.startedAt!.getTime()).sort((a, b) => a - b);
    const gaps = starts.slice(1).map((s, i) => s - starts[i]!);
    // A job's recorded start follows its permit by however long the event loop takes, so the gap
    // between two can come out a little under the 500 ms the permits are apart; unpaced they are ~0.
    for (const g of gaps) assert.ok(g >= 400, `starts ${gaps.join(', ')} ms apart: at most one each 500 ms`);
    assert.ok(starts.at(-1)! - starts[0]! >= 4 * 500 - 100, `five starts over ${starts.at(-1)! - starts[0]!} ms`);
  });

  it('a 429 holds every refresh at that institution back for its Retry-After, then resumes at half the pace', async () => {
    const [a, b] = [await link('ins_sandbox_nolink'), await link('ins_sandbox_nolink')];
    for (const l of [a, b]) assert.equal((await t.waitForJob(l.jobId)).status, 'succeeded');
    const on = await t.api('POST', '/v1/sandbox/institutions/ins_sandbox_nolink/rate-limit', { enabled: true, retryAfterSeconds: 2 });
    assert.deepEqual(on.body, { institutionId: 'ins_sandbox_nolink', rateLimited: true, retryAfterSeconds: 2 });
    const ra = (await t.api('POST', `/v1/users/${a.userId}/connections/${a.connectionId}/refresh`)).body.job.id;
    let slowedUntil: string | null = null;
    for (let i = 0; i < 200 && !slowedUntil; i++) {
      slowedUntil = (await t.api('GET', '/v1/institutions/ins_sandbox_nolink')).body.throttle.slowedUntil;
      if (!slowedUntil) await sleep(20);
    }
    assert.ok(slowedUntil, 'the 429 slowed the institution down');
    assert.equal((await t.api('GET', '/v1/institutions/ins_sandbox_nolink')).body.throttle.rateFactor, 0.5);
    await t.api('POST', '/v1/sandbox/institutions/ins_sandbox_nolink/rate-limit', { enabled: false });
    const rb = (await t.api('POST', `/v1/users/${b.userId}/connections/${b.connectionId}/refresh`)).body.job.id;
    for (const id of [ra, rb]) assert.equal((await t.waitForJob(id)).status, 'succeeded', 'both go through once it lets them');
    const calls = await t.core.db.select().from(providerCalls).where(inArray(providerCalls.jobId, [ra, rb]));
    const limited = calls.filter((c) => c.errorCode === 'rate_limited');
    assert.equal(limited.length, 1, 'one call met the 429; nobody called again while it held');
    const until = Date.parse(slowedUntil!);
    for (const c of calls.filter((x) => x.errorCode !== 'rate_limited')) {
      assert.ok(c.createdAt.getTime() - c.durationMs >= until - 5, `${c.operation} called ${until - c.createdAt.getTime()} ms before the Retry-After passed`);
    }
  });

  it('a bank that keeps answering 429 ends the job after its retries, though each wait sends the job anew', async () => {
    const c = await link('ins_sandbox_nolink');
    assert.equal((await t.waitForJob(c.jobId)).status, 'succeeded');
    await t.api('POST', '/v1/sandbox/institutions/ins_sandbox_nolink/rate-limit', { enabled: true, retryAfterSeconds: 1 });
    try {
      const id = (await t.api('POST', `/v1/users/${c.userId}/connections/${c.connectionId}/refresh`)).body.job.id;
      const job = await t.waitForJob(id, undefined, 60_000);
      assert.deepEqual([job.status, job.error?.code], ['failed', 'rate_limited']);
      assert.equal(job.attempts, t.core.config.retryLimit + 1, 'the first run and its retries, no more');
      const conn = (await t.api('GET', `/v1/users/${c.userId}/connections/${c.connectionId}`)).body;
      assert.deepEqual([conn.status, conn.statusReason], ['degraded', 'rate_limited']);
    } finally {
      await t.api('POST', '/v1/sandbox/institutions/ins_sandbox_nolink/rate-limit', { enabled: false });
    }
  });

  it('the scheduler moves due refreshes the institution cannot start within a tick to their planned moment', async () => {
    const links = await Promise.all(Array.from({ length: 4 }, () => link('ins_sandbox_web')));
    for (const l of links) assert.equal((await t.waitForJob(l.jobId, undefined, 60_000)).status, 'succeeded');
    assert.equal((await settings({ ins_sandbox_web: { maxConcurrentRefreshes: 2, refreshesPerMinute: 2 } })).status, 200);
    const nowMs = Date.parse((await t.api('GET', '/v1/sandbox/clock')).body.now);
    const ids = links.map((l) => l.connectionId);
    await t.core.db.update(connections).set({ nextScheduledRefreshAt: new Date(nowMs - 1000) }).where(inArray(connections.id, ids));
    await runSchedulerTick(t.core, appId);
    const scheduled = (await t.core.db.select().from(jobs).where(inArray(jobs.connectionId, ids))).filter((j) => j.trigger === 'scheduled');
    assert.ok(scheduled.length <= 1, `at most one within this tick at 30 s apart: ${scheduled.length}`);
    const moved = [];
    for (const id of ids) {
      const [c] = await t.core.db.select().from(connections).where(eq(connections.id, id));
      if (!scheduled.some((j) => j.connectionId === id)) moved.push(c!.nextScheduledRefreshAt!.getTime() - nowMs);
    }
    moved.sort((x, y) => x - y);
    assert.ok(moved.length >= 3);
    for (const [k, wait] of moved.entries()) {
      assert.ok(wait > SCHEDULER_TICK_MS, `moved past this tick: ${moved}`);
      if (k > 0) assert.ok(Math.abs(wait - moved[k - 1]! - 30_000) < 2_000, `one spacing (30 s) apart: ${moved}`);
    }
  });
});
