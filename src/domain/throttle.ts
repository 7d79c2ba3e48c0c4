/**
 * Institution limits (issue 5: never hammer a bank), pure: how many refreshes of one application
 * may run at an institution at once, how fast they may start, and how a provider's 429 slows them.
 * The state lives in one database row per (application, institution) shared by every worker
 * (db/repos/throttles.ts takes a permit in one statement that follows these rules).
 *
 *   permit ─► now ≥ slowedUntil ─► nextStartAt ≤ now + RESERVE_AHEAD_MS ─► live holders < maxConcurrentRefreshes
 *             ─► granted, to start at max(now, nextStartAt): nextStartAt = that + spacing
 *   429 (Retry-After r, default 60 s) ─► slowedUntil = now + r, and for PENALTY_MS after that the
 *             spacing doubles (each 429 meanwhile doubles it again, up to ×16)
 *
 * Starts are spaced evenly (spacing = 60 s / refreshesPerMinute): a burst of refreshes arrives at
 * the bank one by one, never together.
 */

export interface InstitutionCapacity {
  /** Refreshes of one application running at this institution at once. */
  maxConcurrentRefreshes: number;
  /** Refreshes of one application started at this institution per minute, evenly spaced. */
  refreshesPerMinute: number;
}

export interface ThrottleState {
  /** Permit holders (job runs, by run token) and until when (ms) each permit is theirs. */
  holders: Record<string, number>;
  nextStartAt: Date;
  slowedUntil: Date;
  /** The spacing is divided by this while penaltyUntil is ahead (1, ½, ¼, …). */
  rateFactor: number;
  penaltyUntil: Date;
}

/** A permit lapses this long after it was taken or renewed (a worker that died gives its place back then). */
export const PERMIT_LEASE_MS = 2 * 60_000;
/** A running job renews its permit once this much of the lease is gone. */
export const PERMIT_RENEW_AFTER_MS = PERMIT_LEASE_MS / 2;
/**
 * A start due this soon is reserved: the permit is granted for that moment and the run waits for it
 * (a burst of jobs takes the next starts one spacing apart, each with one statement), where a later
 * one is refused and the job sent back to the queue for then.
 */
export const RESERVE_AHEAD_MS = 1_000;
/** A job refused for concurrency looks again about this much later (services/limits.ts adds up to twice this as jitter). */
export const CONCURRENCY_RETRY_MS = 1_000;
/** Without a Retry-After, a 429 holds the institution back this long. */
export const DEFAULT_RETRY_AFTER_MS = 60_000;
/** After a 429's wait, refreshes start at a reduced rate for this long. */
export const PENALTY_MS = 10 * 60_000;
/** The rate never falls below 1/16 of the institution's. */
export const MIN_RATE_FACTOR = 1 / 16;

export const OPEN_THROTTLE: ThrottleState = {
  holders: {}, nextStartAt: new Date(0), slowedUntil: new Date(0), rateFactor: 1, penaltyUntil: new Date(0),
};

/** The share of the institution's pace that applies at `now`: 1, or less while a 429's penalty lasts. */
export function rateFactorAt(state: Pick<ThrottleState, 'rateFactor' | 'penaltyUntil'>, now: Date): number {
  return state.penaltyUntil > now ? state.rateFactor : 1;
}

/** The spacing between starts at `now`. */
export function spacingMs(capacity: InstitutionCapacity, state: Pick<ThrottleState, 'rateFactor' | 'penaltyUntil'>, now: Date): number {
  return 60_000 / Math.max(capacity.refreshesPerMinute, 1e-9) / rateFactorAt(state, now);
}

export function liveHolders(state: ThrottleState, now: Date): string[] {
  return Object.entries(state.holders).filter(([, until]) => until > now.getTime()).map(([id]) => id);
}

export type Permit = { granted: true; startAt: Date } | { granted: false; reason: 'concurrency' | 'slowed' | 'rate'; retryAt: Date };

/**
 * Whether `holder` may start, and when (now, or a reserved moment at most RESERVE_AHEAD_MS ahead);
 * if not, when to ask again (the rule the repository's statement applies).
 */
export function decidePermit(state: ThrottleState, capacity: InstitutionCapacity, holder: string, now: Date): Permit {
  if (state.slowedUntil > now) return { granted: false, reason: 'slowed', retryAt: state.slowedUntil };
  if (state.nextStartAt.getTime() > now.getTime() + RESERVE_AHEAD_MS) return { granted: false, reason: 'rate', retryAt: state.nextStartAt };
  const others = liveHolders(state, now).filter((h) => h !== holder);
  if (others.length >= capacity.maxConcurrentRefreshes) return { granted: false, reason: 'concurrency', retryAt: new Date(now.getTime() + CONCURRENCY_RETRY_MS) };
  return { granted: true, startAt: state.nextStartAt > now ? state.nextStartAt : now };
}

/** The state after a 429 with `retryAfterMs` (null: none given). */
export function slowedDown(state: ThrottleState, retryAfterMs: number | null, now: Date): ThrottleState {
  const until = new Date(Math.max(state.slowedUntil.getTime(), now.getTime() + (retryAfterMs ?? DEFAULT_RETRY_AFTER_MS)));
  const rateFactor = state.penaltyUntil > now ? Math.max(MIN_RATE_FACTOR, state.rateFactor / 2) : 1 / 2;
  return { ...state, slowedUntil: until, rateFactor, penaltyUntil: new Date(until.getTime() + PENALTY_MS) };
}

/**
 * For the scheduler: when each of `count` refreshes due now could start, one spacing apart from
 * the first moment the institution takes one. It moves the ones too far off there, so they do
 * not wait in the queue asking.
 */
export function plannedStarts(state: ThrottleState, capacity: InstitutionCapacity, now: Date, count: number): Date[] {
  const first = Math.max(now.getTime(), state.slowedUntil.getTime(), state.nextStartAt.getTime());
  const spacing = spacingMs(capacity, state, new Date(first));
  return Array.from({ length: count }, (_, k) => new Date(first + k * spacing));
}

/** The stricter of the institution's capacity and an application's own setting for it. */
export function effectiveCapacity(institution: InstitutionCapacity, setting: Partial<InstitutionCapacity> | undefined): InstitutionCapacity {
  return {
    maxConcurrentRefreshes: Math.min(institution.maxConcurrentRefreshes, setting?.maxConcurrentRefreshes ?? Infinity),
    refreshesPerMinute: Math.min(institution.refreshesPerMinute, setting?.refreshesPerMinute ?? Infinity),
  };
}
