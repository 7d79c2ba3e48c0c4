/**
 * A connection's timeline (PRODUCT.md §4): its events (status changes, consent, operations) and its
 * jobs, in one keyset-paginated list. The position of an entry is (at, seq, id): events written in
 * the same millisecond keep their write order (seq), and a job sorts after the events of its
 * millisecond (the operation that started it, and the status change it made, come first).
 */
import { and, eq, inArray, sql } from 'drizzle-orm';
import type { Db } from '../open.js';
import { events, jobs } from '../schema.js';
import type { EventRow } from './events.js';
import type { JobRow } from './jobs.js';

export interface TimelinePosition { at: Date; seq: number; id: string }

export type TimelineRow =
  | { source: 'event'; position: TimelinePosition; event: EventRow }
  | { source: 'job'; position: TimelinePosition; job: JobRow };

/** Above any event's seq: a job sorts last in its millisecond. */
const JOB_SEQ = Number.MAX_SAFE_INTEGER;

interface UnionRow { source: 'event' | 'job'; id: string; at: string | Date; seq: number | string }

export async function listTimeline(
  db: Db, applicationId: string, connectionId: string, f: { after: TimelinePosition | null; order: 'asc' | 'desc'; limit: number },
): Promise<TimelineRow[]> {
  const cmp = f.order === 'asc' ? sql`>` : sql`<`;
  const dir = f.order === 'asc' ? sql`asc` : sql`desc`;
  const after = f.after ? sql`where (t.at, t.seq, t.id) ${cmp} (${f.after.at.toISOString()}::timestamptz, ${f.after.seq}::bigint, ${f.after.id})` : sql``;
  const result = (await db.execute(sql`
    select t.source, t.id, t.at, t.seq from (
      select 'event' as source, e.id, e.created_at as at, e.seq from events e
        where e.connection_id = ${connectionId} and e.application_id = ${applicationId}
      union all
      select 'job' as source, j.id, j.created_at as at, ${JOB_SEQ}::bigint as seq from jobs j
        where j.connection_id = ${connectionId} and j.application_id = ${applicationId}
    ) t ${after}
    order by t.at ${dir}, t.seq ${dir}, t.id ${dir}
    limit ${f.limit}`)) as { rows: UnionRow[] };
  const rows = result.rows;
  const eventIds = rows.filter((r) => r.source === 'event').map((r) => r.id);
  const jobIds = rows.filter((r) => r.source === 'job').map((r) => r.id);
  const eventRows = eventIds.length ? await db.select().from(events).where(inArray(events.id, eventIds)) : [];
  const jobRows = jobIds.length ? await db.select().from(jobs).where(and(eq(jobs.applicationId, applicationId), inArray(jobs.id, jobIds))) : [];
  const eventsById = new Map(eventRows.map((e) => [e.id, e]));
  const jobsById = new Map(jobRows.map((j) => [j.id, j]));
  return rows.flatMap((r): TimelineRow[] => {
    const position = { at: new Date(r.at), seq: Number(r.seq), id: r.id };
    if (r.source === 'event') {
      const event = eventsById.get(r.id);
      return event ? [{ source: 'event', position, event }] : [];
    }
    const job = jobsById.get(r.id);
    return job ? [{ source: 'job', position, job }] : [];
  });
}
