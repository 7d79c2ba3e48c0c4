/**
 * A connection's timeline (PRODUCT.md §4, issue: status changes, jobs, consent events and operations
 * in one ordered, paginated list). Newest first by default; `order=asc` reads a life from its start.
 * The cursor is the opaque position of the last entry of the page.
 */
import type { ConnectionStatus, StatusReason } from '../domain/types.js';
import type { EventRow } from '../db/repos/events.js';
import { listTimeline, type TimelinePosition, type TimelineRow } from '../db/repos/timeline.js';
import { requireConnection } from './connections.js';
import type { Core, Tenant } from './core.js';
import { jobView } from './views.js';
import { deliveryView } from './webhooks.js';
import { z } from 'zod';
import { IdPosition, pageOf, readCursor, SeqPosition } from './cursor.js';

/** A timeline position: the entry's time, its order within that time, and its id. */
const TimelineCursor = z.tuple([z.iso.datetime(), SeqPosition, IdPosition]);

const STATUS_TYPES = new Set(['connection.created', 'connection.status_changed']);

function eventEntry(e: EventRow) {
  const base = { id: e.id, at: e.createdAt.toISOString(), type: e.type, actor: e.actor };
  if (STATUS_TYPES.has(e.type)) {
    const d = e.data as { from: ConnectionStatus | null; to: ConnectionStatus; reason: StatusReason | null; previousReason: StatusReason | null };
    return { ...base, kind: 'status_change' as const, from: d.from, to: d.to, reason: d.reason, previousReason: d.previousReason };
  }
  const d = e.data as Record<string, string | null>;
  if (e.type.startsWith('consent.') || e.type.startsWith('access.')) { // access.*: a web login's access, as user_expiring's
    return { ...base, kind: 'consent' as const, grantedAt: d.grantedAt ?? null, expiresAt: d.expiresAt ?? null };
  }
  return { ...base, kind: 'operation' as const, data: e.data };
}

function entryView(r: TimelineRow) {
  if (r.source === 'event') return eventEntry(r.event);
  if (r.source === 'delivery') {
    const d = r.delivery.delivery;
    return { id: d.id, at: d.createdAt.toISOString(), type: 'webhook.delivery', actor: null, kind: 'webhook_delivery' as const, delivery: deliveryView(r.delivery) };
  }
  return { id: r.job.id, at: r.job.createdAt.toISOString(), type: `job.${r.job.type}`, actor: null, kind: 'job' as const, job: jobView(r.job) };
}

export async function connectionTimeline(
  core: Core, tenant: Tenant, userId: string, connectionId: string, q: { cursor: string | null; limit: number; order: 'asc' | 'desc' },
) {
  const c = await requireConnection(core, tenant, userId, connectionId);
  const cursor = q.cursor ? readCursor(core, tenant, 'timeline', q.cursor, TimelineCursor) : null;
  const after: TimelinePosition | null = cursor ? { at: new Date(cursor[0]), seq: cursor[1], id: cursor[2] } : null;
  const rows = await listTimeline(core.db, tenant.application.id, c.id, { after, order: q.order, limit: q.limit + 1 });
  const { page, nextCursor } = pageOf(core, tenant, 'timeline', rows, q.limit, (r) => [r.position.at.toISOString(), r.position.seq, r.position.id]);
  return { data: page.map(entryView), nextCursor };
}
