/**
 * Accounts, transactions and identity: ingestion (bulk, idempotent, keyed by provider ids) and reads.
 *
 * Ingestion of one connection's transactions runs in ONE database transaction:
 *   lock job row (fence) → read stored window → plan (domain/matching) → bump the user's feed
 *   counter → insert/update/remove → advance the connection's sync state → commit.
 * A crash anywhere before commit leaves nothing; a re-run re-plans against what did commit.
 */
import { and, asc, desc, eq, gt, gte, inArray, isNull, lt, lte, or, sql } from 'drizzle-orm';
import { newId } from '../../domain/ids.js';
import type { IncomingTransaction, StoredTransaction, TransactionPlan } from '../../domain/matching.js';
import type { Db } from '../open.js';
import { accounts, connections, identities, transactions, users } from '../schema.js';

export type AccountRow = typeof accounts.$inferSelect;
export type TransactionRow = typeof transactions.$inferSelect;

export async function listConnectionAccounts(db: Db, connectionId: string): Promise<AccountRow[]> {
  return db.select().from(accounts).where(eq(accounts.connectionId, connectionId)).orderBy(asc(accounts.id));
}

export async function upsertAccounts(db: Db, rows: (typeof accounts.$inferInsert)[]): Promise<void> {
  if (rows.length === 0) return;
  await db.insert(accounts).values(rows).onConflictDoUpdate({
    target: [accounts.connectionId, accounts.providerAccountId],
    set: {
      name: sql`excluded.name`, type: sql`excluded.type`, mask: sql`excluded.mask`, currency: sql`excluded.currency`,
      balanceCurrent: sql`excluded.balance_current`, balanceAvailable: sql`excluded.balance_available`,
      balanceLimit: sql`excluded.balance_limit`, balancesUpdatedAt: sql`excluded.balances_updated_at`,
      updatedAt: sql`excluded.updated_at`,
    },
  });
}

export async function listUserAccounts(db: Db, applicationId: string, userId: string): Promise<AccountRow[]> {
  return db.select().from(accounts).where(and(eq(accounts.applicationId, applicationId), eq(accounts.userId, userId))).orderBy(asc(accounts.id));
}

export async function findAccount(db: Db, applicationId: string, userId: string, id: string): Promise<AccountRow | null> {
  const [row] = await db.select().from(accounts).where(and(eq(accounts.applicationId, applicationId), eq(accounts.userId, userId), eq(accounts.id, id)));
  return row ?? null;
}

/** Stored transactions of a connection dated on or after `from`, plus every live pending one (they may post later). */
export async function loadStoredWindow(db: Db, connectionId: string, from: string): Promise<StoredTransaction[]> {
  const rows = await db.select().from(transactions).where(and(
    eq(transactions.connectionId, connectionId),
    or(gte(transactions.date, from), and(eq(transactions.status, 'pending'), isNull(transactions.removedAt))),
  ));
  return rows.map((r) => ({
    id: r.id, providerId: r.providerTransactionId, accountId: r.accountId, status: r.status as StoredTransaction['status'],
    amount: r.amount, currency: r.currency, date: r.date, authorizedDate: r.authorizedDate, description: r.description,
    merchantName: r.merchantName, category: r.category, pendingProviderId: r.providerPendingId, removed: r.removedAt !== null,
  }));
}

export interface ApplyContext { applicationId: string; userId: string; connectionId: string; now: Date }

/** Reserves `count` feed positions for the user; the row lock orders concurrent ingestions. */
async function reserveSeq(db: Db, userId: string, count: number): Promise<number> {
  const [row] = await db.update(users).set({ changeSeq: sql`${users.changeSeq} + ${count}` }).where(eq(users.id, userId)).returning({ seq: users.changeSeq });
  return row!.seq - count;
}

const BATCH = 2000;

function cols<T>(rows: T[], pick: (r: T) => unknown) {
  return sql.param(rows.map(pick));
}

/** The rows as one `unnest(...) as v(...)` source: one array parameter per column, any number of rows. */
function unnestRows(chunk: { id: string; t: IncomingTransaction; seq: number }[]) {
  return sql`unnest(${cols(chunk, (r) => r.id)}::text[], ${cols(chunk, (r) => r.t.accountId)}::text[],
        ${cols(chunk, (r) => r.t.providerId)}::text[], ${cols(chunk, (r) => r.t.pendingProviderId)}::text[],
        ${cols(chunk, (r) => r.t.status)}::text[], ${cols(chunk, (r) => r.t.amount)}::int8[], ${cols(chunk, (r) => r.t.currency)}::text[],
        ${cols(chunk, (r) => r.t.date)}::date[], ${cols(chunk, (r) => r.t.authorizedDate)}::date[],
        ${cols(chunk, (r) => r.t.description)}::text[], ${cols(chunk, (r) => r.t.merchantName)}::text[],
        ${cols(chunk, (r) => r.t.category)}::text[], ${cols(chunk, (r) => r.seq)}::int8[])
        as v(id, account_id, pid, ppid, status, amount, currency, date, adate, description, merchant, category, seq)`;
}

export async function applyTransactionPlan(db: Db, ctx: ApplyContext, plan: TransactionPlan): Promise<void> {
  const total = plan.inserts.length + plan.updates.length + plan.removals.length;
  if (total === 0) return;
  let seq = await reserveSeq(db, ctx.userId, total);
  const now = ctx.now.toISOString();
  for (let i = 0; i < plan.inserts.length; i += BATCH) {
    const chunk = plan.inserts.slice(i, i + BATCH).map((t) => ({ t, id: newId('txn'), seq: ++seq }));
    await db.execute(sql`
      insert into transactions (id, application_id, user_id, connection_id, account_id, provider_transaction_id,
        provider_pending_id, status, amount, currency, date, authorized_date, description, merchant_name, category,
        created_seq, change_seq, created_at, updated_at)
      select v.id, ${ctx.applicationId}, ${ctx.userId}, ${ctx.connectionId}, v.account_id, v.pid, v.ppid, v.status,
        v.amount, v.currency, v.date, v.adate, v.description, v.merchant, v.category, v.seq, v.seq, ${now}::timestamptz, ${now}::timestamptz
      from ${unnestRows(chunk)}
      on conflict (connection_id, provider_transaction_id) do nothing`);
  }
  for (let i = 0; i < plan.updates.length; i += BATCH) {
    const chunk = plan.updates.slice(i, i + BATCH).map((u) => ({ id: u.id, t: u.next, seq: ++seq }));
    await db.execute(sql`
      update transactions as x set account_id = v.account_id, provider_transaction_id = v.pid, provider_pending_id = v.ppid,
        status = v.status, amount = v.amount, currency = v.currency, date = v.date, authorized_date = v.adate,
        description = v.description, merchant_name = v.merchant, category = v.category, change_seq = v.seq,
        removed_at = null, updated_at = ${now}::timestamptz
      from ${unnestRows(chunk)}
      where x.id = v.id and x.connection_id = ${ctx.connectionId}`);
  }
  if (plan.removals.length > 0) {
    const chunk = plan.removals.map((id) => ({ id, seq: ++seq }));
    await db.execute(sql`
      update transactions as x set removed_at = ${now}::timestamptz, change_seq = v.seq, updated_at = ${now}::timestamptz
      from unnest(${cols(chunk, (r) => r.id)}::text[], ${cols(chunk, (r) => r.seq)}::int8[]) as v(id, seq)
      where x.id = v.id and x.connection_id = ${ctx.connectionId}`);
  }
}

export async function setSyncedThrough(db: Db, connectionId: string, day: string): Promise<void> {
  await db.update(connections).set({ transactionsSyncedThrough: day }).where(eq(connections.id, connectionId));
}

export interface TransactionFilter {
  accountId?: string;
  from?: string;
  to?: string;
  status?: 'pending' | 'posted';
  /** Keyset cursor: rows strictly after (date desc, id desc). */
  after?: { date: string; id: string };
  limit: number;
}

export async function listTransactions(db: Db, applicationId: string, userId: string, f: TransactionFilter): Promise<TransactionRow[]> {
  return db.select().from(transactions).where(and(
    eq(transactions.applicationId, applicationId), eq(transactions.userId, userId), isNull(transactions.removedAt),
    f.accountId ? eq(transactions.accountId, f.accountId) : undefined,
    f.from ? gte(transactions.date, f.from) : undefined,
    f.to ? lte(transactions.date, f.to) : undefined,
    f.status ? eq(transactions.status, f.status) : undefined,
    f.after ? or(lt(transactions.date, f.after.date), and(eq(transactions.date, f.after.date), lt(transactions.id, f.after.id))) : undefined,
  )).orderBy(desc(transactions.date), desc(transactions.id)).limit(f.limit);
}

/** Rows changed after feed position `since`, in feed order. */
export async function listChangesSince(db: Db, applicationId: string, userId: string, since: number, limit: number): Promise<TransactionRow[]> {
  return db.select().from(transactions)
    .where(and(eq(transactions.applicationId, applicationId), eq(transactions.userId, userId), gt(transactions.changeSeq, since)))
    .orderBy(asc(transactions.changeSeq)).limit(limit);
}

export async function countTransactions(db: Db, connectionId: string): Promise<number> {
  const [row] = await db.select({ n: sql<number>`count(*)`.mapWith(Number) }).from(transactions).where(eq(transactions.connectionId, connectionId));
  return row!.n;
}

export async function upsertIdentity(db: Db, row: typeof identities.$inferInsert): Promise<void> {
  await db.insert(identities).values(row).onConflictDoUpdate({
    target: identities.connectionId, set: { dataEnc: sql`excluded.data_enc`, updatedAt: sql`excluded.updated_at` },
  });
}

export async function findIdentity(db: Db, applicationId: string, connectionId: string) {
  const [row] = await db.select().from(identities).where(and(eq(identities.applicationId, applicationId), eq(identities.connectionId, connectionId)));
  return row ?? null;
}

export async function accountIdsByProviderId(db: Db, connectionId: string, providerIds: string[]): Promise<Map<string, string>> {
  if (providerIds.length === 0) return new Map();
  const rows = await db.select({ id: accounts.id, pid: accounts.providerAccountId }).from(accounts)
    .where(and(eq(accounts.connectionId, connectionId), inArray(accounts.providerAccountId, providerIds)));
  return new Map(rows.map((r) => [r.pid, r.id]));
}

export async function oldestLivePendingDate(db: Db, connectionId: string): Promise<string | null> {
  const [row] = await db.select({ d: sql<string | null>`min(${transactions.date})` }).from(transactions)
    .where(and(eq(transactions.connectionId, connectionId), eq(transactions.status, 'pending'), isNull(transactions.removedAt)));
  return row?.d ?? null;
}
