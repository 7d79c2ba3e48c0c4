/**
 * Events (PRODUCT.md §4): written inside the transaction of the change they record, never updated.
 * Status changes are written by a trigger (schema.ts, `events`); this file writes the rest.
 */
import { and, desc, eq, gte, inArray, lt, lte } from 'drizzle-orm';
import { newId } from '../../domain/ids.js';
import type { Db } from '../open.js';
import { events } from '../schema.js';

export type EventRow = typeof events.$inferSelect;

export interface NewEvent {
  /** Given when the caller needs it before the insert; otherwise made from `at`. */
  id?: string;
  applicationId: string;
  userId: string | null;
  connectionId: string | null;
  type: string;
  data: Record<string, unknown>;
  actor: string | null;
  at: Date;
}

export async function insertEvent(db: Db, e: NewEvent): Promise<void> {
  await db.insert(events).values({
    id: e.id ?? newId('evt', e.at.getTime()), applicationId: e.applicationId, userId: e.userId, connectionId: e.connectionId,
    type: e.type, data: e.data, actor: e.actor, createdAt: e.at,
  });
}

/** The event for something done to a connection, by whom. */
export function connectionEvent(
  c: { applicationId: string; userId: string; id: string }, type: string, data: Record<string, unknown>, actor: string | null, at: Date,
): NewEvent {
  return { applicationId: c.applicationId, userId: c.userId, connectionId: c.id, type, data, actor, at };
}

export interface EventFilter {
  types?: string[];
  userId?: string;
  connectionId?: string;
  from?: Date;
  to?: Date;
  /** Keyset: events recorded before this one (seq). */
  beforeSeq?: number;
  limit: number;
}

/** The application's events, newest recorded first. */
export async function listEvents(db: Db, applicationId: string, f: EventFilter): Promise<EventRow[]> {
  return db.select().from(events).where(and(
    eq(events.applicationId, applicationId),
    f.types && f.types.length > 0 ? inArray(events.type, f.types) : undefined,
    f.userId ? eq(events.userId, f.userId) : undefined,
    f.connectionId ? eq(events.connectionId, f.connectionId) : undefined,
    f.from ? gte(events.createdAt, f.from) : undefined,
    f.to ? lte(events.createdAt, f.to) : undefined,
    f.beforeSeq !== undefined ? lt(events.seq, f.beforeSeq) : undefined,
  )).orderBy(desc(events.seq)).limit(f.limit);
}

export async function findEvent(db: Db, applicationId: string, id: string): Promise<EventRow | null> {
  const [row] = await db.select().from(events).where(and(eq(events.applicationId, applicationId), eq(events.id, id)));
  return row ?? null;
}
