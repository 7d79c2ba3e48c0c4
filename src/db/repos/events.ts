/**
 * Events (PRODUCT.md §4): written inside the transaction of the change they record, never updated.
 * Status changes are written by a trigger (schema.ts, `events`); this file writes the rest.
 */
import { newId } from '../../domain/ids.js';
import type { Db } from '../open.js';
import { events } from '../schema.js';

export type EventRow = typeof events.$inferSelect;

export interface NewEvent {
  applicationId: string;
  userId: string;
  connectionId: string | null;
  type: string;
  data: Record<string, unknown>;
  actor: string | null;
  at: Date;
}

export async function insertEvent(db: Db, e: NewEvent): Promise<void> {
  await db.insert(events).values({
    id: newId('evt', e.at.getTime()), applicationId: e.applicationId, userId: e.userId, connectionId: e.connectionId,
    type: e.type, data: e.data, actor: e.actor, createdAt: e.at,
  });
}

/** The event for something done to a connection, by whom. */
export function connectionEvent(
  c: { applicationId: string; userId: string; id: string }, type: string, data: Record<string, unknown>, actor: string | null, at: Date,
): NewEvent {
  return { applicationId: c.applicationId, userId: c.userId, connectionId: c.id, type, data, actor, at };
}
