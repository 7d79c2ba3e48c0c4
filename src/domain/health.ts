/**
 * Institution health from its latest provider calls (issue 5; issue 11 item 12), pure. Health
 * follows the most recent calls, not a count over a long window: a busy institution's earlier
 * successes must not hide an outage that began a minute ago, and once calls succeed again the
 * outage ends with them.
 *
 *   the latest OUTAGE_STREAK calls all failed with an institution error      ─► outage
 *   the latest RECOVERED_STREAK calls had no institution error               ─► operational
 *   fewer than MIN_CALLS recent calls                                        ─► operational (too few to say)
 *   the latest call failed, and most (≥ 80 %) of the latest RECENT_CALLS did ─► outage
 *   at least one in five of the latest RECENT_CALLS failed                   ─► degraded
 *   otherwise                                                                ─► operational
 *
 * Outage opens the scheduler's circuit breaker (services/scheduler.ts): background refreshes wait
 * and one probe a tick finds out whether the institution is back; the probe's success closes it.
 * Only calls inside HEALTH_WINDOW_MS count, so an institution nobody calls drifts back to operational.
 */

/** Only calls this recent count at all. */
export const HEALTH_WINDOW_MS = 15 * 60_000;
/** How many of the latest calls the ratios look at: the "short window", counted in calls rather than minutes. */
export const RECENT_CALLS = 10;
/** This many institution failures in a row, with no success between, is an outage however busy the institution was. */
export const OUTAGE_STREAK = 4;
/**
 * This many calls in a row without an institution error is a recovery: older failures among the recent
 * calls no longer count. A user's own error (invalid_credentials, MFA) counts here: the bank answered.
 */
export const RECOVERED_STREAK = 5;
/** Below this many recent calls (and no outage streak) an institution counts as operational. */
export const MIN_CALLS = 3;
/** How many of the latest calls callers read: enough to date the start of an outage streak, still one index range. */
export const HEALTH_LOOKBACK_CALLS = 50;
/** Provider error codes that speak of the institution, not of one user's access. */
export const INSTITUTION_ERRORS = ['institution_unavailable', 'provider_error', 'rate_limited'] as const;

export type HealthStatus = 'operational' | 'degraded' | 'outage';

/** One provider call: did it fail with an institution error (INSTITUTION_ERRORS), and when. */
export interface RecentCall { failing: boolean; at: Date }

/** `since`: when the current trouble began, as far as the calls read tell (null when operational). */
export interface Health { status: HealthStatus; since: Date | null }

/** Health from the institution's latest calls, newest first (all inside HEALTH_WINDOW_MS). */
export function healthOf(calls: readonly RecentCall[]): Health {
  const streak = leading(calls, true);
  if (streak >= OUTAGE_STREAK) return { status: 'outage', since: calls[streak - 1]!.at };
  if (leading(calls, false) >= RECOVERED_STREAK) return OPERATIONAL;
  const recent = calls.slice(0, RECENT_CALLS);
  if (recent.length < MIN_CALLS) return OPERATIONAL;
  const failing = recent.filter((c) => c.failing);
  const ratio = failing.length / recent.length;
  const since = failing.at(-1)?.at ?? null;
  if (ratio >= 0.8 && recent[0]!.failing) return { status: 'outage', since };
  if (ratio >= 0.2) return { status: 'degraded', since };
  return OPERATIONAL;
}

const OPERATIONAL: Health = { status: 'operational', since: null };

/** How many of the first calls have `failing` equal to the given value. */
function leading(calls: readonly RecentCall[], failing: boolean): number {
  let n = 0;
  while (n < calls.length && calls[n]!.failing === failing) n++;
  return n;
}
