import { callInit, unwrap, type Api } from '../call.js';
import type { Job, JobStatus, MutationOptions, RequestOptions } from '../types.js';

/**
 * Where waitForJob stops: the job has ended, or it waits for the user (awaiting_input: answer its
 * MFA prompt with `answerMfa`, then wait again).
 */
export const SETTLED_JOB_STATUSES: readonly JobStatus[] = ['succeeded', 'failed', 'cancelled', 'awaiting_input'];

/** Polls start quick (sandbox jobs take a second) and slow down to this. */
const FIRST_POLL_MS = 100;
const MAX_POLL_MS = 2_000;

export class JobTimeoutError extends Error {
  override readonly name = 'JobTimeoutError';
  constructor(readonly job: Job, timeoutMs: number) {
    super(`job ${job.id} is still ${job.status} after ${timeoutMs} ms`);
  }
}

export interface WaitForJobOptions extends RequestOptions {
  /** Give up after this long (default 60 s) with a JobTimeoutError carrying the job as last seen. */
  timeoutMs?: number;
}

/** A connection's runs: the first sync, refreshes, repairs, imports, with their steps. */
export class Jobs {
  constructor(private readonly api: Api) {}

  get(jobId: string, opts?: RequestOptions): Promise<Job> {
    return unwrap(this.api.GET('/v1/jobs/{jobId}', { params: { path: { jobId } }, ...callInit(opts) }));
  }

  /** Answers the one-time code a job awaiting_input asks for; the job goes on. */
  answerMfa(jobId: string, code: string, opts?: MutationOptions): Promise<Job> {
    return unwrap(this.api.POST('/v1/jobs/{jobId}/mfa', { params: { path: { jobId } }, body: { code }, ...callInit(opts) }));
  }

  /** Polls the job until it has succeeded, failed or been cancelled, or waits for input; answers it then. */
  async waitForJob(jobId: string, opts: WaitForJobOptions = {}): Promise<Job> {
    const timeoutMs = opts.timeoutMs ?? 60_000;
    const deadline = Date.now() + timeoutMs;
    for (let wait = FIRST_POLL_MS; ; wait = Math.min(MAX_POLL_MS, wait * 1.5)) {
      const job = await this.get(jobId, opts);
      if (SETTLED_JOB_STATUSES.includes(job.status)) return job;
      if (Date.now() + wait > deadline) throw new JobTimeoutError(job, timeoutMs);
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
}
