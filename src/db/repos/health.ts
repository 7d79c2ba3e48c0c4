/**
 * The provider calls institution health reads (domain/health.ts): an application's latest calls to
 * an institution, newest first, inside the health window. provider_calls holds no institution, so
 * it is joined through the calling connection.
 *
 * One institution (the scheduler's circuit breaker, GET /v1/institutions/{id}): walks
 * provider_calls_app_created_idx (this application's calls only) backwards from now and stops at `limit` matching calls, so a busy
 * institution is answered from its last few index entries and the window only bounds the walk.
 * Every institution (GET /v1/institutions): one pass over the application's calls in the window,
 * numbered per institution, the same range the previous count read.
 */
import { sql } from 'drizzle-orm';
import type { RecentCall } from '../../domain/health.js';
import type { Db } from '../open.js';

export interface HealthQuery { applicationId: string; since: Date; failingCodes: readonly string[]; limit: number }

type Row = { institution_id: string; failing: boolean; at: Date | string };

const failing = (codes: readonly string[]) => sql`coalesce(p.error_code = any(${sql.param([...codes])}::text[]), false)`;

export async function recentCallsAt(db: Db, institutionId: string, q: HealthQuery): Promise<RecentCall[]> {
  const result = (await db.execute(sql`
    select c.institution_id, ${failing(q.failingCodes)} as failing, p.created_at as at
    from provider_calls p join connections c on c.id = p.connection_id
    where p.application_id = ${q.applicationId} and c.institution_id = ${institutionId} and p.created_at > ${q.since.toISOString()}::timestamptz
    order by p.created_at desc, p.id desc
    limit ${q.limit}`)) as { rows: Row[] };
  return result.rows.map(toCall);
}

/** The latest calls of every institution the application called in the window, newest first per institution. */
export async function recentCallsByInstitution(db: Db, q: HealthQuery): Promise<Map<string, RecentCall[]>> {
  const result = (await db.execute(sql`
    select institution_id, failing, at from (
      select c.institution_id, ${failing(q.failingCodes)} as failing, p.created_at as at,
        row_number() over (partition by c.institution_id order by p.created_at desc, p.id desc) as n
      from provider_calls p join connections c on c.id = p.connection_id
      where p.application_id = ${q.applicationId} and p.created_at > ${q.since.toISOString()}::timestamptz
    ) latest
    where n <= ${q.limit}
    order by institution_id, n`)) as { rows: Row[] };
  const out = new Map<string, RecentCall[]>();
  for (const r of result.rows) {
    const calls = out.get(r.institution_id);
    if (calls) calls.push(toCall(r)); else out.set(r.institution_id, [toCall(r)]);
  }
  return out;
}

const toCall = (r: Row): RecentCall => ({ failing: r.failing === true, at: new Date(r.at) });
