/** Reading events (PRODUCT.md §4): GET /v1/events with filters and a cursor, and one event by id. */
import { notFound } from '../domain/errors.js';
import { findEvent, listEvents, type EventFilter } from '../db/repos/events.js';
import type { Core, Tenant } from './core.js';
import { eventView } from './webhooks.js';
import { pageOf, readCursor, SeqPosition } from './cursor.js';

export async function listApplicationEvents(core: Core, tenant: Tenant, q: Omit<EventFilter, 'beforeSeq'> & { cursor?: string }) {
  const beforeSeq = q.cursor ? readCursor(core, tenant, 'events', q.cursor, SeqPosition) : undefined;
  const rows = await listEvents(core.db, tenant.application.id, { ...q, beforeSeq, limit: q.limit + 1 });
  const { page, nextCursor } = pageOf(core, tenant, 'events', rows, q.limit, (e) => e.seq);
  return { data: page.map(eventView), nextCursor };
}

export async function getEvent(core: Core, tenant: Tenant, id: string) {
  const e = await findEvent(core.db, tenant.application.id, id);
  if (!e) throw notFound('event', id);
  return eventView(e);
}
