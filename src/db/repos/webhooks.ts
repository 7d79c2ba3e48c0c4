/**
 * Webhook endpoints, deliveries and attempts. Deliveries are created by the events_fan_out trigger
 * (migration 0005) in the transaction of their event; workers claim due ones with a lease and
 * record each attempt in one statement fenced on that lease.
 *
 *   pending ──claim (lease)──► attempt ──2xx──► succeeded
 *      ▲                          └─fail──► pending, next_attempt_at later (schedule) ─► … ─► failed
 *      └── a lease that lapsed (worker killed) is claimed again
 */
import { and, desc, eq, gte, inArray, lt, lte, sql } from 'drizzle-orm';
import type { Db } from '../open.js';
import { applications, events } from '../schema.js';
import { webhookAttempts, webhookDeliveries, webhookEndpoints } from '../tables/webhooks.js';
import { appTimeSql } from './app-clock.js';
import type { EventRow } from './events.js';

export type EndpointRow = typeof webhookEndpoints.$inferSelect;
export type DeliveryRow = typeof webhookDeliveries.$inferSelect;
export type AttemptRow = typeof webhookAttempts.$inferSelect;

export async function insertEndpoint(db: Db, row: typeof webhookEndpoints.$inferInsert): Promise<EndpointRow> {
  const [created] = await db.insert(webhookEndpoints).values(row).returning();
  return created!;
}

export async function findEndpoint(db: Db, applicationId: string, id: string, opts: { forUpdate?: boolean } = {}): Promise<EndpointRow | null> {
  const q = db.select().from(webhookEndpoints).where(and(eq(webhookEndpoints.applicationId, applicationId), eq(webhookEndpoints.id, id)));
  const [row] = opts.forUpdate ? await q.for('update') : await q;
  return row ?? null;
}

export async function listEndpoints(db: Db, applicationId: string, before: string | null, limit: number): Promise<EndpointRow[]> {
  return db.select().from(webhookEndpoints)
    .where(and(eq(webhookEndpoints.applicationId, applicationId), before ? lt(webhookEndpoints.id, before) : undefined))
    .orderBy(desc(webhookEndpoints.id)).limit(limit);
}

export async function updateEndpoint(db: Db, id: string, patch: Partial<typeof webhookEndpoints.$inferInsert>): Promise<EndpointRow> {
  const [row] = await db.update(webhookEndpoints).set(patch).where(eq(webhookEndpoints.id, id)).returning();
  return row!;
}

export async function deleteEndpoint(db: Db, applicationId: string, id: string): Promise<boolean> {
  const rows = await db.delete(webhookEndpoints).where(and(eq(webhookEndpoints.applicationId, applicationId), eq(webhookEndpoints.id, id)))
    .returning({ id: webhookEndpoints.id });
  return rows.length > 0;
}

/** New deliveries of existing events to one endpoint (resend, replay, test), due now; wakes the workers. */
export async function insertDeliveries(db: Db, rows: (typeof webhookDeliveries.$inferInsert)[]): Promise<DeliveryRow[]> {
  if (rows.length === 0) return [];
  const created = await db.insert(webhookDeliveries).values(rows).returning();
  await wakeWebhookWorkers(db);
  return created;
}

/** Wakes every webhook worker (on commit): something may have fallen due, such as a test clock moved on. */
export async function wakeWebhookWorkers(db: Db): Promise<void> {
  await db.execute(sql`select pg_notify('causeway_webhooks', '')`);
}

export async function findDelivery(db: Db, applicationId: string, id: string): Promise<DeliveryRow | null> {
  const [row] = await db.select().from(webhookDeliveries).where(and(eq(webhookDeliveries.applicationId, applicationId), eq(webhookDeliveries.id, id)));
  return row ?? null;
}

export interface DeliveryFilter { status?: string; eventType?: string }

/** An endpoint's deliveries, newest first, of one outcome and one event type where asked. */
export async function listDeliveries(db: Db, endpointId: string, before: string | null, limit: number, f: DeliveryFilter = {}) {
  const rows = await db.select().from(webhookDeliveries)
    .where(and(
      eq(webhookDeliveries.endpointId, endpointId), before ? lt(webhookDeliveries.id, before) : undefined,
      f.status ? eq(webhookDeliveries.status, f.status) : undefined,
      // Each delivery's own event, by its primary key: never a scan of every application's events of that type.
      f.eventType ? sql`exists (select 1 from ${events} where ${events.id} = ${webhookDeliveries.eventId} and ${events.type} = ${f.eventType})` : undefined,
    ))
    .orderBy(desc(webhookDeliveries.id)).limit(limit);
  return withAttempts(db, rows);
}

/** The deliveries with their attempts, oldest attempt first, and their events' types. */
export async function withAttempts(db: Db, rows: DeliveryRow[]) {
  if (rows.length === 0) return [];
  const attempts = await db.select().from(webhookAttempts).where(inArray(webhookAttempts.deliveryId, rows.map((r) => r.id)))
    .orderBy(webhookAttempts.attemptedAt, webhookAttempts.id);
  const types = await db.select({ id: events.id, type: events.type }).from(events).where(inArray(events.id, [...new Set(rows.map((r) => r.eventId))]));
  const typeOf = new Map(types.map((t) => [t.id, t.type]));
  return rows.map((d) => ({ delivery: d, eventType: typeOf.get(d.eventId) ?? null, attempts: attempts.filter((a) => a.deliveryId === d.id) }));
}

/** The application's events in [from, to] that an endpoint with this filter takes, oldest first (replay). */
export async function eventsForReplay(db: Db, applicationId: string, eventTypes: string[], from: Date, to: Date, limit: number): Promise<EventRow[]> {
  return db.select().from(events).where(and(
    eq(events.applicationId, applicationId), gte(events.createdAt, from), lte(events.createdAt, to),
    sql`${events.type} <> 'webhook_endpoint.test'`,
    eventTypes.length > 0 ? inArray(events.type, eventTypes) : undefined,
  )).orderBy(events.createdAt, events.seq).limit(limit);
}

/** A claim looks at this many times its limit of the oldest due deliveries, to pick a few per endpoint among them. */
const SCAN_FACTOR = 8;

export interface Claimed { delivery: DeliveryRow; endpoint: EndpointRow; event: EventRow; clockOffsetMs: number }

/**
 * Takes up to `limit` due deliveries of enabled endpoints, skipping endpoints in `busy` (those with
 * as many in flight as one endpoint may have) and rows another worker holds. Due means on the
 * delivery's application clock (sandbox test clock); leases are on the wall clock. Each
 * application's due deliveries are read on its own clock through its slice of the
 * (application_id, next_attempt_at) index, as the scheduler's claim does: an application whose test
 * clock runs far ahead neither widens what the others' claims read nor, with its offset bounded in
 * SQL (app-clock.ts), can make the statement fail for everyone.
 */
export async function claimDueDeliveries(
  db: Db, f: { wallNow: Date; leaseUntil: Date; leaseToken: string; limit: number; perEndpoint: number; busy: string[] },
): Promise<Claimed[]> {
  const wall = f.wallNow.toISOString();
  const result = (await db.execute(sql`
    with oldest as (
      -- the oldest due first, each application's through its slice of the index, so a claim reads a bounded slice of a backlog
      select d.id, d.endpoint_id, d.next_attempt_at from applications a
      cross join lateral (
        select d.id, d.endpoint_id, d.next_attempt_at from webhook_deliveries d
        where d.application_id = a.id and d.status = 'pending'
          and d.next_attempt_at <= ${appTimeSql(f.wallNow, sql`a.clock_offset_ms`)}
          and (d.lease_until is null or d.lease_until < ${wall}::timestamptz)
          and d.endpoint_id <> all(${sql.param(f.busy)}::text[])
        order by d.next_attempt_at
        limit ${f.limit * SCAN_FACTOR}) d
      order by d.next_attempt_at
      limit ${f.limit * SCAN_FACTOR}),
    candidates as (
      select o.id, o.next_attempt_at, row_number() over (partition by o.endpoint_id order by o.next_attempt_at, o.id) as rn
      from oldest o
      join webhook_endpoints e on e.id = o.endpoint_id
      where e.enabled),
    due as (
      -- a few per endpoint in each claim, so one endpoint's backlog cannot take every slot. The
      -- status and lease are checked again here: a row another worker claimed since this
      -- statement's snapshot is re-read under the lock, and must then be passed over.
      select id from webhook_deliveries
      where id in (select id from candidates where rn <= ${f.perEndpoint} order by next_attempt_at limit ${f.limit})
        and status = 'pending' and (lease_until is null or lease_until < ${wall}::timestamptz)
      for update skip locked)
    update webhook_deliveries d set lease_until = ${f.leaseUntil.toISOString()}::timestamptz, lease_token = ${f.leaseToken}
    from due where d.id = due.id and d.status = 'pending' and (d.lease_until is null or d.lease_until < ${wall}::timestamptz)
    returning d.id`)) as { rows: { id: string }[] };
  const ids = result.rows.map((r) => r.id);
  if (ids.length === 0) return [];
  const rows = await db.select({ delivery: webhookDeliveries, endpoint: webhookEndpoints, event: events, clockOffsetMs: applications.clockOffsetMs })
    .from(webhookDeliveries)
    .innerJoin(webhookEndpoints, eq(webhookEndpoints.id, webhookDeliveries.endpointId))
    .innerJoin(applications, eq(applications.id, webhookDeliveries.applicationId))
    .innerJoin(events, eq(events.id, webhookDeliveries.eventId))
    .where(inArray(webhookDeliveries.id, ids));
  return rows;
}

export interface AttemptRecord {
  deliveryId: string;
  leaseToken: string;
  attemptId: string;
  at: Date;
  statusCode: number | null;
  durationMs: number;
  error: string | null;
  responseBody: string | null;
  /** null: delivered or given up; else when the next attempt is due. */
  nextAttemptAt: Date | null;
  delivered: boolean;
  /** Disable the endpoint for this reason (410, or failing too long). */
  disable: 'gone' | 'failing' | null;
  /** Endpoint failing since before this long ago (on the application clock) gets disabled: the cut-off instant. */
  failingCutoff: Date;
}

/**
 * Records one attempt in one statement, if the worker still holds the lease: the attempt row, the
 * delivery's new state, and the endpoint's failure run (cleared by a success; an endpoint failing
 * since before `failingCutoff`, or answering 410, is disabled, and the webhook_endpoints trigger
 * writes the webhook_endpoint.disabled event in the same statement). Answers false when the lease
 * was lost.
 */
export async function recordAttempt(db: Db, r: AttemptRecord): Promise<boolean> {
  const at = r.at.toISOString();
  const status = r.delivered ? 'succeeded' : r.nextAttemptAt ? 'pending' : 'failed';
  const cutoff = r.failingCutoff.toISOString();
  const result = (await db.execute(sql`
    with d as (
      update webhook_deliveries set status = ${status}, attempts = attempts + 1, last_status_code = ${r.statusCode}::int,
        next_attempt_at = coalesce(${r.nextAttemptAt?.toISOString() ?? null}::timestamptz, next_attempt_at),
        lease_until = null, lease_token = null, updated_at = ${at}::timestamptz
      where id = ${r.deliveryId} and lease_token = ${r.leaseToken}
      returning id, endpoint_id),
    a as (
      insert into webhook_attempts (id, delivery_id, attempted_at, status_code, duration_ms, error, response_body)
      select ${r.attemptId}, d.id, ${at}::timestamptz, ${r.statusCode}::int, ${r.durationMs}::int, ${r.error}::text, ${r.responseBody}::text from d),
    e as (
      update webhook_endpoints w set
        failing_since = case when ${r.delivered} then null else coalesce(w.failing_since, ${at}::timestamptz) end,
        enabled = case when ${r.disable}::text is not null or (not ${r.delivered} and w.failing_since < ${cutoff}::timestamptz) then false else w.enabled end,
        disabled_reason = case when not w.enabled then w.disabled_reason when ${r.disable}::text is not null then ${r.disable}::text
          when not ${r.delivered} and w.failing_since < ${cutoff}::timestamptz then 'failing' else w.disabled_reason end,
        updated_at = ${at}::timestamptz
      from d where w.id = d.endpoint_id)
    select count(*)::int as n from d`)) as { rows: { n: number }[] };
  return Number(result.rows[0]?.n) === 1;
}

/** Lets go of the leases these claims still hold (a clean stop), so another worker takes them at once. */
/**
 * Extends the leases a live worker still holds (attempts in flight): a lease lapses only when its
 * worker stops renewing it (killed, or stalled far beyond the margin), never because the machine
 * is slow, so a busy worker's attempt is not made a second time by another.
 */
export async function renewLeases(db: Db, leaseTokens: string[], leaseUntil: Date): Promise<void> {
  if (leaseTokens.length === 0) return;
  await db.update(webhookDeliveries).set({ leaseUntil })
    .where(and(inArray(webhookDeliveries.leaseToken, leaseTokens), eq(webhookDeliveries.status, 'pending')));
}

export async function releaseLeases(db: Db, leaseTokens: string[]): Promise<void> {
  if (leaseTokens.length === 0) return;
  await db.update(webhookDeliveries).set({ leaseUntil: null, leaseToken: null }).where(inArray(webhookDeliveries.leaseToken, leaseTokens));
}
