/**
 * The webhook delivery worker: claims due deliveries, sends them signed (Standard Webhooks), and
 * records every attempt. Several worker processes share the work through leases.
 *
 *   wake (NOTIFY from the events' trigger, an attempt ending, or the poll) ─► claim up to the free
 *   slots, a few per endpoint ─► each: sign ─► POST (15 s limit) ─► record attempt ─► free the slot
 *
 * A slow or hanging endpoint holds at most PER_ENDPOINT (+ one claim's PER_ENDPOINT_CLAIM) slots of
 * this process, so it never delays the others; many hanging endpoints at once can fill a worker's
 * CAUSEWAY_WEBHOOK_CONCURRENCY, which is why the limit is configurable. A
 * worker killed mid-attempt leaves its lease to lapse; another worker then makes the attempt
 * again, with the same webhook-id (the event id), so receivers can deduplicate.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { offsetClock } from '../domain/clock.js';
import { newId } from '../domain/ids.js';
import { DISABLE_AFTER_FAILING_MS, isDelivered, isGone, nextAttemptDelayMs } from '../domain/webhooks.js';
import { claimDueDeliveries, recordAttempt, releaseLeases, renewLeases, type Claimed } from '../db/repos/webhooks.js';
import type { Core } from '../services/core.js';
import { eventPayload, liveSecrets, signatureHeader } from '../services/webhooks.js';
import { sendWebhook } from './webhook-http.js';
import { recordWebhookAttempt } from '../metrics.js';

/** In-flight attempts one endpoint may hold in this process. */
const PER_ENDPOINT = 8;
/** Deliveries of one endpoint taken in a single claim. */
const PER_ENDPOINT_CLAIM = 4;
/** While attempts are in flight, the worker claims again once this many slots are free (or at the next poll). */
const MIN_CLAIM = 16;
/** How often the worker looks for due deliveries when nothing wakes it (retries falling due, test clocks moving). */
const POLL_MS = 250;
/** A lease outlives the longest attempt by this much. */
const LEASE_MARGIN_MS = 5_000;
/** While attempts are in flight their leases are renewed this often (well inside the margin). */
const RENEW_MS = 2_000;
const CHANNEL = 'causeway_webhooks';
/** A lost LISTEN connection is opened again after this; meanwhile the poll delivers. */
const RECONNECT_MS = 1000;

export interface WebhookWorker { stop(): Promise<void>; wake(): void }

export async function startWebhookWorker(core: Core): Promise<WebhookWorker> {
  const capacity = core.config.webhookConcurrency;
  const timeoutMs = core.config.webhookTimeoutSeconds * 1000;
  const inFlight = new Map<string, number>();
  /** Lease tokens of claims with attempts still in flight, and how many. */
  const tokens = new Map<string, number>();
  let total = 0;
  let stopped = false;
  let wakeUp: (() => void) | null = null;
  const wake = () => { const w = wakeUp; wakeUp = null; w?.(); };
  const unlisten = await listen(core, wake);
  const running = new Set<Promise<void>>();

  async function attempt(c: Claimed, leaseToken: string): Promise<void> {
    const clock = offsetClock(core.clock, c.clockOffsetMs);
    const payload = eventPayload(c.event);
    const sentAt = core.clock.now(); // webhook-timestamp is real time: receivers check it against theirs
    const result = await sendWebhook(c.endpoint.url, {
      'webhook-id': c.event.id,
      'webhook-timestamp': String(Math.floor(sentAt.getTime() / 1000)),
      'webhook-signature': signatureHeader(liveSecrets(core, c.endpoint, clock.now()), c.event.id, sentAt, payload),
    }, payload, { timeoutMs, allowPrivate: core.config.allowPrivateAddresses });
    const now = clock.now();
    const delivered = isDelivered(result.statusCode) && !result.error;
    // Latency from the delivery's creation (the event's commit; for a resend or replay, its request),
    // on the application's clock as that time is: an old event sent again is not a week of latency.
    recordWebhookAttempt(delivered ? 'delivered' : isGone(result.statusCode) ? 'gone' : 'failed', result.durationMs, now.getTime() - c.delivery.createdAt.getTime());
    const made = c.delivery.attempts + 1;
    const delay = delivered || isGone(result.statusCode) ? null : nextAttemptDelayMs(made, result.retryAfterSeconds, Math.random());
    const record = {
      deliveryId: c.delivery.id, leaseToken, attemptId: newId('wha', now.getTime()), at: now, statusCode: result.statusCode,
      durationMs: result.durationMs, error: result.error, responseBody: result.body,
      nextAttemptAt: delay === null ? null : new Date(now.getTime() + delay), delivered,
      disable: isGone(result.statusCode) ? 'gone' as const : null, failingCutoff: new Date(now.getTime() - DISABLE_AFTER_FAILING_MS),
    };
    await recordAttempt(core.db, record).catch(async (err: unknown) => {
      // Whatever the answer held that the database refused, the attempt itself must count, or it would be made forever.
      core.log.warn({ err, deliveryId: c.delivery.id }, 'webhook attempt recorded without its answer');
      await recordAttempt(core.db, { ...record, responseBody: null, error: result.error ? result.error.slice(0, 200) : null });
    });
  }

  async function claimAndSend(): Promise<number> {
    const room = capacity - total;
    // Claim in batches: a claim for one freed slot at a time would cost a query per delivery.
    if (room <= 0 || (total > 0 && room < Math.min(MIN_CLAIM, capacity))) return 0;
    const leaseToken = randomUUID();
    const wallNow = core.clock.now();
    const claimed = await claimDueDeliveries(core.db, {
      wallNow, leaseUntil: new Date(wallNow.getTime() + timeoutMs + LEASE_MARGIN_MS), leaseToken, limit: room,
      perEndpoint: PER_ENDPOINT_CLAIM, busy: [...inFlight].filter(([, n]) => n >= PER_ENDPOINT).map(([id]) => id),
    });
    if (claimed.length > 0) tokens.set(leaseToken, claimed.length);
    for (const c of claimed) {
      total++;
      inFlight.set(c.endpoint.id, (inFlight.get(c.endpoint.id) ?? 0) + 1);
      const p = attempt(c, leaseToken)
        .catch((err) => core.log.warn({ err, deliveryId: c.delivery.id }, 'webhook attempt not recorded; its lease will lapse and it is tried again'))
        .finally(() => {
          total--;
          const left = (tokens.get(leaseToken) ?? 1) - 1;
          if (left === 0) tokens.delete(leaseToken); else tokens.set(leaseToken, left);
          const n = (inFlight.get(c.endpoint.id) ?? 1) - 1;
          if (n === 0) inFlight.delete(c.endpoint.id); else inFlight.set(c.endpoint.id, n);
          running.delete(p);
          wake();
        });
      running.add(p);
    }
    return claimed.length;
  }

  // A slow machine must not let a live attempt's lease lapse (another worker would send it again).
  const renewer = setInterval(() => {
    if (tokens.size === 0) return;
    renewLeases(core.db, [...tokens.keys()], new Date(core.clock.now().getTime() + timeoutMs + LEASE_MARGIN_MS))
      .catch((err) => core.log.warn({ err }, 'renewing webhook leases failed; they lapse at their time'));
  }, RENEW_MS);
  renewer.unref();

  const loop = (async () => {
    while (!stopped) {
      let got = 0;
      try {
        got = await claimAndSend();
      } catch (err) {
        core.log.warn({ err }, 'claiming webhook deliveries failed');
      }
      if (got > 0 && total < capacity) continue; // there may be more due
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, POLL_MS);
        wakeUp = () => { clearTimeout(timer); resolve(); };
      });
    }
  })();

  return {
    wake,
    async stop() {
      stopped = true;
      wake();
      await loop;
      clearInterval(renewer);
      await Promise.allSettled([...running]);
      await unlisten();
      await releaseLeases(core.db, [...tokens.keys()]).catch(() => {});
    },
  };
}

/** LISTEN for the events' trigger, so a new delivery goes out at once rather than at the next poll. */
async function listen(core: Core, onNotify: () => void): Promise<() => Promise<void>> {
  const database = core.database;
  if (database.kind === 'pglite') {
    const unsubscribe = await database.pglite.listen(CHANNEL, onNotify);
    return async () => { await unsubscribe(); };
  }
  let client: pg.Client | null = null;
  let closed = false;
  const connect = async (): Promise<void> => {
    const c = new pg.Client({ connectionString: database.url });
    c.on('notification', onNotify);
    c.on('error', (err) => {
      core.log.warn({ err }, 'webhook notification connection lost; polling until it is back');
      c.end().catch(() => {});
      if (!closed) setTimeout(() => { connect().catch(() => {}); }, RECONNECT_MS).unref();
    });
    await c.connect();
    await c.query(`listen ${CHANNEL}`);
    client = c;
  };
  await connect();
  return async () => {
    closed = true;
    await client?.end().catch(() => {});
  };
}
