/**
 * Operations that take a connection away from its data or from the institution (PRODUCT.md §3):
 * purge, unlink, delete (keep or purge the data), and deleting a user.
 *
 * Each runs in one transaction (withTransaction: run again after a deadlock) that locks the user
 * and then the connection (the order of db/transaction.ts), checks the status machine, and cancels
 * the live job first (jobs.ts cancelLiveJob): a job run still working writes nothing after that,
 * and a write it already had in flight commits before the rows are deleted. So a purge or delete
 * racing a refresh never leaves data behind. Access at the provider is revoked after the commit,
 * best effort: Causeway has already dropped the credentials.
 */
import { newId } from '../domain/ids.js';
import { notFound } from '../domain/errors.js';
import { allowedActions, transition } from '../domain/status.js';
import type { ConnectionAction, JobTrigger, JobType, Method, Product } from '../domain/types.js';
import { stateOf, updateConnection, type ConnectionRow } from '../db/repos/connections.js';
import { deleteConnectionData, deleteUserAndData, findDeletion, insertDeletion, listDeletions, type DeletionRow } from '../db/repos/deletions.js';
import { cancelLiveJob, insertJobUnlessLive, type JobRow } from '../db/repos/jobs.js';
import { connectionEvent, insertEvent } from '../db/repos/events.js';
import { lockConnection as lockConnectionRow, lockUser, lockUserConnections } from '../db/repos/locks.js';
import { withTransaction } from '../db/transaction.js';
import type { Db } from '../db/open.js';
import { planSteps } from '../domain/steps.js';
import type { ProviderLink } from '../providers/types.js';
import { linkOf } from './sync/grant.js';
import { callProvider } from './sync/journal.js';
import { settingsFor } from './providers.js';
import { connectionNotFound, invalidState, presentConnection } from './connections.js';
import { tenantClock, type Core, type Tenant } from './core.js';
import { jobView } from './views.js';
import { idPage, readIdCursor } from './cursor.js';

function refused(c: ConnectionRow, action: ConnectionAction, verb: string) {
  return allowedActions(stateOf(c)).includes(action) ? null : invalidState(c, verb);
}

/**
 * Locks the caller's connection, and its user before it, for the transaction, or answers 404 for
 * it (or for the user). The user is locked because a purge bumps its change_seq.
 */
async function lockConnection(core: Core, tenant: Tenant, tx: Db, userId: string, connectionId: string): Promise<ConnectionRow> {
  const c = await lockConnectionRow(tx, tenant.application.id, connectionId, userId);
  return c ?? connectionNotFound(core, tenant, userId, connectionId, tx);
}

function deletionView(d: DeletionRow) {
  return {
    id: d.id, userId: d.userId, connectionId: d.connectionId, operation: d.operation, counts: d.counts,
    requestedBy: d.requestedBy, createdAt: d.createdAt.toISOString(),
  };
}

/** The link as the provider needs it to revoke access, read before the credentials are dropped. */
function revocable(core: Core, c: ConnectionRow): ProviderLink | null {
  if (!c.accessEnc) return null;
  const link = linkOf(core, c);
  return link.access.kind === 'token' && link.access.token === '' ? null : link; // never exchanged: nothing to revoke
}

/** Revokes access at the provider after the commit, journaled while the connection exists. A failure is logged: the credentials are dropped anyway. */
export async function revokeAtProvider(core: Core, tenant: Tenant, c: ConnectionRow, link: ProviderLink | null, now: Date, journal = true): Promise<void> {
  if (!link) return;
  const provider = core.providers.get(c.provider);
  if (!provider) return;
  const settings = (await settingsFor(core, tenant.application, provider)) ?? {};
  await callProvider({
    core, provider, settings, applicationId: c.applicationId, connectionId: c.id, institutionId: c.institutionId, jobId: null, now: () => now, runKey: `revoke:${c.id}`, journal,
  }, 'revoke', (p, ctx) => p.revoke(link, ctx)).catch((err: unknown) => {
    core.log.warn({ err, connectionId: c.id }, 'revoking access at the provider failed; the credentials are dropped anyway');
  });
}

/**
 * Purge: deletes every account, transaction and identity profile that came through the connection
 * and records it. The connection stays, in its status; its next sync fetches the history again. A
 * first sync or repair that was running is cancelled and started again from nothing.
 */
export async function purgeConnection(core: Core, tenant: Tenant, userId: string, connectionId: string) {
  const now = tenantClock(core, tenant.application).now();
  const { connection, deletion, restarted } = await withTransaction(core.db, async (tx) => {
    const c = await lockConnection(core, tenant, tx, userId, connectionId);
    const no = refused(c, 'purge', 'be purged');
    if (no) throw no;
    const cancelled = await cancelLiveJob(tx, c.id, now, 'The connection was purged while this job ran.');
    const deletion = await purgeInside(tx, tenant, c, now, 'purge');
    const connection = await updateConnection(tx, c.id, { transactionsSyncedThrough: null, providerCursor: null, updatedAt: now });
    await insertEvent(tx, connectionEvent(c, 'connection.purged', { deletionId: deletion.id, counts: deletion.counts, cancelledJobId: cancelled?.id ?? null }, tenant.actor ?? null, now));
    // pending and init only move on when their job ends (a first sync, a repair): run it again, from nothing.
    const restarted = cancelled && (c.status === 'pending' || c.status === 'init') ? await restartJob(tx, connection, cancelled, now) : null;
    return { connection, deletion, restarted };
  });
  if (restarted) await core.queue.enqueue(restarted);
  return { connection: await presentConnection(core, tenant, connection), deletion: deletionView(deletion), job: restarted ? jobView(restarted) : null };
}

async function purgeInside(tx: Db, tenant: Tenant, c: ConnectionRow, now: Date, operation: 'purge' | 'delete_connection') {
  const counts = await deleteConnectionData(tx, c.id, now);
  return insertDeletion(tx, {
    id: newId('del', now.getTime()), applicationId: c.applicationId, userId: c.userId, connectionId: c.id, operation, counts,
    requestedBy: tenant.actor ?? 'system', createdAt: now,
  });
}

async function restartJob(tx: Db, c: ConnectionRow, was: JobRow, now: Date): Promise<JobRow> {
  const { job } = await insertJobUnlessLive(tx, {
    id: newId('job', now.getTime()), applicationId: c.applicationId, userId: c.userId, connectionId: c.id, type: was.type,
    trigger: was.trigger as JobTrigger, status: 'queued', products: was.products,
    steps: planSteps(was.type as JobType, c.method as Method, was.products as Product[]), queueJobId: crypto.randomUUID(),
    createdAt: now, updatedAt: now,
  });
  return job;
}

/** Unlink: no more syncing, provider access revoked, data kept and readable; repair relinks. */
export async function unlinkConnection(core: Core, tenant: Tenant, userId: string, connectionId: string) {
  const now = tenantClock(core, tenant.application).now();
  const { connection, link, cancelled } = await withTransaction(core.db, async (tx) => {
    const c = await lockConnection(core, tenant, tx, userId, connectionId);
    const no = refused(c, 'unlink', 'be unlinked');
    if (no) throw no;
    const cancelled = await cancelLiveJob(tx, c.id, now, 'The connection was unlinked while this job ran.');
    const next = transition(stateOf(c), { type: 'unlinked' });
    const link = revocable(core, c);
    await insertEvent(tx, connectionEvent(c, 'connection.unlinked', { cancelledJobId: cancelled?.id ?? null }, tenant.actor ?? null, now));
    const connection = await updateConnection(tx, c.id, {
      status: next.status, statusReason: next.reason, accessEnc: null, authStateHash: null, pausedUntil: null, updatedAt: now,
    });
    return { connection, link, cancelled };
  });
  await revokeAtProvider(core, tenant, connection, link, now);
  return { connection: await presentConnection(core, tenant, connection), cancelledJobId: cancelled?.id ?? null };
}

/**
 * Delete: `deleted` for good, access revoked, never refreshed, repaired or purged again. `keep`
 * (the default, as Basiq) leaves the data readable; `purge` deletes it in the same transaction.
 */
export async function deleteConnection(core: Core, tenant: Tenant, userId: string, connectionId: string, data: 'keep' | 'purge') {
  const now = tenantClock(core, tenant.application).now();
  const { connection, link, deletion } = await withTransaction(core.db, async (tx) => {
    const c = await lockConnection(core, tenant, tx, userId, connectionId);
    const no = refused(c, 'delete', 'be deleted');
    if (no) throw no;
    const cancelled = await cancelLiveJob(tx, c.id, now, 'The connection was deleted while this job ran.');
    const deletion = data === 'purge' ? await purgeInside(tx, tenant, c, now, 'delete_connection') : null;
    const next = transition(stateOf(c), { type: 'deleted' });
    const link = revocable(core, c);
    await insertEvent(tx, connectionEvent(c, 'connection.deleted', {
      data, deletionId: deletion?.id ?? null, counts: deletion?.counts ?? null, cancelledJobId: cancelled?.id ?? null,
    }, tenant.actor ?? null, now));
    const connection = await updateConnection(tx, c.id, {
      status: next.status, statusReason: next.reason, accessEnc: null, authStateHash: null, pausedUntil: null, updatedAt: now,
      ...(deletion ? { transactionsSyncedThrough: null, providerCursor: null } : {}),
    });
    return { connection, link, deletion };
  });
  await revokeAtProvider(core, tenant, connection, link, now);
  return { connection: await presentConnection(core, tenant, connection), deletion: deletion ? deletionView(deletion) : null };
}

/**
 * Deletes the user, every connection and all their data, with a deletion record; revokes each
 * connection's access. Locks in the order of db/transaction.ts: the user (`for update`: it goes),
 * its connections by id, their live jobs; then the rows go.
 */
export async function deleteUserEverywhere(core: Core, tenant: Tenant, userId: string) {
  const now = tenantClock(core, tenant.application).now();
  const { deletion, links } = await withTransaction(core.db, async (tx) => {
    const user = await lockUser(tx, tenant.application.id, userId, 'update');
    if (!user) throw notFound('user', userId);
    const all = await lockUserConnections(tx, tenant.application.id, userId);
    const links: { c: ConnectionRow; link: ProviderLink | null }[] = [];
    for (const c of all) {
      await cancelLiveJob(tx, c.id, now, 'The user was deleted while this job ran.');
      if (c.status !== 'deleted') links.push({ c, link: revocable(core, c) });
    }
    const counts = await deleteUserAndData(tx, tenant.application.id, userId);
    const deletion = await insertDeletion(tx, {
      id: newId('del', now.getTime()), applicationId: tenant.application.id, userId, connectionId: null, operation: 'delete_user', counts,
      requestedBy: tenant.actor ?? 'system', createdAt: now,
    });
    await insertEvent(tx, {
      applicationId: tenant.application.id, userId, connectionId: null, type: 'user.deleted', data: { deletionId: deletion.id, counts },
      actor: tenant.actor ?? null, at: now,
    });
    return { deletion, links };
  });
  for (const { c, link } of links) await revokeAtProvider(core, tenant, c, link, now, false); // the journal went with the user
  return deletionView(deletion);
}

export async function getDeletion(core: Core, tenant: Tenant, id: string) {
  const d = await findDeletion(core.db, tenant.application.id, id);
  if (!d) throw notFound('deletion', id);
  return deletionView(d);
}

export async function listDeletionRecords(core: Core, tenant: Tenant, f: { userId?: string; connectionId?: string; cursor: string | null; limit: number }) {
  const rows = await listDeletions(core.db, tenant.application.id, { ...f, before: readIdCursor(core, tenant, 'deletions', f.cursor), limit: f.limit + 1 });
  return idPage(core, tenant, 'deletions', rows, f.limit, deletionView);
}
