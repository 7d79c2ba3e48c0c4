/**
 * Issue 11 items 8 and 14: operator sign-in is throttled per email and per client address (429
 * with Retry-After, even for the right password, until the block ends); every API credential has a
 * request rate limit; a live application is refused every /v1/sandbox call and the sandbox provider.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { eq } from 'drizzle-orm';
import { ManualClock, systemClock } from '../src/domain/clock.js';
import { findDefaultApplication } from '../src/db/repos/applications.js';
import { deleteExpiredAccess } from '../src/db/repos/access.js';
import { signInFailures } from '../src/db/tables/access.js';
import { createRateLimiter } from '../src/http/rate-limit.js';
import { createOperator } from '../src/services/access.js';
import { createApiKey, createApplication } from '../src/services/applications.js';
import { addressKey, emailKey } from '../src/services/sign-in-throttle.js';
import { startTestApp, type TestApp } from './helpers/app.js';

const PASSWORD = 'correct horse battery staple';

/** Moves the process clock (core.clock) forward by hand; put back after the suite. */
function skewedClock(t: TestApp) {
  const realNow = t.core.clock.now;
  let skewMs = 0;
  t.core.clock.now = () => new Date(Date.now() + skewMs);
  return { advance(ms: number) { skewMs += ms; }, restore() { t.core.clock.now = realNow; } };
}

describe('operator sign-in throttle', () => {
  let t: TestApp;
  let clock: ReturnType<typeof skewedClock>;
  before(async () => {
    t = await startTestApp({ worker: false });
    clock = skewedClock(t);
    const application = (await findDefaultApplication(t.core.db))!;
    for (const email of ['ops@example.com', 'doubling@example.com', 'office@example.com', 'burst@example.com']) {
      await createOperator(t.core.db, systemClock, application, email, PASSWORD);
    }
  });
  after(async () => { clock.restore(); await t.close(); });

  const signIn = async (email: string, password: string, remoteAddress = '198.51.100.1') => {
    const res = await t.app.inject({ method: 'POST', url: '/v1/operator-sessions', remoteAddress, payload: { email, password } });
    return { status: res.statusCode, body: res.json(), headers: res.headers };
  };
  const failures = async (key: string) => (await t.core.db.select().from(signInFailures).where(eq(signInFailures.key, key)))[0] ?? null;

  it('answers 429 with Retry-After after five wrong passwords, refuses the right one until the block ends, then lets it in', async () => {
    for (let i = 0; i < 5; i++) assert.equal((await signIn('ops@example.com', `wrong-${i}`)).status, 401);
    const refused = await signIn('ops@example.com', PASSWORD);
    assert.equal(refused.status, 429, JSON.stringify(refused.body));
    assert.equal(refused.body.code, 'too_many_sign_in_attempts');
    assert.match(String(refused.headers['content-type']), /^application\/problem\+json/);
    const wait = Number(refused.headers['retry-after']);
    assert.ok(wait >= 1 && wait <= 60, `Retry-After ${wait}`);
    // Another address changes nothing: the email is blocked, and nothing was counted for the refusals.
    assert.equal((await signIn('OPS@example.com ', PASSWORD, '198.51.100.99')).status, 429, 'the email is matched lowercased and trimmed');
    assert.equal((await failures(emailKey(t.core, 'ops@example.com')))!.failures, 5);

    clock.advance(61_000);
    const ok = await signIn('ops@example.com', PASSWORD);
    assert.equal(ok.status, 201, JSON.stringify(ok.body));
    assert.match(ok.body.token, /^os_/);
    assert.equal(await failures(emailKey(t.core, 'ops@example.com')), null, 'a success clears the email’s count');
    assert.equal((await signIn('ops@example.com', 'wrong-again')).status, 401, 'counting starts afresh');
  });

  it('doubles the block with each further failure, up to fifteen minutes', async () => {
    const email = 'doubling@example.com';
    const from = '198.51.100.2';
    for (let i = 0; i < 5; i++) assert.equal((await signIn(email, 'wrong', from)).status, 401);
    const waits: number[] = [];
    for (let round = 0; round < 6; round++) {
      const refused = await signIn(email, 'wrong', from);
      assert.equal(refused.status, 429);
      waits.push(Number(refused.headers['retry-after']));
      clock.advance(waits.at(-1)! * 1000 + 500);
      assert.equal((await signIn(email, 'wrong', from)).status, 401, 'after the block one more try is checked');
    }
    assert.deepEqual(waits.map((s) => Math.round(s / 60)), [1, 2, 4, 8, 15, 15]);
    clock.advance(16 * 60_000);
    // The count forgets only once its window and its last block are both 15 minutes over.
    clock.advance(15 * 60_000);
    assert.equal((await signIn(email, PASSWORD, from)).status, 201);
  });

  it('limits one address to twenty failures across emails, and only that address', async () => {
    const office = '203.0.113.7';
    for (let i = 0; i < 20; i++) assert.equal((await signIn(`nobody-${i}@example.com`, 'guess', office)).status, 401);
    const refused = await signIn('office@example.com', PASSWORD, office);
    assert.equal(refused.status, 429);
    assert.ok(Number(refused.headers['retry-after']) >= 1);
    assert.equal((await failures(emailKey(t.core, 'office@example.com')))?.failures ?? 0, 0, 'a refusal by address does not count against the email');
    assert.equal((await signIn('office@example.com', PASSWORD, '203.0.113.8')).status, 201, 'another address signs in');
    clock.advance(61_000);
    assert.equal((await signIn('office@example.com', PASSWORD, office)).status, 201, 'the address works again after its block');
    // One user's typos at a shared address do not use up its allowance: a success takes its attempt back.
    assert.equal((await failures(addressKey(office)))!.failures, 20);
  });

  it('counts concurrent attempts: a burst of thirty wrong passwords gets five checked, the rest 429', async () => {
    const from = '192.0.2.30';
    const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => signIn('burst@example.com', `guess-${i}`, from)));
    const statuses = answers.map((a) => a.status).sort();
    assert.equal(statuses.filter((s) => s === 401).length, 5, statuses.join(','));
    assert.equal(statuses.filter((s) => s === 429).length, 25);
    assert.equal((await failures(emailKey(t.core, 'burst@example.com')))!.failures, 5);
    assert.equal((await failures(addressKey(from)))!.failures, 5, 'refused attempts are not counted at the address');
    assert.equal((await signIn('burst@example.com', PASSWORD, from)).status, 429, 'the right password is refused while blocked');
  });

  it('keys IPv6 addresses by their /64 and IPv4-mapped ones as IPv4', () => {
    assert.equal(addressKey('2001:db8:1:2:aaaa::1'), 'ip:2001:db8:1:2::/64');
    assert.equal(addressKey('2001:0db8:0001:0002:ffff:ffff:ffff:ffff'), 'ip:2001:db8:1:2::/64');
    assert.equal(addressKey('::1'), 'ip:0:0:0:0::/64');
    assert.equal(addressKey('::ffff:192.0.2.1'), 'ip:192.0.2.1');
    assert.equal(addressKey('192.0.2.1'), 'ip:192.0.2.1');
  });

  it('sweeps counts whose window and block are long over', async () => {
    assert.ok((await t.core.db.select().from(signInFailures)).length > 0);
    await deleteExpiredAccess(t.core.db, new Date(t.core.clock.now().getTime() + 3_600_000));
    assert.equal((await t.core.db.select().from(signInFailures)).length, 0);
  });
});

describe('API rate limit per credential', () => {
  let t: TestApp;
  let clock: ReturnType<typeof skewedClock>;
  before(async () => {
    t = await startTestApp({ worker: false, config: { apiRateLimit: 2, apiRateBurst: 3 } });
    clock = skewedClock(t);
  });
  after(async () => { clock.restore(); await t.close(); });

  it('answers 429 with Retry-After past the burst, per credential, and recovers as the bucket refills', async () => {
    const remaining: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await t.api('GET', '/v1/institutions');
      assert.equal(res.status, 200);
      assert.equal(res.headers['ratelimit-limit'], '3');
      remaining.push(String(res.headers['ratelimit-remaining']));
    }
    assert.deepEqual(remaining, ['2', '1', '0']);
    const limited = await t.api('GET', '/v1/institutions');
    assert.equal(limited.status, 429);
    assert.equal(limited.body.code, 'too_many_requests');
    assert.match(String(limited.headers['content-type']), /^application\/problem\+json/);
    assert.equal(limited.headers['retry-after'], '1');
    // Another key has its own bucket; calls without a credential are not counted here.
    const { key: other } = await createApiKey(t.core.db, systemClock, (await findDefaultApplication(t.core.db))!, 'other');
    assert.equal((await t.api('GET', '/v1/institutions', undefined, { authorization: `Bearer ${other}` })).status, 200);
    assert.equal((await t.app.inject({ method: 'GET', url: '/health' })).statusCode, 200);
    clock.advance(1_000);
    assert.equal((await t.api('GET', '/v1/institutions')).status, 200, 'two more a second later');
    assert.equal((await t.api('GET', '/v1/institutions')).status, 200);
    assert.equal((await t.api('GET', '/v1/institutions')).status, 429);
  });

  it('keeps memory bounded: idle buckets are dropped, and past the cap the oldest', () => {
    const manual = new ManualClock(new Date('2030-01-01T00:00:00Z'));
    const limiter = createRateLimiter(10, 20, manual, 100);
    for (let i = 0; i < 250; i++) limiter.take(`key-${i}`);
    assert.equal(limiter.size, 100);
    manual.advance(2_000); // 20 tokens at 10/s: every bucket is full again
    limiter.take('fresh');
    assert.equal(limiter.size, 1);
    for (let i = 0; i < 20; i++) assert.equal(limiter.take('fresh').allowed, i < 19);
  });
});

describe('live applications', () => {
  let t: TestApp;
  let live: string;
  before(async () => {
    t = await startTestApp({ worker: false });
    const application = await createApplication(t.core.db, systemClock, { name: 'Production', environment: 'live' });
    live = (await createApiKey(t.core.db, systemClock, application, 'prod')).key;
  });
  after(async () => { await t.close(); });

  it('are refused every /v1/sandbox call with 403 sandbox_only, before validation', async () => {
    assert.match(live, /^sk_live_/);
    const doc = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json() as { paths: Record<string, Record<string, unknown>> };
    const calls = Object.entries(doc.paths).filter(([p]) => p.startsWith('/v1/sandbox'))
      .flatMap(([p, ops]) => Object.keys(ops).map((m) => [m.toUpperCase(), p.replace(/\{[^}]+\}/g, 'ins_sandbox_web')] as const));
    assert.ok(calls.length >= 6, `found ${calls.length} sandbox calls`);
    for (const [method, url] of calls) {
      for (const body of [undefined, {}, { advanceBy: 'P1D', enabled: true, event: 'login_required', institutionId: 'ins_sandbox_web' }]) {
        const res = await t.api(method as 'GET', url, method === 'GET' ? undefined : body, { authorization: `Bearer ${live}`, 'idempotency-key': `k-${method}-${url}` });
        assert.equal(res.status, 403, `${method} ${url}: ${JSON.stringify(res.body)}`);
        assert.equal(res.body.code, 'sandbox_only');
      }
    }
    assert.equal((await t.api('GET', '/v1/sandbox/clock')).status, 200, 'a sandbox key still may');
  });

  it('do not link to the sandbox provider’s banks: creating or importing a connection says no provider serves them', async () => {
    const as = { authorization: `Bearer ${live}` };
    assert.equal((await t.api('GET', '/v1/application', undefined, as)).body.environment, 'live');
    const user = await t.api('POST', '/v1/users', { externalId: 'live-user' }, as);
    assert.equal(user.status, 201, JSON.stringify(user.body));
    const created = await t.api('POST', `/v1/users/${user.body.id}/connections`,
      { institutionId: 'ins_sandbox_web', method: 'web', credentials: { login: 'user_good', password: 'pass_good' } }, as);
    assert.equal(created.status, 400, JSON.stringify(created.body));
    assert.equal(created.body.code, 'no_provider');
    const imported = await t.api('POST', `/v1/users/${user.body.id}/connections/import`, { institutionId: 'ins_sandbox_openbank', accessToken: 'tok_x' }, as);
    assert.equal(imported.status, 400, JSON.stringify(imported.body));
    assert.equal(imported.body.code, 'no_provider');
    assert.deepEqual((await t.api('GET', `/v1/users/${user.body.id}/connections`, undefined, as)).body.data, []);
  });
});
