/**
 * The background refresh scheduler (issue 5, the "smart cache"): every worker ticks, claims the
 * active and degraded connections that are due (repos/connections.ts claimDueConnections: skip
 * locked, so workers share the schedule and none starts a refresh twice), and starts a refresh
 * with trigger `scheduled` for each. The refresh's end sets the next time (domain/schedule.ts:
 * the connection's phase in the next interval, or a backoff after a failure). A spent budget
 * moves the time to when the budget allows. The schedule lives in the database: a restart loses
 * nothing, and a claimed connection whose worker died is due again after CLAIM_HOLD_MS.
 */
import { AppError } from '../domain/errors.js';
import { findApplication, type ApplicationRow } from '../db/repos/applications.js';
import { claimDueConnections, setNextScheduledRefresh } from '../db/repos/connections.js';
import { refreshConnection } from './connections.js';
import type { Core } from './core.js';

/** Connections one tick takes at most; a tick that took this many runs again at once. */
export const TICK_LIMIT = 500;
/** How long a claimed connection is held for the refresh it gets; its end sets the real next time. */
export const CLAIM_HOLD_MS = 30 * 60_000;

/** One tick: claims what is due (for one application, or all) and starts its refreshes. Answers how many it claimed. */
export async function runSchedulerTick(core: Core, applicationId: string | null = null): Promise<number> {
  const claimed = await claimDueConnections(core.db, { wallNow: core.clock.now(), holdMs: CLAIM_HOLD_MS, limit: TICK_LIMIT, applicationId });
  const applications = new Map<string, ApplicationRow | null>();
  for (const c of claimed) {
    if (!applications.has(c.applicationId)) applications.set(c.applicationId, await findApplication(core.db, c.applicationId));
    const application = applications.get(c.applicationId);
    if (!application) continue;
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
