/**
 * Runs one connection job: its steps in order, each recorded with status, result code and timing.
 *
 *   claim (new run token) ─► for each step not yet done:
 *       in_progress ─► provider call(s) ─► success | skipped | failed | awaiting_input (MFA: stop here)
 *   transient provider error ─► step back to pending, job queued, throw: pg-boss retries with backoff
 *   final failure or success ─► job and connection updated in one transaction (status machine)
 *
 * A retried or resumed run skips the steps that already succeeded; ingestion is idempotent, so a
 * run killed half way and run again stores each transaction once.
 */
import { linksAway } from '../../domain/types.js';
import { randomUUID } from 'node:crypto';
import { EXPIRING_SOON_DAYS, transition, type FailureCode } from '../../domain/status.js';
import { degradedReason, nextAfterFailure, nextAfterSuccess } from '../../domain/schedule.js';
import { isRequiredStep } from '../../domain/steps.js';
import type { JobStep, JobType } from '../../domain/types.js';
import { findConnection, stateOf, updateConnection, type ConnectionRow } from '../../db/repos/connections.js';
import { claimJob, endRunIfUnchanged, findJobForRun, saveRun, stepsWith, SupersededRunError, type JobRow } from '../../db/repos/jobs.js';
import { tenantClock, type Core } from '../core.js';
import { acquirePermit, capacityFor, deferJob, holdPermit, refreshIntervalMs, slowInstitution } from '../limits.js';
import type { Clock } from '../../domain/clock.js';
import { ProviderError } from '../../providers/types.js';
import { runStep, type RunState } from './steps.js';
import { withJournal } from './writes.js';
import { insertProviderCalls, type ProviderCallInsert } from '../../db/repos/provider-calls.js';
import { linkOf } from './grant.js';
import { providerFor, settingsFor } from '../providers.js';
import { withTransaction } from '../../db/transaction.js';
import { findApplication } from '../../db/repos/applications.js';
import { connectionEvent, insertEvent } from '../../db/repos/events.js';
import { consentEventType, onConsentEnded } from '../consent.js';
import { budgetsOf } from '../budgets.js';
import { listProviderBudgets } from '../../db/repos/providers.js';
import { recordJob } from '../../metrics.js';

interface Attempt { retryCount: number; retryLimit: number }

export async function runConnectionJob(core: Core, jobId: string, attempt: Attempt): Promise<void> {
  const found = await findJobForRun(core.db, jobId);
  if (!found || !['queued', 'running'].includes(found.job.status)) return; // finished, or waiting for MFA
  const clock = tenantClock(core, found.application);
  const runToken = randomUUID();
  const now = clock.now();
  // Waiting out a duplicate-credentials pause: services/due.ts sends the job again when it ends.
  if (found.connection.pausedUntil && found.connection.pausedUntil > now) return;
  const usable = found.connection.status !== 'deleted' && found.connection.status !== 'unlinked';
  const institutionId = found.connection.institutionId;
  if (!usable) {
    const job = await claimJob(core.db, jobId, found.connection.id, runToken, found.job.steps, now);
    if (job) await finish(core, clock, job, runToken, null, { failure: { code: 'connection_unavailable', message: 'The connection was unlinked or deleted before the job ran.' } });
    return;
  }
  // The institution's limits, across every worker (services/limits.ts): refused, the job waits queued.
  // Held by this run (its token): a resumed or superseding run of the same job holds its own.
  const throttleKey = { applicationId: found.application.id, institutionId };
  const capacity = await capacityFor(core, found.application, institutionId);
  const permit = await acquirePermit(core, throttleKey, capacity, runToken);
  if (!permit.granted) {
    core.log.debug({ jobId, institutionId, reason: permit.reason, retryAt: permit.retryAt.toISOString() }, 'job deferred by institution limits');
    await deferJob(core, permit, capacity, jobId, now);
    return;
  }
  const held = holdPermit(core, throttleKey, runToken);
  try {
    const started = clock.now(); // a permit may have been waited for
    // The claim writes the first step's start too: one statement, not two.
    const job = await claimJob(core.db, jobId, found.connection.id, runToken, startFirstStep(found.job.steps, started), started);
    if (!job) return;
    core.log.debug({ jobId, institutionId }, 'job run started');
    const connection = { ...found.connection, lastUsedAt: started };
    const provider = providerFor(core, connection);
    const runKey = `${job.id}:${job.attempts}`;
    const simulatedOutage = found.application.sandboxOutages.includes(institutionId);
    const simulatedRateLimitSeconds = found.application.sandboxRateLimits[institutionId] ?? null;
    // Settings removed since the connection was made: every call fails as not configured, which the connection shows.
    const settings = (await settingsFor(core, found.application, provider)) ?? {};
    const state: RunState = {
      core, clock, job, runToken, connection,
      link: linkOf(core, connection),
      runKey, simulatedOutage, simulatedRateLimitSeconds,
      scope: {
        core, provider, settings, applicationId: job.applicationId, connectionId: connection.id, institutionId, jobId: job.id,
        now: () => clock.now(), runKey, simulatedOutage, simulatedRateLimitSeconds, pending: [],
        ...(provider.reportsBudgets ? { budgets: budgetsOf(await listProviderBudgets(core.db, connection.id)) } : {}),
      },
      permit: held,
      refreshIntervalMs: await refreshIntervalMs(core, found.application, institutionId),
      flags: { newAccounts: false, partialData: false },
      steps: job.steps,
      accounts: found.accounts,
      oldestPending: found.oldestPending,
      identityDigest: found.identityDigest,
      step: { name: job.steps[0]!.name, next: null, carried: null },
      startUnsaved: false,
      window: null,
    };
    try {
      await runSteps(core, clock, job, runToken, state, attempt);
    } finally {
      // Calls no write of the run took (it was superseded, or a write failed): journaled on their own.
      await insertProviderCalls(core.db, state.scope.pending?.splice(0) ?? []).catch((err) => core.log.warn({ err, jobId }, 'provider calls not journaled'));
    }
  } finally {
    held.release();
  }
}

const isDone = (s: JobStep) => s.status === 'success' || s.status === 'skipped' || s.status === 'failed';

/** The steps with the first one still to do marked in_progress. */
function startFirstStep(steps: JobStep[], now: Date): JobStep[] {
  const next = steps.find((s) => !isDone(s));
  return next ? stepsWith(steps, next.name, { status: 'in_progress', startedAt: now.toISOString(), finishedAt: null, resultCode: null }) : steps;
}

async function runSteps(core: Core, clock: Clock, job: JobRow, runToken: string, state: RunState, attempt: Attempt): Promise<void> {
  const jobId = job.id;
  try {
    let startSaved = true; // the claim wrote the first step's start
    for (const [i, step] of job.steps.entries()) {
      if (isDone(step)) continue;
      await state.permit.renewIfAging();
      if (!startSaved) {
        // Saved by the step's first write, or by its first provider call if that is slow (steps.ts `call`).
        state.steps = stepsWith(state.steps, step.name, { status: 'in_progress', startedAt: clock.now().toISOString(), finishedAt: null, resultCode: null });
        state.startUnsaved = true;
      }
      startSaved = false;
      state.step = { name: step.name, next: job.steps.slice(i + 1).find((n) => !isDone(n))?.name ?? null, carried: null };
      try {
        const outcome = await runStep(state, step.name);
        if (outcome.kind === 'awaiting_input') return;
        if (state.step.carried?.outcome === outcome) {
          // The step's last write saved it done and the next one started (steps.ts endingWrite).
          state.steps = state.step.carried.steps;
          startSaved = true;
          continue;
        }
        // Saved with the next step's start (or by finish): one write per step, not two. A crash
        // before that write runs this step again, which is safe: every step is idempotent.
        state.steps = stepsWith(state.steps, step.name, { status: outcome.kind, resultCode: outcome.resultCode, finishedAt: clock.now().toISOString() });
      } catch (err) {
        const pe = asProviderError(err);
        if (!pe) throw err;
        if (pe.code === 'rate_limited' && pe.limitScope === 'institution') await slowInstitution(core, { applicationId: job.applicationId, institutionId: state.connection.institutionId }, pe.retryAfterSeconds);
        if (pe.transient && retriesSpent(job, attempt) < attempt.retryLimit) {
          state.steps = stepsWith(state.steps, step.name, { status: 'pending', resultCode: `retrying:${pe.code}`, finishedAt: clock.now().toISOString() });
          await withJournal(state, (calls) => saveRun(core.db, job.id, runToken, { steps: state.steps, status: 'queued', updatedAt: clock.now() }, calls));
          throw pe; // pg-boss schedules the retry with backoff
        }
        state.steps = stepsWith(state.steps, step.name, { status: 'failed', resultCode: pe.code, finishedAt: clock.now().toISOString() });
        if (!isRequiredStep(job.type as JobType, step.name)) {
          state.flags.partialData = true;
          await withJournal(state, (calls) => saveRun(core.db, job.id, runToken, { steps: state.steps, updatedAt: clock.now() }, calls));
          continue;
        }
        await finish(core, clock, job, runToken, state, { failure: { code: pe.code, message: pe.message, retryAfterSeconds: pe.retryAfterSeconds } });
        return;
      }
    }
    await finish(core, clock, job, runToken, state, {});
  } catch (err) {
    if (err instanceof SupersededRunError) return; // another run owns the job now
    if (err instanceof ProviderError) throw err;
    // Anything unexpected (a bug, a lost database connection) is retried like a transient error,
    // and on the last attempt recorded as a provider_error so the connection shows a way forward.
    core.log.error({ err, jobId }, 'job run failed unexpectedly');
    if (retriesSpent(job, attempt) < attempt.retryLimit) {
      await withJournal(state, (calls) => saveRun(core.db, job.id, runToken, { status: 'queued', updatedAt: clock.now() }, calls)).catch(() => {});
      throw err;
    }
    await finish(core, clock, job, runToken, state, { failure: { code: 'provider_error', message: 'The job failed unexpectedly; it can be retried.' } });
  }
}

/**
 * Retries this job has had: the queue's count, or the job's own runs before this one, whichever is
 * more. A job deferred by institution limits travels on a new queue message whose count starts
 * again at 0, so a bank answering 429 for ever cannot keep it retrying for ever.
 */
function retriesSpent(job: JobRow, attempt: Attempt): number {
  return Math.max(attempt.retryCount, job.attempts - 1);
}

function asProviderError(err: unknown): ProviderError | null {
  return err instanceof ProviderError ? err : null;
}

/** `retryAfterSeconds`: the provider said when to come back (a 429): the next background refresh is not before. */
type Ending = { failure?: { code: string; message: string; retryAfterSeconds?: number | null } };

/**
 * Ends the job and moves the connection through the status machine, atomically. A run that knows
 * its connection does it in one statement when the connection has not changed since the run
 * read it; otherwise (or without a run) it locks the connection and decides again.
 */
export async function finish(core: Core, clock: Clock, job: JobRow, runToken: string, state: RunState | null, ending: Ending): Promise<void> {
  const now = clock.now();
  const steps: JobStep[] = (state?.steps ?? job.steps).map((s) =>
    s.status === 'pending' || s.status === 'in_progress' || s.status === 'awaiting_input'
      ? { ...s, status: 'skipped', resultCode: ending.failure ? 'not_run' : s.resultCode, finishedAt: now.toISOString() }
      : s);
  const jobPatch = {
    status: ending.failure ? 'failed' : 'succeeded', steps, finishedAt: now, updatedAt: now,
    errorCode: ending.failure?.code ?? null, errorMessage: ending.failure?.message ?? null, mfaCodeEnc: null,
  };
  // Consent news goes through the locked path, which records it as an event: consent that ended under
  // the job (and the application's keep-or-purge setting), or an end the job found near.
  const consentEnded = ending.failure?.code === 'consent_expired' || ending.failure?.code === 'consent_revoked'
    ? ending.failure.code as 'consent_expired' | 'consent_revoked' : null;
  const expiringNews = (c: ConnectionRow, patch: { statusReason: string | null }) =>
    patch.statusReason === 'access_expiring_soon' && c.statusReason !== 'access_expiring_soon';
  const runPatch = state ? connectionPatch(state.connection, job, state, state.refreshIntervalMs, ending, now) : null;
  if (state && runPatch && !consentEnded && !expiringNews(state.connection, runPatch)) {
    const c = state.connection;
    const st = stateOf(c);
    const ended = await withJournal(state, (calls) => endRunIfUnchanged(core.db, {
      jobId: job.id, runToken, job: jobPatch, connectionId: c.id, calls,
      expected: { status: st.status, statusReason: st.reason, everSynced: st.everSynced },
      connection: runPatch,
    }));
    if (ended) return countEnded(job, ending, now);
  }
  const locked = (calls: ProviderCallInsert[]) => withTransaction(core.db, async (tx) => {
    // The user and connection locked before the job (db/transaction.ts); then the fence on the job.
    const c = await findConnection(tx, job.applicationId, job.connectionId, { forUpdate: true });
    await saveRun(tx, job.id, runToken, jobPatch, calls);
    if (!c || c.status === 'deleted' || c.status === 'unlinked') return;
    // The application's clock as it is now: a sandbox test clock may have moved while the job ran,
    // and what the job decides (expiring soon, the next refresh) must not undo what that made due.
    const application = await findApplication(tx, c.applicationId);
    const at = application ? tenantClock(core, application).now() : now;
    const patch = connectionPatch(c, job, state, state?.refreshIntervalMs ?? (application ? await refreshIntervalMs(core, application, c.institutionId, tx) : null), ending, at);
    // Said already (the time-based rules got there first while the job ran): no second event, no second purge.
    const ended = consentEnded && c.statusReason !== consentEnded ? consentEnded : null;
    const news = consentEnded ? ended : expiringNews(c, patch) ? 'consent_expiring' : null;
    if (news) {
      await insertEvent(tx, connectionEvent(c, consentEventType(c.method, news), {
        grantedAt: c.consentGrantedAt?.toISOString() ?? null, expiresAt: (linksAway(c.method) ? c.consentExpiresAt : c.accessExpiresAt)?.toISOString() ?? null, jobId: job.id,
      }, null, at));
    }
    const updated = await updateConnection(tx, c.id, patch);
    if (ended && application) await onConsentEnded(tx, application, updated, ended, at);
  });
  if (state) await withJournal(state, locked, 'transaction');
  else await locked([]);
  countEnded(job, ending, now);
}

/** Counts a job that ended, with its time from creation (both on the application's clock). */
function countEnded(job: JobRow, ending: Ending, now: Date): void {
  recordJob(job.type, ending.failure ? 'failed' : 'succeeded', now.getTime() - job.createdAt.getTime());
}

/** The connection's next status (and sync times) when a job ends, from the status machine. */
function connectionPatch(c: ConnectionRow, job: JobRow, state: RunState | null, intervalMs: number | null, ending: Ending, now: Date) {
  const st = stateOf(c);
  if (ending.failure) {
    const code = ending.failure.code as FailureCode;
    const background = job.trigger === 'scheduled' || job.trigger === 'system';
    const next = ending.failure.code === 'mfa_required'
      ? transition(st, { type: 'mfa_required_in_background' })
      : transition(st, { type: 'job_failed', code, userPresent: !background });
    const failures = c.consecutiveFailures + 1;
    // Degraded: the scheduler tries again later and later (domain/schedule.ts); no other status is refreshed in the background.
    if (next.status === 'degraded' && intervalMs !== null) {
      return {
        status: next.status, statusReason: degradedReason(next.reason!, failures), updatedAt: now, consecutiveFailures: failures,
        nextScheduledRefreshAt: notBefore(nextAfterFailure(failures, intervalMs, now), now, ending.failure.retryAfterSeconds),
      };
    }
    return { status: next.status, statusReason: next.reason, updatedAt: now, consecutiveFailures: failures };
  }
  const expiresAt = linksAway(c.method) ? c.consentExpiresAt : c.accessExpiresAt;
  const expiringSoon = expiresAt !== null && expiresAt.getTime() - now.getTime() < EXPIRING_SOON_DAYS * 86_400_000;
  const next = transition(st, {
    type: 'job_succeeded', partialData: state?.flags.partialData, newAccounts: state?.flags.newAccounts, accessExpiringSoon: expiringSoon,
  });
  return {
    status: next.status, statusReason: next.reason, updatedAt: now, firstSyncedAt: c.firstSyncedAt ?? now, lastSuccessfulSyncAt: now,
    pausedUntil: null, consecutiveFailures: 0,
    ...(intervalMs !== null ? { nextScheduledRefreshAt: nextAfterSuccess(c.scheduleSlot, intervalMs, job.startedAt ?? now) } : {}),
  };
}

function notBefore(at: Date, now: Date, retryAfterSeconds: number | null | undefined): Date {
  if (!retryAfterSeconds) return at;
  const allowed = new Date(now.getTime() + retryAfterSeconds * 1000);
  return allowed > at ? allowed : at;
}
