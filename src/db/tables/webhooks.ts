/** Webhook endpoints, their deliveries and every attempt (PRODUCT.md §4). */
import { sql } from 'drizzle-orm';
import { boolean, index, integer, pgTable, text } from 'drizzle-orm/pg-core';
import { ts } from '../columns.js';
import { applications } from '../schema.js';

/**
 * Webhook endpoints (PRODUCT.md §4). The signing secret is encrypted at rest; during a rotation the
 * previous one stays until `previousSecretExpiresAt`, and both sign every delivery meanwhile.
 */
export const webhookEndpoints = pgTable('webhook_endpoints', {
  id: text('id').primaryKey(),
  applicationId: text('application_id').notNull().references(() => applications.id, { onDelete: 'cascade' }),
  url: text('url').notNull(),
  description: text('description'),
  /** Event types delivered here; empty means every type. */
  eventTypes: text('event_types').array().notNull(),
  enabled: boolean('enabled').notNull().default(true),
  /** Why Causeway switched it off: `gone` (the receiver answered 410) or `failing` (5 days of failures). */
  disabledReason: text('disabled_reason'),
  secretEnc: text('secret_enc').notNull(),
  previousSecretEnc: text('previous_secret_enc'),
  previousSecretExpiresAt: ts('previous_secret_expires_at'),
  /** When the current run of failed attempts began; cleared by a success. */
  failingSince: ts('failing_since'),
  createdAt: ts('created_at').notNull(),
  updatedAt: ts('updated_at').notNull(),
}, (t) => [index('webhook_endpoints_app_idx').on(t.applicationId, t.id)]);

/**
 * One event to one endpoint. Created with the event, in its transaction (trigger in migration
 * 0005), so no event is ever lost between commit and delivery. The `webhook-id` header is the
 * event id: the same on every retry, resend and replay.
 */
export const webhookDeliveries = pgTable('webhook_deliveries', {
  id: text('id').primaryKey(),
  applicationId: text('application_id').notNull(),
  endpointId: text('endpoint_id').notNull().references(() => webhookEndpoints.id, { onDelete: 'cascade' }),
  eventId: text('event_id').notNull(),
  connectionId: text('connection_id'),
  /** `pending` (waiting or in flight), `succeeded`, `failed` (gave up). */
  status: text('status').notNull(),
  /** `event`, `resend`, `replay` or `test`. */
  trigger: text('trigger').notNull(),
  attempts: integer('attempts').notNull().default(0),
  /** When the next attempt is due, on the application's clock. */
  nextAttemptAt: ts('next_attempt_at').notNull(),
  /** A worker that took the delivery holds it until then (wall clock); a killed worker's lapses. */
  leaseUntil: ts('lease_until'),
  /** Fences a worker whose lease lapsed: only the holder of the current token may record the attempt. */
  leaseToken: text('lease_token'),
  lastStatusCode: integer('last_status_code'),
  createdAt: ts('created_at').notNull(),
  updatedAt: ts('updated_at').notNull(),
}, (t) => [
  // The claim takes each application's due deliveries on its own clock, through this index (as the
  // scheduler does through refresh_schedule's), so no application's clock decides what another's claim reads.
  index('webhook_deliveries_app_due_idx').on(t.applicationId, t.nextAttemptAt).where(sql`${t.status} = 'pending'`),
  index('webhook_deliveries_endpoint_idx').on(t.endpointId, t.id),
  index('webhook_deliveries_connection_idx').on(t.connectionId, t.createdAt),
]);

/** Every attempt of a delivery: when, the answer's status, how long, what went wrong, the start of the body. */
export const webhookAttempts = pgTable('webhook_attempts', {
  id: text('id').primaryKey(),
  deliveryId: text('delivery_id').notNull().references(() => webhookDeliveries.id, { onDelete: 'cascade' }),
  attemptedAt: ts('attempted_at').notNull(),
  statusCode: integer('status_code'),
  durationMs: integer('duration_ms').notNull(),
  error: text('error'),
  /** The first 1 KB of the response body. */
  responseBody: text('response_body'),
}, (t) => [index('webhook_attempts_delivery_idx').on(t.deliveryId, t.attemptedAt)]);
