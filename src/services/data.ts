/** Reading what connections brought: accounts, transactions, the sync feed and the identity profile. */
import { AppError, notFound } from '../domain/errors.js';
import { findAccount, findIdentity, listUserAccounts } from '../db/repos/data.js';
import { listChangesSince, listTransactions } from '../db/repos/transaction-pages.js';
import { requireUser } from './users.js';
import type { ProviderIdentity } from '../providers/types.js';
import type { Core, Tenant } from './core.js';
import { requireConnection } from './connections.js';
import { accountView, profileView, transactionView } from './views.js';
import { z } from 'zod';
import { IdPosition, invalidCursor, pageOf, readCursor, SeqPosition, writeCursor } from './cursor.js';

export async function listAccounts(core: Core, tenant: Tenant, userId: string, connectionId?: string) {
  await requireUser(core, tenant, userId);
  const rows = await listUserAccounts(core.db, tenant.application.id, userId);
  return { data: rows.filter((a) => !connectionId || a.connectionId === connectionId).map(accountView), nextCursor: null };
}

export async function getAccount(core: Core, tenant: Tenant, userId: string, accountId: string) {
  await requireUser(core, tenant, userId);
  const row = await findAccount(core.db, tenant.application.id, userId, accountId);
  if (!row) throw notFound('account', accountId);
  return accountView(row);
}

/** A transactions page ends at (date, id), newest first. */
const PageCursor = z.object({ d: z.iso.date(), i: IdPosition }).strict();
/** The sync feed's position: the user's change sequence. */
const FeedCursor = z.object({ s: SeqPosition }).strict();

/**
 * Sync cursors are kept by clients for as long as they sync. Those issued before cursors were signed
 * (bare base64url JSON `{"s":n}`) are still read, strictly: a safe integer or 400.
 */
function readFeedCursor(core: Core, tenant: Tenant, cursor: string): number {
  if (!cursor.includes('.')) {
    try {
      const legacy = FeedCursor.safeParse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
      if (legacy.success) return legacy.data.s;
    } catch { /* not the legacy form either */ }
    throw invalidCursor('sync');
  }
  return readCursor(core, tenant, 'sync', cursor, FeedCursor).s;
}

export interface TransactionQuery { accountId?: string; from?: string; to?: string; status?: 'pending' | 'posted'; cursor?: string; limit: number }

/**
 * Newest first; removed transactions are not listed (the sync feed reports them).
 *
 * One statement for a page that has rows: a transaction row of this application and user exists
 * only while the user does (its foreign key cascades from the user, and a user is deleted with
 * everything in one transaction), so rows prove the user. Only an empty page (or a bad cursor) asks
 * whether the user exists, so an unknown user still answers 404 and 404 still comes before 400.
 */
export async function listUserTransactions(core: Core, tenant: Tenant, userId: string, q: TransactionQuery) {
  let after: { d: string; i: string } | undefined;
  try {
    after = q.cursor ? readCursor(core, tenant, 'transactions', q.cursor, PageCursor) : undefined;
  } catch (err) {
    await requireUser(core, tenant, userId);
    throw err;
  }
  const rows = await listTransactions(core.db, tenant.application.id, userId, {
    accountId: q.accountId, from: q.from, to: q.to, status: q.status, after: after ? { date: after.d, id: after.i } : undefined, limit: q.limit + 1,
  });
  if (rows.length === 0) await requireUser(core, tenant, userId);
  const { page, nextCursor } = pageOf(core, tenant, 'transactions', rows, q.limit, (t) => ({ d: t.date, i: t.id }));
  return { data: page.map(transactionView), nextCursor };
}

/**
 * Changes since a cursor, Plaid-style: `added` (new since the cursor), `modified`, `removed`
 * (ids only). A transaction both added and removed since the cursor is not reported at all. After a
 * purge, `removed` may name ids a client that started later never had: clients ignore unknown ids.
 */
export async function syncTransactions(core: Core, tenant: Tenant, userId: string, cursor: string | undefined, limit: number) {
  await requireUser(core, tenant, userId);
  const since = cursor ? readFeedCursor(core, tenant, cursor) : 0;
  const rows = await listChangesSince(core.db, tenant.application.id, userId, since, limit + 1);
  const page = rows.slice(0, limit);
  const added = [];
  const modified = [];
  const removed = [];
  for (const f of page) {
    const isNew = f.createdSeq > since;
    if (f.kind === 'purged') {
      if (!isNew) removed.push({ id: f.id, accountId: f.accountId });
      continue;
    }
    const t = f.row;
    if (t.removedAt) {
      if (!isNew) removed.push({ id: t.id, accountId: t.accountId });
    } else if (isNew) added.push(transactionView(t));
    else modified.push(transactionView(t));
  }
  const position = page.length > 0 ? page[page.length - 1]!.changeSeq : since;
  return { added, modified, removed, nextCursor: writeCursor(core, tenant, 'sync', { s: position }), hasMore: rows.length > limit };
}

export async function getProfile(core: Core, tenant: Tenant, userId: string, connectionId: string, unmasked: boolean) {
  await requireConnection(core, tenant, userId, connectionId);
  const row = await findIdentity(core.db, tenant.application.id, connectionId);
  if (!row) throw new AppError('not_found', `Connection ${connectionId} has no identity profile yet: link it with the identity product and wait for its job to finish.`);
  const identity = JSON.parse(core.cipher.decrypt(row.dataEnc)) as ProviderIdentity;
  return { connectionId, updatedAt: row.updatedAt.toISOString(), ...profileView(identity, { masked: !unmasked }) };
}
