/**
 * Consent coming to its end (PRODUCT.md §2, issue: openbanking consent): seven days before expiry
 * the connection is active / access_expiring_soon, at expiry reconnect_required / consent_expired,
 * and when the institution revokes it reconnect_required / consent_revoked. Web access that
 * expires (user_expiring) follows the same rules.
 *
 * When consent ends, the application's `consentEndData` setting says whether the data stays
 * (`keep`, the default) or is purged, in the same transaction, with a deletion record.
 * Callers hold the connection locked (for update) inside `tx`.
 */
import { linksAway } from '../domain/types.js';
import { newId } from '../domain/ids.js';
import { transition } from '../domain/status.js';
import type { ApplicationRow } from '../db/repos/applications.js';
import { stateOf, updateConnection, type ConnectionRow } from '../db/repos/connections.js';
import { deleteConnectionData, insertDeletion } from '../db/repos/deletions.js';
import { cancelLiveJob } from '../db/repos/jobs.js';
import { connectionEvent, insertEvent } from '../db/repos/events.js';
import type { Db } from '../db/open.js';

export type ConsentChange = 'consent_expiring' | 'consent_expired' | 'consent_revoked';

const EVENT_TYPE: Record<ConsentChange, string> = {
  consent_expiring: 'consent.expiring', consent_expired: 'consent.expired', consent_revoked: 'consent.revoked',
};

/**
 * Applies the change through the status machine (throws InvalidTransitionError when the status does
 * not allow it). `expiresAt`: the consent's end, when the change moves it (sandbox simulation).
 */
export async function applyConsentChange(
  tx: Db, application: ApplicationRow, c: ConnectionRow, change: ConsentChange, now: Date, actor: string | null, expiresAt?: Date,
): Promise<ConnectionRow> {
  const next = transition(stateOf(c), { type: change });
  const dates = expiresAt ? (linksAway(c.method) ? { consentExpiresAt: expiresAt } : { accessExpiresAt: expiresAt }) : {};
  const end = expiresAt ?? (linksAway(c.method) ? c.consentExpiresAt : c.accessExpiresAt);
  // The event first, then the status change it causes (written by the trigger): the timeline reads cause, effect.
  await insertEvent(tx, connectionEvent(c, consentEventType(c.method, change), {
    grantedAt: c.consentGrantedAt?.toISOString() ?? null, expiresAt: end?.toISOString() ?? null,
  }, actor, now));
  let connection = await updateConnection(tx, c.id, { status: next.status, statusReason: next.reason, ...dates, updatedAt: now });
  if (change !== 'consent_expiring') connection = await onConsentEnded(tx, application, connection, change, now);
  return connection;
}

/**
 * Once consent has ended: the job still running is cancelled, then the data is kept (`keep`) or
 * purged with its deletion record (`purge`), as the application says. Answers the connection as
 * it now is.
 */
export async function onConsentEnded(
  tx: Db, application: ApplicationRow, c: ConnectionRow, change: 'consent_expired' | 'consent_revoked', now: Date,
): Promise<ConnectionRow> {
  // A job still running could only fail now, or worse succeed on stale access and hide the end.
  await cancelLiveJob(tx, c.id, now, 'The consent ended while this job ran.');
  if (application.consentEndData !== 'purge') return c;
  const counts = await deleteConnectionData(tx, c.id, now);
  const connection = await updateConnection(tx, c.id, { transactionsSyncedThrough: null, providerCursor: null });
  const deletion = await insertDeletion(tx, {
    id: newId('del', now.getTime()), applicationId: c.applicationId, userId: c.userId, connectionId: c.id, operation: 'purge', counts,
    requestedBy: 'system', createdAt: now,
  });
  await insertEvent(tx, connectionEvent(connection, 'connection.purged', { deletionId: deletion.id, counts, because: change }, 'system', now));
  return connection;
}

/** The consent event's type: consent.* for openbanking, access.* for a web login's access. */
export function consentEventType(method: string, change: ConsentChange): string {
  return linksAway(method) ? EVENT_TYPE[change] : `access.${change.slice('consent_'.length)}`;
}
