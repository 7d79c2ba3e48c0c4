/**
 * Background refresh timing (issue 5: the "smart cache"), pure.
 *
 * Every connection has a fixed slot number (a sequence, given at creation). Its refreshes fall at
 * the same phase of each interval: phase = frac(slot × φ) × interval, the golden-ratio (Weyl)
 * sequence. Consecutive slots land as far apart as possible, so N connections spread over the
 * interval almost exactly evenly (100,000 a day: 68–72 a minute around a mean of 69.4, where random
 * phases swing by ±25 %), however many were created at once. A small fixed jitter per connection
 * (from a second irrational, √2) keeps neighbours from starting at the same instant.
 *
 *   success            ─► next phase of the interval, at least one interval after this run started
 *   failure (degraded) ─► 15 min, 30 min, 1 h, 2 h, … (doubling, at most the interval); from the
 *                          fifth failure in a row the reason is continued_failures and it is
 *                          tried once an interval
 */

const GOLDEN = (Math.sqrt(5) - 1) / 2;
const ROOT2 = Math.SQRT2 - 1;

/** Each connection's refreshes move by at most this much either way from its phase: enough that no two share an instant, too little to bunch minutes (±30 s would swing per-minute counts by ±25 %). */
export const SCHEDULE_JITTER_MS = 2_000;
/** The first wait after a failed background refresh; it doubles with each failure in a row. */
export const FAILURE_BACKOFF_MS = 15 * 60_000;
/** From this many failures in a row a degraded connection's reason is continued_failures. */
export const CONTINUED_FAILURES_AT = 5;
/** The default interval between background refreshes (PRODUCT.md: the smart cache; issue 5: 24 h). */
export const DEFAULT_REFRESH_INTERVAL_HOURS = 24;

const frac = (x: number) => x - Math.floor(x);

/** Where in each interval a slot's refreshes fall, in ms from the start of the interval (epoch-aligned). */
export function phaseMs(slot: number, intervalMs: number): number {
  const jitter = (frac(slot * ROOT2) * 2 - 1) * SCHEDULE_JITTER_MS;
  return Math.floor(frac(slot * GOLDEN) * intervalMs + jitter);
}

/** The slot's first refresh time strictly after `after`. */
export function nextPhaseAfter(slot: number, intervalMs: number, after: Date): Date {
  const phase = phaseMs(slot, intervalMs);
  const t = after.getTime();
  let at = Math.floor((t - phase) / intervalMs) * intervalMs + phase;
  while (at <= t) at += intervalMs;
  return new Date(at);
}

/**
 * The interval a connection is refreshed at: the application's, but never more often than the
 * institution allows (its minimum interval, and its calls a day with one left for the user).
 */
export function effectiveIntervalMs(applicationHours: number, limits: { refreshesPerDay: number; minIntervalSeconds: number }): number {
  const byDay = limits.refreshesPerDay > 1 ? 86_400_000 / (limits.refreshesPerDay - 1) : 86_400_000;
  return Math.max(applicationHours * 3_600_000, limits.minIntervalSeconds * 1000, byDay);
}

/**
 * After a successful sync that started at `runStartedAt`: the connection's phase in the window from
 * half an interval to one and a half intervals later. A scheduled run that started a little late
 * keeps its place (the next one is one interval after its phase); a first sync at any hour moves
 * to its phase.
 */
export function nextAfterSuccess(slot: number, intervalMs: number, runStartedAt: Date): Date {
  return nextPhaseAfter(slot, intervalMs, new Date(runStartedAt.getTime() + intervalMs / 2));
}

/** A degraded connection's reason after `failures` failures in a row: from the fifth, continued_failures. */
export function degradedReason<R extends string>(reason: R, failures: number): R | 'continued_failures' {
  return failures >= CONTINUED_FAILURES_AT ? 'continued_failures' : reason;
}

/** After the `failures`-th failure in a row (1, 2, …): when to try again. */
export function nextAfterFailure(failures: number, intervalMs: number, now: Date): Date {
  const wait = Math.min(intervalMs, FAILURE_BACKOFF_MS * 2 ** Math.max(0, failures - 1));
  return new Date(now.getTime() + wait);
}

/** A slot's place in a window starting at `from`: the same golden-ratio spread, for moving many connections at once without bunching them. */
export function spreadWithin(slot: number, from: Date, windowMs: number): Date {
  return new Date(from.getTime() + Math.floor(frac(slot * GOLDEN) * windowMs));
}
