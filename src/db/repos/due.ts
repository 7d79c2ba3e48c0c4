/**
 * The connections a time rule may now apply to (services/due.ts), each list on its application's
 * clock and read without locks: the service locks each one and checks it again through the status
 * machine before changing it.
 */
import { and, eq, inArray, isNotNull, sql, type SQL } from 'drizzle-orm';
import type { Db } from '../open.js';
import { applications, connections } from '../schema.js';
import { appTimeSql } from './app-clock.js';

export interface DueCandidate { id: string; applicationId: string }

export interface DueQuery {
  wallNow: Date;
  /** One application's connections, or every application's (null). */
  applicationId: string | null;
  /** At most this many per list. */
  limit: number;
  /** How long before access or consent ends a connection counts as expiring soon. */
  expiringSoonMs: number;
}

/**
 * abandoned: pre_init past its authorisation window; expired: access or consent has ended (not yet
 * said so); expiring: active, ending within `expiringSoonMs` (not yet said so).
 */
export async function findDueRuleCandidates(db: Db, q: DueQuery): Promise<{ abandoned: DueCandidate[]; expired: DueCandidate[]; expiring: DueCandidate[] }> {
  const appNow = appTimeSql(q.wallNow, applications.clockOffsetMs); // offset bounded: no application's stored value can fail the sweep
  const expiresAt = sql`case when ${connections.method} in ('openbanking', 'hosted') then ${connections.consentExpiresAt} else ${connections.accessExpiresAt} end`;
  const scope = q.applicationId ? eq(connections.applicationId, q.applicationId) : undefined;
  const candidates = (where: SQL | undefined) => db.select({ id: connections.id, applicationId: connections.applicationId })
    .from(connections).innerJoin(applications, eq(applications.id, connections.applicationId)).where(and(where, scope)).limit(q.limit);

  const abandoned = await candidates(and(eq(connections.status, 'pre_init'), sql`${connections.authExpiresAt} < ${appNow}`));
  const expired = await candidates(and(
    inArray(connections.status, ['active', 'degraded', 'reconnect_required']), isNotNull(sql`${expiresAt}`), sql`${expiresAt} <= ${appNow}`,
    sql`${connections.statusReason} is distinct from 'consent_expired'`, sql`${connections.statusReason} is distinct from 'consent_revoked'`,
  ));
  const expiring = await candidates(and(
    eq(connections.status, 'active'), sql`${connections.statusReason} is distinct from 'access_expiring_soon'`,
    sql`${expiresAt} > ${appNow}`, sql`${expiresAt} <= ${appNow} + ${q.expiringSoonMs} * interval '1 millisecond'`,
  ));
  return { abandoned, expired, expiring };
}
