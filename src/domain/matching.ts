/**
 * Plans how a fetched window of provider transactions changes what is stored, without I/O.
 *
 * Rules (PRODUCT.md §5, issue "ingestion correctness"):
 * 1. Same provider id → the same stored row (updated only if something changed).
 * 2. A posted transaction that names its pending one (`pendingTransactionId`) takes over that
 *    stored pending row: one transaction, its id kept, now posted.
 * 3. A posted transaction without a link takes over a stored pending row that the provider no
 *    longer returns, on the same account with the same amount, dated 0–MATCH_WINDOW_DAYS before.
 * 4. A stored row dated inside the fetched window that the provider no longer returns is removed.
 * Running the plan again on its own result changes nothing.
 */
import type { TransactionStatus } from './types.js';

/** Card holds usually settle within a few days; ten days covers weekends and slow merchants. */
export const MATCH_WINDOW_DAYS = 10;

export interface IncomingTransaction {
  providerId: string;
  accountId: string;
  status: TransactionStatus;
  amount: number;
  currency: string;
  date: string;
  authorizedDate: string | null;
  description: string;
  merchantName: string | null;
  category: string | null;
  pendingProviderId: string | null;
}

export interface StoredTransaction extends IncomingTransaction {
  id: string;
  removed: boolean;
}

export interface TransactionPlan {
  inserts: IncomingTransaction[];
  /** Stored id → the incoming transaction it now is. */
  updates: { id: string; next: IncomingTransaction }[];
  removals: string[];
}

const FIELDS = ['providerId', 'accountId', 'status', 'amount', 'currency', 'date', 'authorizedDate', 'description', 'merchantName', 'category', 'pendingProviderId'] as const;

function differs(stored: StoredTransaction, next: IncomingTransaction): boolean {
  return stored.removed || FIELDS.some((f) => stored[f] !== next[f]);
}

function daysBetween(from: string, to: string): number {
  return (Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000;
}

export function planTransactions(
  stored: StoredTransaction[],
  incoming: IncomingTransaction[],
  window: { from: string; to: string },
): TransactionPlan {
  const byProviderId = new Map(stored.map((s) => [s.providerId, s]));
  const incomingIds = new Set(incoming.map((t) => t.providerId));
  const claimed = new Set<string>();
  const plan: TransactionPlan = { inserts: [], updates: [], removals: [] };
  const unlinkedPosted: IncomingTransaction[] = [];

  const take = (s: StoredTransaction, next: IncomingTransaction) => {
    claimed.add(s.id);
    if (differs(s, next)) plan.updates.push({ id: s.id, next });
  };

  for (const t of incoming) {
    const same = byProviderId.get(t.providerId);
    if (same && !claimed.has(same.id)) { take(same, t); continue; }
    if (t.status === 'posted' && t.pendingProviderId) {
      const pending = byProviderId.get(t.pendingProviderId);
      if (pending && pending.status === 'pending' && !claimed.has(pending.id) && !incomingIds.has(pending.providerId)) {
        take(pending, t);
        continue;
      }
    }
    if (t.status === 'posted') unlinkedPosted.push(t);
    else plan.inserts.push(t);
  }

  // Rule 3, after every exact match, so a pending row still returned is never taken by a lookalike.
  const orphans = stored.filter((s) => s.status === 'pending' && !s.removed && !claimed.has(s.id) && !incomingIds.has(s.providerId));
  for (const t of unlinkedPosted) {
    let best: StoredTransaction | null = null;
    for (const s of orphans) {
      if (claimed.has(s.id) || s.accountId !== t.accountId || s.amount !== t.amount || s.currency !== t.currency) continue;
      const gap = daysBetween(s.date, t.date);
      if (gap < 0 || gap > MATCH_WINDOW_DAYS) continue;
      if (!best || gap < daysBetween(best.date, t.date)) best = s;
    }
    if (best) take(best, { ...t, pendingProviderId: t.pendingProviderId ?? best.providerId });
    else plan.inserts.push(t);
  }

  for (const s of stored) {
    if (claimed.has(s.id) || s.removed) continue;
    if (s.date >= window.from && s.date <= window.to) plan.removals.push(s.id);
  }
  return plan;
}
