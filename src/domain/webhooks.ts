/**
 * Webhook rules (PRODUCT.md §4), pure: which event types exist, when a failed delivery is tried
 * again, and when an endpoint has failed long enough to be switched off.
 */

/** Every event type Causeway writes; an endpoint's filter names some of them (empty: all). */
export const EVENT_TYPES = [
  'user.created', 'user.deleted',
  'connection.created', 'connection.activated', 'connection.status_changed', 'connection.access_expiring_soon',
  'connection.new_accounts_available', 'connection.unlinked', 'connection.purged', 'connection.deleted',
  'connection.imported', 'connection.repair_requested', 'connection.products_updated', 'connection.duplicate_link',
  'provider.webhook',
  'job.completed', 'job.failed',
  'accounts.updated', 'transactions.updated',
  'consent.granted', 'consent.expiring', 'consent.expired', 'consent.revoked',
  'access.expiring', 'access.expired', 'access.revoked',
  'webhook_endpoint.disabled', 'webhook_endpoint.test',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/**
 * When each attempt is made, after the one before it failed: the first at once, then 5 s, 5 min,
 * 30 min, 2 h, 5 h, 10 h and 10 h (Standard Webhooks' and Svix's schedule): eight attempts over
 * about 27 hours. A delivery whose eighth attempt fails is given up (`failed`); resend or replay it.
 */
export const RETRY_SCHEDULE_MS = [0, 5 * SECOND, 5 * MINUTE, 30 * MINUTE, 2 * HOUR, 5 * HOUR, 10 * HOUR, 10 * HOUR] as const;

/** Each wait is moved by up to this share either way, so endpoints that failed together do not retry together. */
export const JITTER = 0.1;

/** An endpoint whose attempts have all failed for this long is disabled (and an event says so). */
export const DISABLE_AFTER_FAILING_MS = 5 * DAY;

/** A Retry-After longer than this is capped: the schedule's longest wait. */
const MAX_RETRY_AFTER_MS = 10 * HOUR;

/**
 * The wait before the next attempt, once `attemptsMade` attempts have failed, or null when the
 * schedule is spent. A receiver's Retry-After is honoured when it asks for longer than the schedule.
 * `random` in [0, 1) (Math.random in production, fixed in tests).
 */
export function nextAttemptDelayMs(attemptsMade: number, retryAfterSeconds: number | null, random: number): number | null {
  if (attemptsMade >= RETRY_SCHEDULE_MS.length) return null;
  const base = RETRY_SCHEDULE_MS[attemptsMade]!;
  const jittered = Math.round(base * (1 + JITTER * (2 * random - 1)));
  const asked = retryAfterSeconds === null ? 0 : Math.min(retryAfterSeconds * SECOND, MAX_RETRY_AFTER_MS);
  return Math.max(jittered, asked);
}

/** Whether an attempt answered this way counts as delivered: any 2xx. Redirects are not followed, so they fail. */
export function isDelivered(statusCode: number | null): boolean {
  return statusCode !== null && statusCode >= 200 && statusCode < 300;
}

/** 410 Gone: the receiver says the endpoint no longer exists, so it is disabled at once. */
export function isGone(statusCode: number | null): boolean {
  return statusCode === 410;
}
