/**
 * The background refresh scheduler (issue 5, the "smart cache"): every worker ticks, claims the
 * active and degraded connections that are due (repos/connections.ts claimDueConnections: skip
 * locked, so workers share the schedule and none starts a refresh twice), and starts a refresh
 * with trigger `scheduled` for each. The refresh's end sets the next time (domain/schedule.ts:
 * the connection's phase in the next interval, or a backoff after a failure). The schedule lives
 * in the database: a restart loses nothing, and a claimed connection whose worker died is due
 * again after CLAIM_HOLD_MS.
 *
 *   due ─► institution in outage for this application (circuit breaker open)? ─► deferred, not failed
 *       ─► institution always asks for a one-time code? ─► not refreshed: reconnect_required / mfa_required
 *       ─► budget spent (or only the user's last refresh left)? ─► moved to when it allows
 *       ─► refresh job (trigger scheduled)
 */
import { AppError } from '../domain/errors.js';
import { HEALTH_WINDOW_MS, healthOf, INSTITUTION_ERRORS } from '../domain/health.js';
import { InvalidTransitionError, transition } from '../domain/status.js';
import { findApplication, type ApplicationRow } from '../db/repos/applications.js';
import { claimDueConnections, findConnection, recentInstitutionCalls, setNextScheduledRefresh, stateOf, updateConnection } from '../db/repos/connections.js';
import { refreshConnection } from './connections.js';
import { findInstitution, tenantClock, type Core } from './core.js';

/** Connections one tick takes at most; a tick that took this many runs again at once. */
export const TICK_LIMIT = 500;
/** How long a claimed connection is held for the refresh it gets; its end sets the real next time. */
export const CLAIM_HOLD_MS = 30 * 60_000;
/** While an institution is in outage, its due refreshes look again this much later (the breaker half-opens when the calls age out). */
export const OUTAGE_DEFER_MS = 10 * 60_000;

/** One tick: claims what is due (for one application, or all) and starts its refreshes. Answers how many it claimed. */
export async function runSchedulerTick(core: Core, applicationId: string | null = null): Promise<number> {
  const claimed = await claimDueConnections(core.db, { wallNow: core.clock.now(), holdMs: CLAIM_HOLD_MS, limit: TICK_LIMIT, applicationId });
  const applications = new Map<string, ApplicationRow | null>();
  const outage = new Map<string, boolean>();
  for (const c of claimed) {
    if (!applications.has(c.applicationId)) applications.set(c.applicationId, await findApplication(core.db, c.applicationId));
    const application = applications.get(c.applicationId);
    if (!application) continue;
    const now = tenantClock(core, application).now();
    const institution = findInstitution(core, c.institutionId);
    const key = `${application.id} ${c.institutionId}`;
    if (!outage.has(key)) {
      const recent = await recentInstitutionCalls(core.db, application.id, c.institutionId, new Date(now.getTime() - HEALTH_WINDOW_MS), INSTITUTION_ERRORS);
      outage.set(key, healthOf(recent.calls, recent.failing) === 'outage');
    }
    if (outage.get(key)) {
      await setNextScheduledRefresh(core.db, c.id, new Date(now.getTime() + OUTAGE_DEFER_MS));
      continue;
    }
    if (institution?.alwaysMfa) {
      await markNeedsUser(core, application, c.id, now);
      continue;
    }
    try {
      await refreshConnection(core, { application, actor: 'system' }, c.userId, c.id, undefined, 'scheduled');
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      const allowed = err.code === 'refresh_budget_exhausted' ? (err.details.refreshBudget as { nextRefreshAllowedAt: string }).nextRefreshAllowedAt : null;
      if (allowed) await setNextScheduledRefresh(core.db, c.id, new Date(allowed));
      // invalid_state: the connection moved out of active/degraded meanwhile; it is not refreshed in the background.
    }
  }
  return claimed.length;
}

/** An institution that always wants a one-time code cannot be refreshed unattended: once its data is due, the user is needed. */
async function markNeedsUser(core: Core, application: ApplicationRow, connectionId: string, now: Date): Promise<void> {
  await core.db.transaction(async (tx) => {
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
