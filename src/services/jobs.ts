/** Reading jobs, answering MFA prompts, and expiring prompts nobody answered. */
import { randomUUID } from 'node:crypto';
import { AppError, notFound } from '../domain/errors.js';
import { findJob, findJobById, listJobsForConnection, updateJob } from '../db/repos/jobs.js';
import { finish } from './sync/run.js';
import { tenantClock, type Core, type Tenant } from './core.js';
import { requireConnection } from './connections.js';
import { jobView } from './views.js';
import { findApplication } from '../db/repos/applications.js';
import { idPage, readIdCursor } from './cursor.js';

/** The job, or 404; a client token sees only its user's jobs. */
async function requireJob(core: Core, tenant: Tenant, jobId: string) {
  const job = await findJob(core.db, tenant.application.id, jobId);
  if (!job || (tenant.client && job.userId !== tenant.client.userId)) throw notFound('job', jobId);
  return job;
}

export async function getJob(core: Core, tenant: Tenant, jobId: string) {
  return jobView(await requireJob(core, tenant, jobId));
}

export async function listConnectionJobs(core: Core, tenant: Tenant, userId: string, connectionId: string, cursor: string | null, limit: number) {
  await requireConnection(core, tenant, userId, connectionId);
  const rows = await listJobsForConnection(core.db, connectionId, readIdCursor(core, tenant, 'jobs', cursor), limit + 1);
  return idPage(core, tenant, 'jobs', rows, limit, jobView);
}

/** Stores the code and hands the job back to a worker, which resumes at the waiting step. */
export async function answerMfa(core: Core, tenant: Tenant, jobId: string, code: string) {
  const job = await requireJob(core, tenant, jobId);
  const now = tenantClock(core, tenant.application).now();
  if (job.status !== 'awaiting_input') {
    throw new AppError('job_not_awaiting_input', `Job ${jobId} is ${job.status}; only a job that is awaiting_input takes an MFA code.`, { jobStatus: job.status });
  }
  if (job.mfaExpiresAt && job.mfaExpiresAt < now) {
    await expireMfa(core, job.id);
    throw new AppError('job_not_awaiting_input', 'The time to answer this MFA prompt has run out; the job has failed. Start a new refresh or repair.', { jobStatus: 'failed' });
  }
  const steps = job.steps.map((s) => (s.status === 'awaiting_input' ? { ...s, status: 'pending' as const, resultCode: null } : s));
  // A new delivery needs a new queue id: the first one is spent, and re-sending it would be a no-op.
  const updated = await updateJob(core.db, job.id, {
    status: 'queued', steps, mfaCodeEnc: core.cipher.encrypt(code), mfaPrompt: null, mfaExpiresAt: null, queueJobId: randomUUID(), updatedAt: now,
  }, 'awaiting_input');
  if (!updated) throw new AppError('job_not_awaiting_input', `Job ${jobId} is no longer awaiting input.`);
  await core.queue.enqueue(updated);
  return jobView(updated);
}

/** The MFA window closed: fail the waiting step (mfa_timeout) if it is still waiting. */
export async function expireMfa(core: Core, jobId: string): Promise<void> {
  const job = await findJobById(core.db, jobId);
  if (!job || job.status !== 'awaiting_input' || !job.runToken) return;
  const application = await findApplication(core.db, job.applicationId);
  const now = tenantClock(core, application!).now();
  if (job.mfaExpiresAt && job.mfaExpiresAt > now) return;
  const steps = job.steps.map((s) => (s.status === 'awaiting_input' ? { ...s, status: 'failed' as const, resultCode: 'mfa_timeout', finishedAt: now.toISOString() } : s));
  await finish(core, tenantClock(core, application!), { ...job, steps }, job.runToken, null, { failure: { code: 'mfa_timeout', message: 'Nobody answered the MFA prompt in time.' } });
}
