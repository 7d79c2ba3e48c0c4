/**
 * The API's reads of a user's transactions: a page of the list (one prepared statement per filter
 * combination) and the change feed. Ingestion and the job's reads are in data.ts.
 */
import { and, asc, desc, eq, gt, gte, isNull, lt, lte, or, sql } from 'drizzle-orm';
import type { Db } from '../open.js';
import { preparedPer } from '../prepared.js';
import { transactionRemovals, transactions } from '../schema.js';
import type { TransactionRow } from './data.js';

export interface TransactionFilter {
  accountId?: string;
  from?: string;
  to?: string;
  status?: 'pending' | 'posted';
  /** Keyset cursor: rows strictly after (date desc, id desc). */
  after?: { date: string; id: string };
  limit: number;
}

/** Which of a page's filters are given: one prepared statement for each combination (at most 32). */
interface PageShape { account: boolean; from: boolean; to: boolean; status: boolean; after: boolean }

/** What a page shows of a transaction (services/views.ts transactionView): read and decoded, nothing more. */
const PAGE_COLUMNS = {
  id: transactions.id, accountId: transactions.accountId, connectionId: transactions.connectionId, status: transactions.status,
  amount: transactions.amount, currency: transactions.currency, date: transactions.date, authorizedDate: transactions.authorizedDate,
  description: transactions.description, merchantName: transactions.merchantName, category: transactions.category,
  createdAt: transactions.createdAt, updatedAt: transactions.updatedAt,
};
export type TransactionPageRow = Pick<TransactionRow, keyof typeof PAGE_COLUMNS>;

const pageStatement = (shape: PageShape, name: string) => preparedPer((db) => {
  const p = sql.placeholder;
  return db.select(PAGE_COLUMNS).from(transactions).where(and(
    eq(transactions.applicationId, p('applicationId')), eq(transactions.userId, p('userId')), isNull(transactions.removedAt),
    shape.account ? eq(transactions.accountId, p('accountId')) : undefined,
    shape.from ? gte(transactions.date, p('from')) : undefined,
    shape.to ? lte(transactions.date, p('to')) : undefined,
    shape.status ? eq(transactions.status, p('status')) : undefined,
    shape.after ? or(lt(transactions.date, p('afterDate')), and(eq(transactions.date, p('afterDate')), lt(transactions.id, p('afterId')))) : undefined,
  )).orderBy(desc(transactions.date), desc(transactions.id)).limit(p('limit')).prepare(name);
});
const pageStatements = new Map<string, ReturnType<typeof pageStatement>>();

/** A page of the user's transactions (the API's list, on every call): built once per filter combination. */
export async function listTransactions(db: Db, applicationId: string, userId: string, f: TransactionFilter): Promise<TransactionPageRow[]> {
  const shape: PageShape = { account: !!f.accountId, from: !!f.from, to: !!f.to, status: !!f.status, after: !!f.after };
  const key = Object.values(shape).map(Number).join('');
  let statement = pageStatements.get(key);
  if (!statement) pageStatements.set(key, (statement = pageStatement(shape, `transactions_page_${key}`)));
  return statement(db).execute({
    applicationId, userId, accountId: f.accountId, from: f.from, to: f.to, status: f.status, afterDate: f.after?.date, afterId: f.after?.id, limit: f.limit,
  });
}

/** A feed entry: a stored transaction, or what is left of a purged one (always `removed`). */
export type FeedRow =
  | { kind: 'transaction'; changeSeq: number; createdSeq: number; row: TransactionRow }
  | { kind: 'purged'; changeSeq: number; createdSeq: number; id: string; accountId: string };

/**
 * Changes after feed position `since`, in feed order: stored transactions and purged ones. The
 * first `limit` of the two lists merged are among the first `limit` of each.
 */
export async function listChangesSince(db: Db, applicationId: string, userId: string, since: number, limit: number): Promise<FeedRow[]> {
  const stored = await db.select().from(transactions)
    .where(and(eq(transactions.applicationId, applicationId), eq(transactions.userId, userId), gt(transactions.changeSeq, since)))
    .orderBy(asc(transactions.changeSeq)).limit(limit);
  const purged = await db.select().from(transactionRemovals)
    .where(and(eq(transactionRemovals.applicationId, applicationId), eq(transactionRemovals.userId, userId), gt(transactionRemovals.changeSeq, since)))
    .orderBy(asc(transactionRemovals.changeSeq)).limit(limit);
  const rows: FeedRow[] = [
    ...stored.map((row) => ({ kind: 'transaction' as const, changeSeq: row.changeSeq, createdSeq: row.createdSeq, row })),
    ...purged.map((p) => ({ kind: 'purged' as const, changeSeq: p.changeSeq, createdSeq: p.createdSeq, id: p.id, accountId: p.accountId })),
  ];
  return rows.sort((a, b) => a.changeSeq - b.changeSeq).slice(0, limit);
}
