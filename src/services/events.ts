/** Reading events (PRODUCT.md §4): GET /v1/events with filters and a cursor, and one event by id. */
import { AppError, notFound } from '../domain/errors.js';
import { findEvent, listEvents, type EventFilter } from '../db/repos/events.js';
import type { Core, Tenant } from './core.js';
import { eventView } from './webhooks.js';

function decodeCursor(cursor: string): number {
  const seq = Number(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!Number.isSafeInteger(seq) || seq <= 0) {
    throw new AppError('invalid_cursor', 'The cursor is not one this list gave out. Pass the nextCursor of the previous page, unchanged.',
      { errors: [{ field: 'querystring.cursor', message: 'not an events cursor' }] });
  }
  return seq;
}

export async function listApplicationEvents(core: Core, tenant: Tenant, q: Omit<EventFilter, 'beforeSeq'> & { cursor?: string }) {
  const rows = await listEvents(core.db, tenant.application.id, { ...q, beforeSeq: q.cursor ? decodeCursor(q.cursor) : undefined, limit: q.limit + 1 });
  const page = rows.slice(0, q.limit);
  return {
    data: page.map(eventView),
    nextCursor: rows.length > q.limit ? Buffer.from(String(page[page.length - 1]!.seq)).toString('base64url') : null,
  };
}

export async function getEvent(core: Core, tenant: Tenant, id: string) {
  const e = await findEvent(core.db, tenant.application.id, id);
  if (!e) throw notFound('event', id);
  return eventView(e);
}
