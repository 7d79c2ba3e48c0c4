/**
 * Institution health from recent provider calls (issue 5), pure: mostly failing with an
 * institution or system error is an outage (the circuit breaker opens: background refreshes wait),
 * often failing is degraded. Too few calls say nothing.
 */

/** Health looks at this much recent history. */
export const HEALTH_WINDOW_MS = 15 * 60_000;
/** Below this many calls in the window an institution counts as operational. */
export const MIN_CALLS = 3;
/** Provider error codes that speak of the institution, not of one user's access. */
export const INSTITUTION_ERRORS = ['institution_unavailable', 'provider_error', 'rate_limited'] as const;

export type HealthStatus = 'operational' | 'degraded' | 'outage';

export function healthOf(calls: number, failing: number): HealthStatus {
  if (calls < MIN_CALLS) return 'operational';
  const ratio = failing / calls;
  if (ratio >= 0.8) return 'outage';
  if (ratio >= 0.2) return 'degraded';
  return 'operational';
}
