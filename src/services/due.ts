/**
 * Rules that fire with time rather than with a request (PRODUCT.md §2, §3), each on the
 * connection's application clock (the sandbox test clock included):
 *
 *   pausedUntil passed (duplicate credentials)  ─► the waiting job is sent
 *   pre_init past its authorisation window      ─► failed / authorization_abandoned
 *   access or consent ends within 7 days        ─► active / access_expiring_soon
 *   access or consent has ended                 ─► reconnect_required / consent_expired
 *                                                  (and the data purged if the application says so)
 *
 * Run by every worker's sweep (runtime.ts) and straight after the sandbox clock moves, so a test
 * that advances time sees the consequences at once. Each change goes through the status machine
 * on the locked row, so two workers sweeping together change a connection once.
 */
import { DAY_MS } from '../domain/clock.js';
import { EXPIRING_SOON_DAYS, InvalidTransitionError, transition } from '../domain/status.js';
import { findApplication } from '../db/repos/applications.js';
import { findConnection, stateOf, updateConnection } from '../db/repos/connections.js';
import { findDueRuleCandidates } from '../db/repos/due.js';
import { releasePausedJobs } from '../db/repos/jobs.js';
import { withTransaction } from '../db/transaction.js';
import { applyConsentChange } from './consent.js';
import { tenantClock, type Core } from './core.js';

type DueEvent = 'authorization_abandoned' | 'consent_expiring' | 'consent_expired';

const BATCH = 500;

/** What became due; answers how many connections each rule changed. */
export async function applyDueRules(core: Core, applicationId: string | null = null) {
  const wallNow = core.clock.now();
  const released = await releasePausedJobs(core.db, wallNow, applicationId, BATCH);
  for (const job of released) await core.queue.enqueue(job);
  const { abandoned, expired, expiring } = await findDueRuleCandidates(core.db, {
    wallNow, applicationId, limit: BATCH, expiringSoonMs: EXPIRING_SOON_DAYS * DAY_MS,
  });
  const changed = {
    released: released.length,
    abandoned: await applyEach(core, abandoned, 'authorization_abandoned'),
    expired: await applyEach(core, expired, 'consent_expired'),
    expiring: await applyEach(core, expiring, 'consent_expiring'),
  };
  return changed;
}

async function applyEach(core: Core, rows: { id: string; applicationId: string }[], event: DueEvent): Promise<number> {
  let n = 0;
  for (const row of rows) if (await applyOne(core, row, event)) n++;
  return n;
}

/** One connection, locked, through the status machine; false when it no longer qualifies. */
async function applyOne(core: Core, row: { id: string; applicationId: string }, event: DueEvent): Promise<boolean> {
  const application = await findApplication(core.db, row.applicationId);
  if (!application) return false;
  const now = tenantClock(core, application).now();
  return withTransaction(core.db, async (tx) => {
    const c = await findConnection(tx, row.applicationId, row.id, { forUpdate: true });
    if (!c) return false;
    // Chosen before the lock: a job that ended meanwhile may already have said the same (and its event).
    if (event === 'consent_expiring' && c.statusReason === 'access_expiring_soon') return false;
    if (event === 'consent_expired' && (c.statusReason === 'consent_expired' || c.statusReason === 'consent_revoked')) return false;
    try {
      if (event === 'authorization_abandoned') {
        const next = transition(stateOf(c), { type: event });
        await updateConnection(tx, c.id, { status: next.status, statusReason: next.reason, authStateHash: null, updatedAt: now });
      } else {
        await applyConsentChange(tx, application, c, event, now, null);
      }
      return true;
    } catch (err) {
      if (err instanceof InvalidTransitionError) return false; // moved on meanwhile
      throw err;
    }
  });
}
