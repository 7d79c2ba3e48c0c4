/**
 * Webhook endpoints, deliveries and attempts. Deliveries are created by the events_fan_out trigger
 * (migration 0005) in the transaction of their event; workers claim due ones with a lease and
 * record each attempt in one statement fenced on that lease.
 *
 *   pending ──claim (lease)──► attempt ──2xx──► succeeded
 *      ▲                          └─fail──► pending, next_attempt_at later (schedule) ─► … ─► failed
 *      └── a lease that lapsed (worker killed) is claimed again
 */
import { and, desc, eq, gte, inArray, lt, lte, sql, type SQL } from 'drizzle-orm';
import type { Db } from '../open.js';
import { events } from '../schema.js';
import { webhookAttempts, webhookDeliveries, webhookEndpoints } from '../tables/webhooks.js';
import { appTimeSql } from './app-clock.js';
import type { EventRow } from './events.js';
import { filterOnly, opaque } from '../predicates.js';

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

/** What an attempt needs of a claimed delivery: its endpoint's address and secrets, its event, its application's clock. */
export interface Claimed {
  delivery: Pick<DeliveryRow, 'id' | 'attempts' | 'createdAt' | 'nextAttemptAt'>;
  endpoint: Pick<EndpointRow, 'id' | 'url' | 'secretEnc' | 'previousSecretEnc' | 'previousSecretExpiresAt'>;
  event: EventRow;
  clockOffsetMs: number;
}

/** Still to be sent, for a delivery found by its id (predicates.ts says why not plain `status = 'pending'`). */
const unfinished = (status: SQL) => filterOnly(sql`${status} = 'pending'`);

/** Instants leave the claim as epoch milliseconds (float8): one cheap number on both drivers. */
const ms = (column: SQL) => sql`(extract(epoch from ${column}) * 1000)::float8`;
const date = (v: number | null) => (v === null ? null : new Date(v));

interface ClaimRow {
  id: string; attempts: number; created_ms: number; due_ms: number;
  endpoint_id: string; url: string; secret_enc: string; previous_secret_enc: string | null; previous_expires_ms: number | null;
  event_id: string; seq: number; application_id: string; user_id: string | null; connection_id: string | null; type: string;
  data: Record<string, unknown>; actor: string | null; event_ms: number; clock_offset_ms: number;
}

/**
 * Takes up to `limit` due deliveries of enabled endpoints, skipping endpoints in `busy` (those with
 * as many in flight as one endpoint may have) and rows another worker holds, and answers them with
 * what their attempts need, oldest due first, in one statement. Due means on the delivery's
 * application clock (sandbox test clock); leases are on the wall clock. Each application's due
 * deliveries are read on its own clock through its slice of the (application_id, next_attempt_at)
 * index, as the scheduler's claim does: an application whose test clock runs far ahead neither
 * widens what the others' claims read nor, with its offset bounded in SQL (app-clock.ts), can make
 * the statement fail for everyone.
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
      -- statement's snapshot is re-read under the lock, and must then be passed over. (Ids go
      -- as arrays, so the rows are found through the primary key, never by a scan of the table.)
      select id from webhook_deliveries
      where id = any(array(select id from candidates where rn <= ${f.perEndpoint} order by next_attempt_at limit ${f.limit}))
        and ${unfinished(sql`status`)} and (lease_until is null or lease_until < ${wall}::timestamptz)
      for update skip locked),
    claimed as (
      update webhook_deliveries d set lease_until = ${f.leaseUntil.toISOString()}::timestamptz, lease_token = ${f.leaseToken}
      where d.id = any(array(select id from due)) and ${unfinished(sql`d.status`)} and (d.lease_until is null or d.lease_until < ${wall}::timestamptz)
      returning d.id, d.application_id, d.endpoint_id, d.event_id, d.attempts, d.created_at, d.next_attempt_at)
    select c.id, c.attempts, ${ms(sql`c.created_at`)} as created_ms, ${ms(sql`c.next_attempt_at`)} as due_ms,
      e.id as endpoint_id, e.url, e.secret_enc, e.previous_secret_enc, ${ms(sql`e.previous_secret_expires_at`)} as previous_expires_ms,
      ev.id as event_id, ev.seq::float8 as seq, ev.application_id, ev.user_id, ev.connection_id, ev.type, ev.data, ev.actor,
      ${ms(sql`ev.created_at`)} as event_ms, a.clock_offset_ms::float8 as clock_offset_ms
    from claimed c
    join webhook_endpoints e on e.id = c.endpoint_id
    join applications a on a.id = c.application_id
    join events ev on ev.id = c.event_id
    order by c.next_attempt_at, c.id`)) as { rows: ClaimRow[] };
  return result.rows.map((r) => ({
    delivery: { id: r.id, attempts: Number(r.attempts), createdAt: new Date(Number(r.created_ms)), nextAttemptAt: new Date(Number(r.due_ms)) },
    endpoint: {
      id: r.endpoint_id, url: r.url, secretEnc: r.secret_enc, previousSecretEnc: r.previous_secret_enc,
      previousSecretExpiresAt: date(r.previous_expires_ms === null ? null : Number(r.previous_expires_ms)),
    },
    event: {
      id: r.event_id, seq: Number(r.seq), applicationId: r.application_id, userId: r.user_id, connectionId: r.connection_id, type: r.type,
      data: typeof r.data === 'string' ? JSON.parse(r.data) as Record<string, unknown> : r.data, actor: r.actor, createdAt: new Date(Number(r.event_ms)),
    },
    clockOffsetMs: Number(r.clock_offset_ms),
  }));
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
 * Records a batch of attempts (one worker's, made at about the same time) in one statement, each
 * fenced on its lease: an attempt whose worker no longer holds the lease is not recorded. For each
 * recorded one: its attempt row and its delivery's new state. For each endpoint among them, its
 * failure run, as if its attempts had been recorded one by one in the order they were made: the run
 * is cleared by a success and starts at the first failure after the last success; a failure while
 * the run began before that attempt's `failingCutoff`, or a 410, disables the endpoint (and the
 * webhook_endpoints trigger writes the webhook_endpoint.disabled event in the same statement).
 * A healthy endpoint's successes neither lock nor write its row, so the attempts of one endpoint
 * never queue on its row lock (a failure another worker records meanwhile is cleared by the next
 * success that sees it); the rows that may change are locked in id order, so two workers' batches
 * cannot deadlock on them, and written only when they do change. Answers the ids recorded.
 */
export async function recordAttempts(db: Db, records: AttemptRecord[]): Promise<Set<string>> {
  if (records.length === 0) return new Set();
  const input = JSON.stringify(records.map((r) => ({
    delivery_id: r.deliveryId, lease_token: r.leaseToken, attempt_id: r.attemptId, at: r.at.toISOString(), status_code: r.statusCode,
    duration_ms: r.durationMs, error: r.error, response_body: r.responseBody, next_attempt_at: r.nextAttemptAt?.toISOString() ?? null,
    delivered: r.delivered, disable: r.disable, failing_cutoff: r.failingCutoff.toISOString(),
  })));
  const result = (await db.execute(sql`
    with input as (
      select * from jsonb_to_recordset(${input}::jsonb) as x(delivery_id text, lease_token text, attempt_id text, at timestamptz,
        status_code int, duration_ms int, error text, response_body text, next_attempt_at timestamptz, delivered boolean, disable text,
        failing_cutoff timestamptz)),
    d as (
      update webhook_deliveries w set
        status = case when i.delivered then 'succeeded' when i.next_attempt_at is not null then 'pending' else 'failed' end,
        attempts = w.attempts + 1, last_status_code = i.status_code, next_attempt_at = coalesce(i.next_attempt_at, w.next_attempt_at),
        lease_until = null, lease_token = null, updated_at = i.at
      -- the ids again as an array, so the rows are found through the primary key, never by a scan
      from input i where w.id = any(${sql.param(records.map((r) => r.deliveryId))}::text[]) and w.id = i.delivery_id and w.lease_token = i.lease_token
      returning w.id, w.endpoint_id),
    a as (
      insert into webhook_attempts (id, delivery_id, attempted_at, status_code, duration_ms, error, response_body)
      select i.attempt_id, i.delivery_id, i.at, i.status_code, i.duration_ms, i.error, i.response_body from input i join d on d.id = i.delivery_id),
    made as (
      select d.endpoint_id, i.at, i.delivered, i.disable, i.failing_cutoff,
        max(i.at) filter (where i.delivered) over (partition by d.endpoint_id) as last_ok,
        min(i.at) filter (where i.delivered) over (partition by d.endpoint_id) as first_ok
      from d join input i on i.delivery_id = d.id),
    run as (
      -- per endpoint: when the run of failures still open after this batch began in it, whether a
      -- failure before the batch's first success could have disabled it, and any 410
      select endpoint_id, max(at) as at, bool_or(delivered) as any_ok,
        min(at) filter (where not delivered and (last_ok is null or at > last_ok)) as failing_from,
        max(failing_cutoff) filter (where not delivered and (first_ok is null or at < first_ok)) as cutoff,
        bool_or(disable = 'gone') as gone
      from made group by endpoint_id),
    next as (
      -- the endpoints whose state may change (not a healthy one's successes), as they are once
      -- locked: a row another worker changed since this statement's snapshot is read again
      select e.id, r.at, coalesce(r.gone, false) as gone, coalesce(e.failing_since < r.cutoff, false) as too_long,
        case when r.failing_from is null then null when r.any_ok then r.failing_from else coalesce(e.failing_since, r.failing_from) end as failing_since
      from run r join webhook_endpoints e on e.id = r.endpoint_id
      where e.failing_since is not null or r.failing_from is not null or r.gone
      order by e.id for no key update of e),
    e as (
      update webhook_endpoints w set
        failing_since = n.failing_since,
        enabled = w.enabled and not (n.gone or n.too_long),
        disabled_reason = case when not w.enabled then w.disabled_reason when n.gone then 'gone' when n.too_long then 'failing' else w.disabled_reason end,
        updated_at = n.at
      from next n where w.id = n.id
        and (n.failing_since is distinct from w.failing_since or (w.enabled and (n.gone or n.too_long))))
    select id from d`)) as { rows: { id: string }[] };
  return new Set(result.rows.map((r) => r.id));
}

/**
 * Extends the leases a live worker still holds (claimed, in flight or answered and not yet
 * recorded): a lease lapses only when its worker stops renewing it (killed, or stalled far beyond
 * the margin), never because the machine is slow, so a busy worker's attempt is not made a second
 * time by another. Each delivery is found by its id and renewed only while its token is still the
 * holder's (recording an attempt clears it). By id, not by token: no index holds the token, and a
 * search by token read the whole table, history and all, every RENEW_MS.
 *
 * It never waits for a row lock: a delivery locked now is being recorded (which ends its lease) or
 * claimed by another worker (whose lease it then is), so it is passed over, and the next renewal,
 * well inside the margin, finds it again if it is still held. Waiting instead deadlocked with the
 * recorder, which locks a batch's rows in its own order: the deadlock check (1 s) stalled both, and
 * one of them failed.
 */
export async function renewLeases(db: Db, held: { id: string; leaseToken: string }[], leaseUntil: Date): Promise<void> {
  if (held.length === 0) return;
  await db.execute(sql`
    with held as materialized (
      select d.id from webhook_deliveries d
      join unnest(${opaque(held.map((h) => h.id), 'text[]')}, ${opaque(held.map((h) => h.leaseToken), 'text[]')}) as h(id, lease_token)
        on d.id = h.id and d.lease_token = h.lease_token
      where d.id = any(${sql.param(held.map((h) => h.id))}::text[])
      for no key update of d skip locked)
    update webhook_deliveries d set lease_until = ${leaseUntil.toISOString()}::timestamptz
    where d.id = any(array(select id from held))`);
}

/** Lets go of these deliveries' leases if still held under these tokens (claimed, not sent), so another worker takes them at once. */
export async function releaseLeases(db: Db, held: { id: string; leaseToken: string }[]): Promise<void> {
  if (held.length === 0) return;
  await db.execute(sql`
    update webhook_deliveries d set lease_until = null, lease_token = null
    from unnest(${opaque(held.map((h) => h.id), 'text[]')}, ${opaque(held.map((h) => h.leaseToken), 'text[]')}) as h(id, lease_token)
    where d.id = h.id and d.lease_token = h.lease_token`);
}
