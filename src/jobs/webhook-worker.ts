/**
 * The webhook delivery worker: claims due deliveries, sends them signed (Standard Webhooks), and
 * records every attempt. Several worker processes share the work through leases.
 *
 *   wake (NOTIFY from the events' trigger, an attempt ending, or the poll)
 *     ─► claim (one statement, a few per endpoint, up to two rounds of slots ahead) ─► ready queue
 *     ─► a free slot: sign ─► POST (15 s limit) ─► slot free ─► recorder ─► lease let go
 *   recorder: the answers that came in while the last statement ran, in one statement (group commit)
 *
 * Three stages overlap, so none waits on another's round trip: the next claim is in hand when a slot
 * frees, and a slot frees when its answer arrives, not when the answer is written. Every delivery
 * stays leased to this worker (the lease renewed every RENEW_MS) from its claim until its attempt
 * is recorded, so no other worker sends it meanwhile; a worker killed at any point leaves its leases
 * to lapse, and another then makes those attempts again, with the same webhook-id (the event id), so
 * receivers can deduplicate. CAUSEWAY_WEBHOOK_CONCURRENCY bounds the POSTs in flight; a slow or
 * hanging endpoint holds at most PER_ENDPOINT (+ one claim's PER_ENDPOINT_CLAIM) of this process's
 * deliveries, so it never delays the others.
 */
import { randomUUID } from 'node:crypto';
import { offsetClock } from '../domain/clock.js';
import { newId } from '../domain/ids.js';
import { DISABLE_AFTER_FAILING_MS, isDelivered, isGone, nextAttemptDelayMs } from '../domain/webhooks.js';
import { claimDueDeliveries, recordAttempts, releaseLeases, renewLeases, type AttemptRecord, type Claimed } from '../db/repos/webhooks.js';
import type { Core } from '../services/core.js';
import { eventPayload, webhookSigner } from '../services/webhooks.js';
import { sendWebhook } from './webhook-http.js';
import { listen } from '../db/listen.js';
import { retryOnConflict } from '../db/transaction.js';
import { recordWebhookAttempt, recordWebhookClaim } from '../metrics.js';

/** Deliveries one endpoint may hold in this process (waiting, in flight or being recorded). */
const PER_ENDPOINT = 8;
/** Deliveries of one endpoint taken in a single claim. */
const PER_ENDPOINT_CLAIM = 4;
/**
 * Claimed and not yet sent, plus in flight: up to this many rounds of slots. While busy, the worker
 * claims again once a whole round can be taken, so a claim is large (its cost is mostly per
 * statement: at 16 rows a claim cost 3× per delivery what it costs at 128) and one round still
 * waits ready while it runs; with a slot free and nothing ready, it claims at once whatever is due.
 */
const AHEAD = 3;
/** Held in all (also answered and not yet recorded): this many rounds of slots. Past it the worker claims no more until the recorder catches up. */
const HOLD = 6;
/**
 * Embedded (PGlite runs each statement on this thread, and a POST's time limit runs meanwhile): no
 * claims ahead, and a claim once this many slots are free, so no statement grows large enough to
 * hold up the answers of the attempts in flight.
 */
const EMBEDDED_MIN_CLAIM = 16;
/** Attempts recorded in one statement at most. */
const RECORD_BATCH = 256;
/** How often the worker looks for due deliveries when nothing wakes it (retries falling due, test clocks moving). */
const POLL_MS = 250;
/** A lease outlives the longest attempt by this much. */
const LEASE_MARGIN_MS = 5_000;
/** While deliveries are held their leases are renewed this often (well inside the margin). */
const RENEW_MS = 2_000;
const CHANNEL = 'causeway_webhooks';

export interface WebhookWorker { stop(): Promise<void>; wake(): void }

/** A claimed delivery, with its body (made once per event in a claim: a burst sends one event to many endpoints). */
interface Held { c: Claimed; leaseToken: string; payload: string }

export async function startWebhookWorker(core: Core): Promise<WebhookWorker> {
  const capacity = core.config.webhookConcurrency;
  const timeoutMs = core.config.webhookTimeoutSeconds * 1000;
  const embedded = core.database.kind === 'pglite';
  const ahead = embedded ? 1 : AHEAD;
  const minClaim = embedded ? Math.min(EMBEDDED_MIN_CLAIM, capacity) : capacity;
  const recorder = attemptRecorder(core);
  const sign = webhookSigner(core);
  const ready: Held[] = [];
  /** Deliveries held per endpoint, and each held one's lease token (its claim's), from claim to record. */
  const byEndpoint = new Map<string, number>();
  const holding = new Map<string, string>();
  let held = 0;
  let sending = 0;
  let stopped = false;
  let wakeUp: (() => void) | null = null;
  const wake = () => { const w = wakeUp; wakeUp = null; w?.(); };
  /**
   * Whether deliveries may be due that this worker has not tried to claim: set by a notification, the
   * poll and a claim that may have left some behind (full, or held back by room or an endpoint's
   * share); cleared by a claim that took all it found. An attempt ending wakes the loop to claim
   * into the room it frees only while this is set, so a quiet worker makes one claim a delivery,
   * not a claim that finds it and then two more that find nothing.
   */
  let mayBeDue = true;
  /** Notifications and polls so far: one that comes while a claim runs (a row its snapshot missed) has the loop claim again at once. */
  let signals = 0;
  const due = () => { mayBeDue = true; signals++; wake(); };
  // The events' trigger NOTIFYs: a new delivery goes out at once rather than at the next poll.
  const unlisten = await listen(core.database, CHANNEL, due, (err) => core.log.warn({ err }, 'webhook notification connection lost; polling until it is back'));
  const running = new Set<Promise<void>>();

  const count = (m: Map<string, number>, key: string, by: number) => {
    const n = (m.get(key) ?? 0) + by;
    if (n === 0) m.delete(key); else m.set(key, n);
  };
  const letGo = (h: Held) => {
    held--;
    count(byEndpoint, h.c.endpoint.id, -1);
    holding.delete(h.c.delivery.id);
  };

  /** Sign and POST; answers what to record. */
  async function send({ c, leaseToken, payload }: Held): Promise<AttemptRecord> {
    const clock = offsetClock(core.clock, c.clockOffsetMs);
    const sentAt = core.clock.now(); // webhook-timestamp is real time: receivers check it against theirs
    const result = await sendWebhook(c.endpoint.url, {
      'webhook-id': c.event.id,
      'webhook-timestamp': String(Math.floor(sentAt.getTime() / 1000)),
      'webhook-signature': sign(c.endpoint, clock.now(), c.event.id, sentAt, payload),
    }, payload, { timeoutMs, allowPrivate: core.config.allowPrivateAddresses });
    const now = clock.now();
    const delivered = isDelivered(result.statusCode) && !result.error;
    // Latency from the delivery's creation (the event's commit; for a resend or replay, its request),
    // on the application's clock as that time is: an old event sent again is not a week of latency.
    recordWebhookAttempt(delivered ? 'delivered' : isGone(result.statusCode) ? 'gone' : 'failed', result.durationMs, now.getTime() - c.delivery.createdAt.getTime());
    const made = c.delivery.attempts + 1;
    const delay = delivered || isGone(result.statusCode) ? null : nextAttemptDelayMs(made, result.retryAfterSeconds, Math.random());
    return {
      deliveryId: c.delivery.id, leaseToken, attemptId: newId('wha', now.getTime()), at: now, statusCode: result.statusCode,
      durationMs: result.durationMs, error: result.error, responseBody: result.body,
      nextAttemptAt: delay === null ? null : new Date(now.getTime() + delay), delivered,
      disable: isGone(result.statusCode) ? 'gone' : null, failingCutoff: new Date(now.getTime() - DISABLE_AFTER_FAILING_MS),
    };
  }

  /** Starts what is ready while slots are free: each slot frees when its answer arrives. */
  function pump(): void {
    while (!stopped && sending < capacity && ready.length > 0) {
      const h = ready.shift()!;
      sending++;
      const p = (async () => {
        let record: AttemptRecord;
        try {
          record = await send(h);
        } finally {
          sending--;
          pump();
        }
        await recorder.record(record);
      })()
        .catch((err) => core.log.warn({ err, deliveryId: h.c.delivery.id }, 'webhook attempt not recorded; its lease will lapse and it is tried again'))
        .finally(() => {
          letGo(h);
          running.delete(p);
          wake();
        });
      running.add(p);
    }
  }

  /** Claims what is due into the room there is; answers how many, and whether it may have left some due behind. */
  async function claim(): Promise<{ got: number; leftSome: boolean }> {
    const room = Math.min(capacity * ahead - ready.length - sending, capacity * HOLD - held);
    const starving = !embedded && sending < capacity && ready.length === 0;
    if (room <= 0 || (held > 0 && !starving && room < minClaim)) return { got: 0, leftSome: true };
    const leaseToken = randomUUID();
    const wallNow = core.clock.now();
    const busy = [...byEndpoint].filter(([, n]) => n >= PER_ENDPOINT).map(([id]) => id);
    const claimed = await claimDueDeliveries(core.db, {
      wallNow, leaseUntil: new Date(wallNow.getTime() + timeoutMs + LEASE_MARGIN_MS), leaseToken, limit: room,
      perEndpoint: PER_ENDPOINT_CLAIM, busy,
    });
    recordWebhookClaim(claimed.length);
    const bodies = new Map<string, string>();
    const perEndpoint = new Map<string, number>();
    for (const c of claimed) {
      let payload = bodies.get(c.event.id);
      if (payload === undefined) bodies.set(c.event.id, payload = eventPayload(c.event));
      held++;
      count(byEndpoint, c.endpoint.id, 1);
      count(perEndpoint, c.endpoint.id, 1);
      holding.set(c.delivery.id, leaseToken);
      ready.push({ c, leaseToken, payload });
    }
    pump();
    // Left behind: more than the room, more of an endpoint than one claim takes, or a busy endpoint's.
    const leftSome = claimed.length >= room || busy.length > 0 || [...perEndpoint.values()].some((n) => n >= PER_ENDPOINT_CLAIM);
    return { got: claimed.length, leftSome };
  }

  // A slow machine must not let a held delivery's lease lapse (another worker would send it again).
  const renewer = setInterval(() => {
    if (holding.size === 0) return;
    renewLeases(core.db, [...holding].map(([id, leaseToken]) => ({ id, leaseToken })), new Date(core.clock.now().getTime() + timeoutMs + LEASE_MARGIN_MS))
      .catch((err) => core.log.warn({ err }, 'renewing webhook leases failed; they lapse at their time'));
  }, RENEW_MS);
  renewer.unref();

  /** When the poll falls due (monotonic ms): POLL_MS after the last claim, however often attempts ending wake the loop meanwhile. */
  let pollAt = 0;
  const loop = (async () => {
    while (!stopped) {
      if (mayBeDue) {
        // Cleared before the statement: a notification while it runs sets it again.
        mayBeDue = false;
        pollAt = performance.now() + POLL_MS;
        const seen = signals;
        let again = false;
        try {
          const r = await claim();
          if (r.leftSome) mayBeDue = true;
          again = r.got > 0 && r.leftSome; // more may be due, and there may be room for it
        } catch (err) {
          mayBeDue = true;
          core.log.warn({ err }, 'claiming webhook deliveries failed');
        }
        if (again || signals !== seen) continue;
      }
      // Until a notification, the poll, or an attempt ending (room freed) wakes it.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => { mayBeDue = true; resolve(); }, Math.max(0, pollAt - performance.now()));
        wakeUp = () => { clearTimeout(timer); resolve(); };
      });
    }
  })();

  return {
    wake: due,
    async stop() {
      stopped = true;
      wake();
      await loop;
      clearInterval(renewer);
      // What was claimed and not sent is let go at once, for another worker; what is in flight finishes and is recorded.
      const unsent = ready.splice(0);
      await Promise.allSettled([...running]);
      await unlisten();
      await releaseLeases(core.db, unsent.map((h) => ({ id: h.c.delivery.id, leaseToken: h.leaseToken }))).catch(() => {});
      unsent.forEach(letGo);
    },
  };
}

/**
 * Group commit for attempts: the answers that arrive while one statement records the previous ones
 * are recorded together by the next, so a burst costs a statement per batch, not per delivery, and a
 * lone answer is recorded at once. Each attempt's promise settles when its statement has committed
 * (or failed); until then its lease keeps it from any other worker.
 */
function attemptRecorder(core: Core) {
  const waiting: { record: AttemptRecord; settle: (err?: unknown) => void }[] = [];
  let flushing = false;
  const write = async (batch: AttemptRecord[]): Promise<void> => {
    // One statement, so a deadlock or serialization failure (a lapsed lease's row recorded by two
    // workers at once) rolls it back whole, and it runs again as it was, answers and all.
    try {
      await retryOnConflict(() => recordAttempts(core.db, batch));
    } catch (err) {
      // Whatever an answer held that the database refused, the attempts themselves must count, or they would be made forever.
      core.log.warn({ err, deliveryIds: batch.map((r) => r.deliveryId) }, 'webhook attempts recorded without their answers');
      await retryOnConflict(() => recordAttempts(core.db, batch.map((r) => ({ ...r, responseBody: null, error: r.error ? r.error.slice(0, 200) : null }))));
    }
  };
  const flush = async (): Promise<void> => {
    if (flushing) return;
    flushing = true;
    while (waiting.length > 0) {
      const batch = waiting.splice(0, RECORD_BATCH);
      const err = await write(batch.map((w) => w.record)).then(() => undefined, (e: unknown) => e ?? new Error('not recorded'));
      for (const w of batch) w.settle(err);
    }
    flushing = false;
  };
  return {
    record(record: AttemptRecord): Promise<void> {
      return new Promise((resolve, reject) => {
        waiting.push({ record, settle: (err) => (err ? reject(err) : resolve()) });
        void flush();
      });
    },
  };
}
