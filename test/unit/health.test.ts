/**
 * Institution health (domain/health.ts) as a table: each row is the latest calls, newest first
 * (F: failed with an institution error, S: anything else), one every 10 seconds, and the health
 * they give. Every way into trouble has a row with its way back.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { healthOf, OUTAGE_STREAK, RECOVERED_STREAK, type HealthStatus } from '../../src/domain/health.js';

const NOW = Date.parse('2026-03-02T10:00:00Z');
const at = (i: number) => new Date(NOW - i * 10_000);
const calls = (pattern: string) => [...pattern].map((ch, i) => ({ failing: ch === 'F', at: at(i) }));
const S = (n: number) => 'S'.repeat(n);
const F = (n: number) => 'F'.repeat(n);

/** [case, calls newest first, status, index of the call `since` names (null: none)] */
const TABLE: [string, string, HealthStatus, number | null][] = [
  ['no calls', '', 'operational', null],
  ['all well', S(20), 'operational', null],
  // Busy, then an outage: twenty successes must not hide four failures in a row.
  ['busy then one failure', F(1) + S(20), 'operational', null],
  ['busy then two failures', F(2) + S(20), 'degraded', 1],
  ['busy then three failures', F(3) + S(20), 'degraded', 2],
  ['busy then outage (four in a row)', F(4) + S(20), 'outage', 3],
  ['busy then a long outage', F(30) + S(20), 'outage', 29],
  // Recovery: the first success closes the outage, a run of them clears it.
  ['recovering: one success after the outage', S(1) + F(4) + S(20), 'degraded', 4],
  ['recovering: four successes', S(4) + F(4) + S(20), 'degraded', 7],
  ['recovered: five successes in a row', S(5) + F(30), 'operational', null],
  ['recovered, then one failure while the outage is still among the recent calls', F(1) + S(5) + F(30), 'degraded', 9],
  // Sparse: too few calls say nothing unless they are an outage streak.
  ['sparse: one failure', F(1), 'operational', null],
  ['sparse: two failures', F(2), 'operational', null],
  ['sparse: three of three failed', F(3), 'outage', 2],
  ['sparse: a success, then two failures', F(2) + S(1), 'degraded', 1],
  ['sparse: a failure, then two successes', S(2) + F(1), 'degraded', 2],
  // Degraded: failing often, not mostly.
  ['one in five fails', 'SFSSSSFSSS' + S(10), 'degraded', 6],
  ['one in four fails, steadily', 'SSSFSSSFSSSF' + S(10), 'degraded', 7],
  ['one in ten fails', 'SSSSSSSSSF' + S(10), 'operational', null],
  ['half fail, alternating', 'FSFSFSFSFS', 'degraded', 8],
  // Mostly failing with a success between: still an outage while the latest call fails, not once one succeeds.
  ['mostly failing, latest failed', 'FFSFFFFFFF', 'outage', 9],
  ['mostly failing, latest succeeded', 'SFFFFFFFFF', 'degraded', 9],
];

describe('institution health', () => {
  for (const [name, pattern, status, sinceIndex] of TABLE) {
    it(`${name}: ${status}`, () => {
      const health = healthOf(calls(pattern));
      assert.equal(health.status, status, pattern);
      assert.equal(health.since?.toISOString() ?? null, sinceIndex === null ? null : at(sinceIndex).toISOString(), `since, for ${pattern}`);
    });
  }

  it('an outage shows however busy the institution was before, and clears as soon as calls succeed', () => {
    for (const busy of [0, 20, 1000]) {
      assert.equal(healthOf(calls(F(OUTAGE_STREAK) + S(busy))).status, 'outage', `after ${busy} successes`);
      assert.notEqual(healthOf(calls(S(1) + F(OUTAGE_STREAK) + S(busy))).status, 'outage', 'the first success closes it');
      assert.equal(healthOf(calls(S(RECOVERED_STREAK) + F(100) + S(busy))).status, 'operational');
    }
  });
});
