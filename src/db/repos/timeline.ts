/**
 * A connection's timeline (PRODUCT.md §4): its events (status changes, consent, operations), its
 * jobs and the webhook deliveries of its events, in one keyset-paginated list. The position of an entry is (at, seq, id): events written in
 * the same millisecond keep their write order (seq), and a job sorts after the events of its
 * millisecond (the operation that started it, and the status change it made, come first).
 */
import { and, eq, inArray, sql } from 'drizzle-orm';
import type { Db } from '../open.js';
import { events, jobs } from '../schema.js';
import { webhookDeliveries } from '../tables/webhooks.js';
import { withAttempts } from './webhooks.js';
import type { EventRow } from './events.js';
import type { JobRow } from './jobs.js';

export interface TimelinePosition { at: Date; seq: number; id: string }

export type TimelineRow =
  | { source: 'event'; position: TimelinePosition; event: EventRow }
  | { source: 'job'; position: TimelinePosition; job: JobRow }
  | { source: 'delivery'; position: TimelinePosition; delivery: Awaited<ReturnType<typeof withAttempts>>[number] };

/** Above any event's seq: a job sorts last in its millisecond, a webhook delivery just before it (after its event). */
const JOB_SEQ = Number.MAX_SAFE_INTEGER;
const DELIVERY_SEQ = Number.MAX_SAFE_INTEGER - 1;

/**
 * Events the timeline leaves out because another entry already says it: the status change (for
 * connection.activated and the reason events), the job entry (job.*), and what the job fetched.
 */
const NOT_IN_TIMELINE = [
  'connection.activated', 'connection.access_expiring_soon', 'connection.new_accounts_available', 'job.completed', 'job.failed',
  'accounts.updated', 'transactions.updated',
] as const;

interface UnionRow { source: 'event' | 'job' | 'delivery'; id: string; at: string | Date; seq: number | string }

export async function listTimeline(
  db: Db, applicationId: string, connectionId: string, f: { after: TimelinePosition | null; order: 'asc' | 'desc'; limit: number },
): Promise<TimelineRow[]> {
  const cmp = f.order === 'asc' ? sql`>` : sql`<`;
  const dir = f.order === 'asc' ? sql`asc` : sql`desc`;
  const after = f.after ? sql`where (t.at, t.seq, t.id) ${cmp} (${f.after.at.toISOString()}::timestamptz, ${f.after.seq}::bigint, ${f.after.id})` : sql``;
  const result = (await db.execute(sql`
    select t.source, t.id, t.at, t.seq from (
      select 'event' as source, e.id, e.created_at as at, e.seq from events e
        where e.connection_id = ${connectionId} and e.application_id = ${applicationId} and e.type <> all(${sql.param([...NOT_IN_TIMELINE])}::text[])
      union all
      select 'delivery' as source, d.id, d.created_at as at, ${DELIVERY_SEQ}::bigint as seq from webhook_deliveries d
        where d.connection_id = ${connectionId} and d.application_id = ${applicationId}
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
  const deliveryIds = rows.filter((r) => r.source === 'delivery').map((r) => r.id);
  const deliveryRows = deliveryIds.length
    ? await withAttempts(db, await db.select().from(webhookDeliveries).where(and(eq(webhookDeliveries.applicationId, applicationId), inArray(webhookDeliveries.id, deliveryIds))))
    : [];
  const deliveriesById = new Map(deliveryRows.map((d) => [d.delivery.id, d]));
  const eventsById = new Map(eventRows.map((e) => [e.id, e]));
  const jobsById = new Map(jobRows.map((j) => [j.id, j]));
  return rows.flatMap((r): TimelineRow[] => {
    const position = { at: new Date(r.at), seq: Number(r.seq), id: r.id };
    if (r.source === 'event') {
      const event = eventsById.get(r.id);
      return event ? [{ source: 'event', position, event }] : [];
    }
    if (r.source === 'delivery') {
      const delivery = deliveriesById.get(r.id);
      return delivery ? [{ source: 'delivery', position, delivery }] : [];
    }
    const job = jobsById.get(r.id);
    return job ? [{ source: 'job', position, job }] : [];
  });
}
