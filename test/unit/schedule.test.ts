import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { backgroundAllowedAt } from '../../src/domain/budget.js';
import {
  effectiveIntervalMs, nextAfterFailure, nextAfterSuccess, nextPhaseAfter, phaseMs, SCHEDULE_JITTER_MS,
} from '../../src/domain/schedule.js';

const DAY = 86_400_000;

describe('background refresh schedule', () => {
  it('spreads 100,000 connections over a day within ±20 % per minute, however they were created', () => {
    for (const first of [1, 7_654_321]) {
      const perMinute = new Array(1440).fill(0);
      for (let slot = first; slot < first + 100_000; slot++) perMinute[Math.floor(((phaseMs(slot, DAY) % DAY) + DAY) % DAY / 60_000)]++;
      const mean = 100_000 / 1440;
      const max = Math.max(...perMinute);
      const min = Math.min(...perMinute);
      assert.ok(max / mean <= 1.2 && min / mean >= 0.8, `slots from ${first}: per minute ${min}..${max} around ${mean.toFixed(1)}`);
    }
  });

  it('gives each slot the same phase in every interval, and the next one strictly later', () => {
    const after = new Date('2026-12-01T10:00:00Z');
    const a = nextPhaseAfter(42, DAY, after);
    assert.ok(a > after && a.getTime() - after.getTime() <= DAY);
    assert.equal(nextPhaseAfter(42, DAY, a).getTime(), a.getTime() + DAY);
    assert.equal(nextPhaseAfter(42, DAY, new Date(a.getTime() - 1)).getTime(), a.getTime());
  });

  it('after a success moves to the phase half an interval to one and a half later; a late run keeps its place', () => {
    const started = new Date('2026-12-01T10:00:00Z');
    for (const slot of [1, 2, 3, 1000, 99_999]) {
      const wait = nextAfterSuccess(slot, DAY, started).getTime() - started.getTime();
      assert.ok(wait > DAY / 2 && wait <= 1.5 * DAY, `slot ${slot}: ${wait}`);
      const phase = phaseMs(slot, DAY);
      assert.ok(phase >= -SCHEDULE_JITTER_MS && phase < DAY + SCHEDULE_JITTER_MS);
      const due = nextPhaseAfter(slot, DAY, started);
      const lateBy = 10 * 60_000;
      assert.equal(nextAfterSuccess(slot, DAY, new Date(due.getTime() + lateBy)).getTime(), due.getTime() + DAY, 'ten minutes late, still the same phase');
    }
  });

  it('leaves the last refresh of the day to the user, unless the institution allows only one', () => {
    const now = new Date('2026-12-01T10:00:00Z');
    assert.equal(backgroundAllowedAt({ remainingToday: 5, nextRefreshAllowedAt: now }, 20, now).getTime(), now.getTime());
    assert.equal(backgroundAllowedAt({ remainingToday: 1, nextRefreshAllowedAt: now }, 20, now).toISOString(), '2026-12-02T00:00:00.000Z');
    const later = new Date('2026-12-01T11:00:00Z');
    assert.equal(backgroundAllowedAt({ remainingToday: 3, nextRefreshAllowedAt: later }, 20, now).getTime(), later.getTime());
    // One a day: the background takes it (else the connection would never be refreshed); spent, tomorrow.
    assert.equal(backgroundAllowedAt({ remainingToday: 1, nextRefreshAllowedAt: now }, 1, now).getTime(), now.getTime());
    assert.equal(backgroundAllowedAt({ remainingToday: 0, nextRefreshAllowedAt: new Date('2026-12-02T00:00:00Z') }, 1, now).toISOString(), '2026-12-02T00:00:00.000Z');
  });

  it('backs off 15 min, 30 min, 1 h … after failures, never past the interval', () => {
    const now = new Date('2026-12-01T10:00:00Z');
    assert.deepEqual([1, 2, 3, 4, 8, 20].map((f) => (nextAfterFailure(f, DAY, now).getTime() - now.getTime()) / 60_000), [15, 30, 60, 120, 1440, 1440]);
  });

  it('never refreshes more often than the institution allows, keeping one call a day for the user', () => {
    assert.equal(effectiveIntervalMs(24, { refreshesPerDay: 20, minIntervalSeconds: 0 }), DAY);
    assert.equal(effectiveIntervalMs(1, { refreshesPerDay: 4, minIntervalSeconds: 3600 }), DAY / 3);
    assert.equal(effectiveIntervalMs(1, { refreshesPerDay: 100, minIntervalSeconds: 3 * 3600 }), 3 * 3_600_000);
    assert.equal(effectiveIntervalMs(6, { refreshesPerDay: 1, minIntervalSeconds: 0 }), DAY);
  });
});
