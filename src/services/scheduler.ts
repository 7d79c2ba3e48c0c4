/**
 * The background refresh scheduler (issue 5, the "smart cache"): every worker ticks, claims the
 * active and degraded connections that are due (repos/connections.ts claimDueConnections: skip
 * locked, so workers share the schedule and none starts a refresh twice), and starts a refresh
 * with trigger `scheduled` for each. The refresh's end sets the next time (domain/schedule.ts:
 * the connection's phase in the next interval, or a backoff after a failure). The schedule lives
 * in the database: a restart loses nothing, and a claimed connection whose worker died is due
 * again after CLAIM_HOLD_MS. What is due is taken per application and institution:
 *
 *   institution always asks for a one-time code? ─► not refreshed: reconnect_required / mfa_required
 *   institution in outage for this application (circuit breaker open)?
 *       ─► one probe refresh finds out whether it is back; the rest are deferred, not failed, spread
 *          over the next OUTAGE_DEFER_MS..2×OUTAGE_DEFER_MS so they do not return together
 *   the institution's pace (domain/throttle.ts: its rate, a 429's Retry-After)
 *       ─► refreshes it takes within the next tick start as jobs at their planned moment;
 *          the others move to their planned moment and are taken then
 *   budget spent (or only the user's last refresh left)? ─► the connection's phase after the budget allows
 *   ─► refresh job (trigger scheduled), which still takes a permit from the institution's limits
 */
import { AppError } from '../domain/errors.js';
import { nextPhaseAfter, spreadWithin } from '../domain/schedule.js';
import { InvalidTransitionError, transition } from '../domain/status.js';
import { plannedStarts } from '../domain/throttle.js';
import { findApplication, type ApplicationRow } from '../db/repos/applications.js';
import { claimDueConnections, findConnection, setNextScheduledRefresh, stateOf, updateConnection } from '../db/repos/connections.js';
import { withTransaction } from '../db/transaction.js';
import { readThrottle } from '../db/repos/throttles.js';
import { refreshConnection } from './connections.js';
import { tenantClock, type Core } from './core.js';
import { findInstitution } from './catalogue.js';
import { institutionHealth } from './institutions.js';
import { capacityFor, refreshIntervalMs } from './limits.js';
import { recordSchedulerLag } from '../metrics.js';

/** Connections one tick takes at most; a tick that took this many runs again at once. */
export const TICK_LIMIT = 500;
/** How long a claimed connection is held for the refresh it gets; its end sets the real next time. */
export const CLAIM_HOLD_MS = 30 * 60_000;
/** While an institution is in outage, its due refreshes look again 10 to 20 minutes later. */
export const OUTAGE_DEFER_MS = 10 * 60_000;
/** How often each worker ticks; refreshes the institution can start within one tick are started by this one. */
export const SCHEDULER_TICK_MS = 15_000;

type Due = Awaited<ReturnType<typeof claimDueConnections>>[number];

/** One tick: claims what is due (for one application, or all) and starts its refreshes. Answers how many it claimed. */
export async function runSchedulerTick(core: Core, applicationId: string | null = null): Promise<number> {
  const claimed = await claimDueConnections(core.db, { wallNow: core.clock.now(), holdMs: CLAIM_HOLD_MS, limit: TICK_LIMIT, applicationId });
  const groups = new Map<string, Due[]>();
  for (const c of claimed) {
    const key = `${c.applicationId} ${c.institutionId}`;
    const group = groups.get(key);
    if (group) group.push(c); else groups.set(key, [c]);
  }
  const applications = new Map<string, ApplicationRow | null>();
  for (const due of groups.values()) {
    const { applicationId: appId, institutionId } = due[0]!;
    if (!applications.has(appId)) applications.set(appId, await findApplication(core.db, appId));
    const application = applications.get(appId);
    if (application) await refreshAtInstitution(core, application, institutionId, due);
  }
  return claimed.length;
}

async function refreshAtInstitution(core: Core, application: ApplicationRow, institutionId: string, due: Due[]): Promise<void> {
  const now = tenantClock(core, application).now();
  if ((await findInstitution(core, institutionId))?.alwaysMfa) {
    for (const c of due) await markNeedsUser(core, application, c.id, now);
    return;
  }
  let take = due;
  // The circuit breaker: open while the application's latest calls there say outage (domain/health.ts).
  if ((await institutionHealth(core, application, institutionId)).status === 'outage') {
    // Half open: one refresh per tick probes the institution; when probes succeed the outage ends.
    const [probe, ...rest] = due;
    for (const c of rest) await setNextScheduledRefresh(core.db, c.id, spreadWithin(c.slot, new Date(now.getTime() + OUTAGE_DEFER_MS), OUTAGE_DEFER_MS));
    take = probe ? [probe] : [];
  }
  const wall = core.clock.now();
  const starts = plannedStarts(await readThrottle(core.db, { applicationId: application.id, institutionId }), await capacityFor(core, application, institutionId), wall, take.length);
  const intervalMs = await refreshIntervalMs(core, application, institutionId);
  for (const [k, c] of take.entries()) {
    const startAt = starts[k]!;
    const wait = startAt.getTime() - wall.getTime();
    if (wait > SCHEDULER_TICK_MS) {
      await setNextScheduledRefresh(core.db, c.id, new Date(now.getTime() + wait));
      continue;
    }
    try {
      await refreshConnection(core, { application, actor: 'system' }, c.userId, c.id, undefined, 'scheduled', wait > 0 ? startAt : undefined);
      recordSchedulerLag(now.getTime() + Math.max(0, wait) - c.dueAt.getTime());
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      if (err.code === 'refresh_budget_exhausted') {
        const allowed = new Date((err.details.refreshBudget as { nextRefreshAllowedAt: string }).nextRefreshAllowedAt);
        await setNextScheduledRefresh(core.db, c.id, nextPhaseAfter(c.slot, intervalMs, allowed));
      }
      // invalid_state: the connection moved out of active/degraded meanwhile; it is not refreshed in the background.
    }
  }
}

/** An institution that always wants a one-time code cannot be refreshed unattended: once its data is due, the user is needed. */
async function markNeedsUser(core: Core, application: ApplicationRow, connectionId: string, now: Date): Promise<void> {
  await withTransaction(core.db, async (tx) => {
    const c = await findConnection(tx, application.id, connectionId, { forUpdate: true });
    if (!c) return;
    try {
      const next = transition(stateOf(c), { type: 'mfa_required_in_background' });
      await updateConnection(tx, c.id, { status: next.status, statusReason: next.reason, updatedAt: now });
    } catch (err) {
      if (!(err instanceof InvalidTransitionError)) throw err;
    }
  });
}
