/**
 * The process's Prometheus metrics: one registry, every series Causeway exposes, and the small
 * functions the code calls where something happens. A top-level module (like logging.ts) so that
 * http/, jobs/, services/ and the composition root can all record into it without crossing layers;
 * domain/ stays pure and does not.
 *
 * Labels are bounded by construction: a route is its pattern (`/v1/users/:userId`), never the URL;
 * a job type, queue, outcome, provider, operation and error code come from fixed sets in the code;
 * an institution is a catalogue id (the institutions this process has called, not user input). No
 * label ever holds a user, connection or application id.
 *
 * Recording is a map lookup and an add: negligible beside the request or job it describes. The
 * queue gauges are read from the database when /metrics is scraped (http/observability.ts).
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

export const registry = new Registry();
collectDefaultMetrics({ register: registry });

/** Request durations: a health check takes a millisecond, a link page a few hundred. */
const HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Jobs, provider calls and webhook attempts: from a fast sandbox call to a 15 s webhook limit or a long sync. */
const WORK_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
/** Scheduler lag: a tick runs every 15 s, so due refreshes start up to 15 s late when all is well. */
const LAG_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 900, 1800, 3600];

const httpRequests = new Counter({
  name: 'causeway_http_requests_total', help: 'HTTP requests answered, by method, route pattern and status.',
  labelNames: ['method', 'route', 'status'] as const, registers: [registry],
});
const httpDuration = new Histogram({
  name: 'causeway_http_request_duration_seconds', help: 'Time from receiving a request to sending its answer, by method and route pattern.',
  labelNames: ['method', 'route'] as const, buckets: HTTP_BUCKETS, registers: [registry],
});

const jobs = new Counter({
  name: 'causeway_jobs_total', help: 'Connection jobs that ended, by type (create, refresh, repair, …) and outcome (succeeded, failed).',
  labelNames: ['type', 'outcome'] as const, registers: [registry],
});
const jobDuration = new Histogram({
  name: 'causeway_job_duration_seconds', help: 'Connection jobs from creation (queued) to their end, by type and outcome.',
  labelNames: ['type', 'outcome'] as const, buckets: WORK_BUCKETS, registers: [registry],
});
const jobRuns = new Counter({
  name: 'causeway_job_runs_total', help: 'Queue deliveries handled by this worker, by queue and outcome (completed; error: pg-boss retries it).',
  labelNames: ['queue', 'outcome'] as const, registers: [registry],
});
const jobRunDuration = new Histogram({
  name: 'causeway_job_run_duration_seconds', help: 'Time a worker spent on one queue delivery, by queue and outcome.',
  labelNames: ['queue', 'outcome'] as const, buckets: WORK_BUCKETS, registers: [registry],
});

export const queueDepth = new Gauge({
  name: 'causeway_queue_depth', help: 'Jobs waiting in each queue at scrape time: ready (may start now) or deferred (start later, retries with backoff included).',
  labelNames: ['queue', 'state'] as const, registers: [registry],
});
export const queueOldestAge = new Gauge({
  name: 'causeway_queue_oldest_ready_age_seconds', help: 'How long the longest-waiting ready job of each queue has been ready but not started (0 when none waits).',
  labelNames: ['queue'] as const, registers: [registry],
});

const webhookDeliveries = new Counter({
  name: 'causeway_webhook_attempts_total', help: 'Webhook delivery attempts, by outcome (delivered, failed, gone: the endpoint answered 410).',
  labelNames: ['outcome'] as const, registers: [registry],
});
const webhookClaims = new Counter({
  name: 'causeway_webhook_claims_total', help: 'Claims of due webhook deliveries this worker made, by whether they found any (none: a poll or a wake with nothing due for it).',
  labelNames: ['found'] as const, registers: [registry],
});
const webhookRequestDuration = new Histogram({
  name: 'causeway_webhook_request_duration_seconds', help: 'Duration of webhook POSTs to receivers, by outcome.',
  labelNames: ['outcome'] as const, buckets: WORK_BUCKETS, registers: [registry],
});
const webhookLatency = new Histogram({
  name: 'causeway_webhook_delivery_latency_seconds', help: "From the delivery's creation (the event's commit; a resend's or replay's request) to its acknowledgement by the receiver (retries included).",
  buckets: WORK_BUCKETS, registers: [registry],
});

const providerCalls = new Counter({
  name: 'causeway_provider_calls_total', help: 'Calls to providers, by provider, institution and outcome (ok, or Causeway\'s error code for the failure).',
  labelNames: ['provider', 'institution', 'outcome'] as const, registers: [registry],
});
// The operation is on the duration only: with it, the institutions of a large catalogue times every
// operation would multiply the counter's series for little gain.
const providerDuration = new Histogram({
  name: 'causeway_provider_call_duration_seconds', help: 'Duration of provider calls, by provider, operation and outcome (ok or error).',
  labelNames: ['provider', 'operation', 'outcome'] as const, buckets: WORK_BUCKETS, registers: [registry],
});

const schedulerLag = new Histogram({
  name: 'causeway_scheduler_lag_seconds', help: 'How late background refreshes start after they fell due (its count: refreshes the scheduler started).',
  buckets: LAG_BUCKETS, registers: [registry],
});

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
const seconds = (ms: number) => Math.max(0, ms) / 1000;

/** One answered request; `route` is the matched pattern, or null when no route matched (recorded as `unmatched`). */
export function recordHttp(method: string, route: string | null, status: number, durationMs: number): void {
  const m = METHODS.has(method) ? method : 'OTHER';
  const r = route ?? 'unmatched';
  httpRequests.inc({ method: m, route: r, status: String(status) });
  httpDuration.observe({ method: m, route: r }, seconds(durationMs));
}

/** A connection job ended (services/sync/run.ts finish). */
export function recordJob(type: string, outcome: 'succeeded' | 'failed', durationMs: number): void {
  jobs.inc({ type, outcome });
  jobDuration.observe({ type, outcome }, seconds(durationMs));
}

/** Runs one queue delivery's handler, counting it and timing it (jobs/queue.ts). */
export async function timeJobRun<T>(queue: string, run: () => Promise<T>): Promise<T> {
  const started = performance.now();
  let outcome = 'error';
  try {
    const result = await run();
    outcome = 'completed';
    return result;
  } finally {
    jobRuns.inc({ queue, outcome });
    jobRunDuration.observe({ queue, outcome }, seconds(performance.now() - started));
  }
}

/** One webhook attempt (jobs/webhook-worker.ts); `latencyMs`: from the delivery's creation, for a delivered one. */
export function recordWebhookAttempt(outcome: 'delivered' | 'failed' | 'gone', requestMs: number, latencyMs: number | null): void {
  webhookDeliveries.inc({ outcome });
  webhookRequestDuration.observe({ outcome }, seconds(requestMs));
  if (outcome === 'delivered' && latencyMs !== null) webhookLatency.observe(seconds(latencyMs));
}

/** One claim of due webhook deliveries (jobs/webhook-worker.ts) and how many it took. */
export function recordWebhookClaim(taken: number): void {
  webhookClaims.inc({ found: taken > 0 ? 'some' : 'none' });
}

/** One provider call (services/sync/journal.ts callProvider); `outcome` is `ok` or an error code. */
export function recordProviderCall(c: { provider: string; institution: string | null; operation: string; outcome: string; durationMs: number }): void {
  providerCalls.inc({ provider: c.provider, institution: c.institution ?? 'none', outcome: c.outcome });
  providerDuration.observe({ provider: c.provider, operation: c.operation, outcome: c.outcome === 'ok' ? 'ok' : 'error' }, seconds(c.durationMs));
}

/** A due refresh started by the scheduler, `lateMs` after it fell due (services/scheduler.ts). */
export function recordSchedulerLag(lateMs: number): void {
  schedulerLag.observe(seconds(lateMs));
}
