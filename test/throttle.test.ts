/**
 * Institution limits (domain/throttle.ts): the pure rules, and the one-statement permit of
 * db/repos/throttles.ts agreeing with them case by case on the real database, including two
 * connections asking for the last place at once.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { openDatabase, runMigrations, type Database } from '../src/db/open.js';
import { insertApplication } from '../src/db/repos/applications.js';
import { readThrottle, releasePermits, takePermit, updateThrottle } from '../src/db/repos/throttles.js';
import { newId } from '../src/domain/ids.js';
import {
  decidePermit, effectiveCapacity, OPEN_THROTTLE, PENALTY_MS, plannedStarts, RESERVE_AHEAD_MS, slowedDown, spacingMs, type ThrottleState,
} from '../src/domain/throttle.js';
import { createTestDatabase } from './helpers/db.js';

const T0 = new Date('2026-12-01T10:00:00Z');
const at = (ms: number) => new Date(T0.getTime() + ms);
const CAP = { maxConcurrentRefreshes: 2, refreshesPerMinute: 60 }; // one a second

describe('institution limits: the rules', () => {
  it('grants while there is a place, the pace allows and no 429 holds it back', () => {
    assert.deepEqual(decidePermit(OPEN_THROTTLE, CAP, 'job_a', T0), { granted: true, startAt: T0 });
    const full: ThrottleState = { ...OPEN_THROTTLE, holders: { job_a: T0.getTime() + 1000, job_b: T0.getTime() + 1000 } };
    assert.equal((decidePermit(full, CAP, 'job_c', T0) as { reason: string }).reason, 'concurrency');
    assert.deepEqual(decidePermit(full, CAP, 'job_a', T0), { granted: true, startAt: T0 }, 'a holder asking again keeps its place');
    assert.deepEqual(decidePermit(full, CAP, 'job_c', at(1000)), { granted: true, startAt: at(1000) }, 'lapsed permits free their place');
    const paced: ThrottleState = { ...OPEN_THROTTLE, nextStartAt: at(400) };
    assert.deepEqual(decidePermit(paced, CAP, 'job_c', T0), { granted: true, startAt: at(400) }, 'the next start, reserved a moment ahead');
    const farther: ThrottleState = { ...OPEN_THROTTLE, nextStartAt: at(RESERVE_AHEAD_MS + 1) };
    assert.deepEqual(decidePermit(farther, CAP, 'job_c', T0), { granted: false, reason: 'rate', retryAt: at(RESERVE_AHEAD_MS + 1) });
    const slowed = slowedDown(OPEN_THROTTLE, 5_000, T0);
    assert.deepEqual(decidePermit(slowed, CAP, 'job_c', at(4_999)), { granted: false, reason: 'slowed', retryAt: at(5_000) });
  });

  it('a 429 holds back for its Retry-After (60 s without one), then halves the pace for ten minutes; each 429 meanwhile halves it again', () => {
    const once = slowedDown(OPEN_THROTTLE, null, T0);
    assert.deepEqual([once.slowedUntil, once.rateFactor, once.penaltyUntil], [at(60_000), 0.5, at(60_000 + PENALTY_MS)]);
    assert.equal(spacingMs(CAP, once, at(61_000)), 2_000);
    assert.equal(spacingMs(CAP, once, at(60_000 + PENALTY_MS)), 1_000, 'back to the full pace after the penalty');
    const twice = slowedDown(once, 2_000, at(70_000));
    assert.deepEqual([twice.slowedUntil, twice.rateFactor], [at(72_000), 0.25]);
    let s = twice;
    for (let i = 0; i < 10; i++) s = slowedDown(s, 1_000, at(80_000));
    assert.equal(s.rateFactor, 1 / 16, 'never below a sixteenth');
    assert.equal(slowedDown(s, 1_000, at(80_000 + 60 * 60_000)).rateFactor, 0.5, 'a 429 after the penalty starts again at a half');
  });

  it('plans due refreshes one spacing apart from when the institution takes the next', () => {
    assert.deepEqual(plannedStarts({ ...OPEN_THROTTLE, nextStartAt: at(500) }, CAP, T0, 3), [at(500), at(1_500), at(2_500)]);
    const slowed = slowedDown(OPEN_THROTTLE, 10_000, T0);
    assert.deepEqual(plannedStarts(slowed, CAP, T0, 2), [at(10_000), at(12_000)]);
  });

  it('an application may set stricter limits for itself, never looser', () => {
    assert.deepEqual(effectiveCapacity(CAP, { maxConcurrentRefreshes: 1 }), { maxConcurrentRefreshes: 1, refreshesPerMinute: 60 });
    assert.deepEqual(effectiveCapacity(CAP, { maxConcurrentRefreshes: 50, refreshesPerMinute: 600 }), CAP);
    assert.deepEqual(effectiveCapacity(CAP, undefined), CAP);
  });
});

describe('institution limits: the permit statement', () => {
  let database: Database;
  let drop: () => Promise<void>;
  let second: Database | null = null;
  let appId: string;
  before(async () => {
    ({ database, drop } = await createTestDatabase());
    await runMigrations(database);
    appId = (await insertApplication(database.db, { id: newId('app'), name: 'limits', environment: 'sandbox', createdAt: T0 })).id;
  });
  after(async () => {
    await second?.close();
    await database.close();
    await drop();
  });
  const key = (institutionId: string) => ({ applicationId: appId, institutionId });

  it('agrees with decidePermit on each case: place, pace, lapsed permits, a holder asking again, a 429', async () => {
    const k = key('ins_rules');
    const lease = 10_000;
    /** The start given (ms after T0), or null for a refusal; the statement and the rule must agree on both. */
    const ask = async (holder: string, now: Date) => {
      const expected = decidePermit(await readThrottle(database.db, k), CAP, holder, now);
      const startAt = await takePermit(database.db, k, holder, CAP, now, lease);
      assert.deepEqual(startAt, expected.granted ? expected.startAt : null, `${holder} at +${now.getTime() - T0.getTime()} ms`);
      return startAt === null ? null : startAt.getTime() - T0.getTime();
    };
    assert.equal(await ask('job_a', T0), 0);
    assert.equal(await ask('job_b', at(500)), 1_000, 'the pace: one a second, the next start reserved');
    assert.equal(await ask('job_c', at(600)), null, 'the next start (2 s) is more than RESERVE_AHEAD_MS away');
    assert.equal(await ask('job_c', at(1_100)), null, 'two holders: no third');
    assert.equal(await ask('job_a', at(1_200)), 2_000, 'a holder asking again (a retry of its job) keeps its place, at the next start');
    await releasePermits(database.db, k, ['job_a']);
    assert.equal(await ask('job_c', at(1_300)), null, 'a released place, but the next start (3 s) is too far ahead');
    assert.equal(await ask('job_c', at(3_100)), 3_100, 'a released place is free');
    assert.equal(await ask('job_d', at(4_200)), null);
    assert.equal(await ask('job_d', at(500 + lease + 1)), 500 + lease + 1, 'job_b’s permit lapsed with its lease');
    const now = at(20_000);
    await updateThrottle(database.db, k, (s) => slowedDown(s, 3_000, now));
    assert.equal(await ask('job_e', at(22_999)), null, 'held back by the 429');
    assert.equal(await ask('job_e', at(23_000)), 23_000);
    await releasePermits(database.db, k, ['job_e']);
    assert.equal(await ask('job_f', at(23_500)), null, 'half the pace after it: the next start is two seconds after the last');
    assert.equal(await ask('job_f', at(24_000)), 25_000);
    await releasePermits(database.db, k, ['job_f']);
    assert.equal(await ask('job_g', at(24_100)), null, 'the start after that is 2.9 s away');
  });

  it('places given back with a take are not counted, and go when it is granted; a refused take leaves them', async () => {
    const k = key('ins_returns');
    const one = { maxConcurrentRefreshes: 1, refreshesPerMinute: 60_000_000 };
    const holders = async () => Object.keys((await readThrottle(database.db, k)).holders).sort();
    assert.deepEqual(await takePermit(database.db, k, 'job_a', one, T0, 60_000), T0);
    assert.equal(await takePermit(database.db, k, 'job_b', one, at(10), 60_000), null, 'job_a holds the one place');
    assert.equal(await takePermit(database.db, k, 'job_b', one, at(20), 60_000, ['job_x']), null, 'giving back another holder frees nothing');
    assert.deepEqual(await holders(), ['job_a'], 'a refused take writes nothing');
    assert.deepEqual(await takePermit(database.db, k, 'job_b', one, at(30), 60_000, ['job_a']), at(30), 'job_a given back: its place is job_b’s');
    assert.deepEqual(await holders(), ['job_b'], 'the granted take removed job_a');
  });

  it('two connections asking for the last place at once: one gets it', async () => {
    const k = key('ins_race');
    const wide = { maxConcurrentRefreshes: 3, refreshesPerMinute: 60_000_000 };
    assert.deepEqual(await takePermit(database.db, k, 'job_a', wide, T0, 60_000), T0);
    assert.deepEqual(await takePermit(database.db, k, 'job_b', wide, at(1), 60_000), at(1));
    // PostgreSQL: a second pool, as a second worker process has; PGlite serialises on its one connection.
    second = database.kind === 'postgres' ? await openDatabase({ databaseUrl: database.url, dataDir: '' }) : null;
    const other = second ?? database;
    for (let round = 0; round < 10; round++) {
      const [x, y] = await Promise.all([
        // Moments apart further than the pace's spacing: only the place can refuse one.
        takePermit(database.db, k, `job_x${round}`, wide, at(1_000 * round + 10), 60_000),
        takePermit(other.db, k, `job_y${round}`, wide, at(1_000 * round + 20), 60_000),
      ]);
      assert.equal(Number(x !== null) + Number(y !== null), 1, `round ${round}: exactly one of two gets the third place`);
      await releasePermits(database.db, k, [x ? `job_x${round}` : `job_y${round}`]);
    }
  });
});
