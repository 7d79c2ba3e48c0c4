/**
 * /transactions/sync over an Item's append-only change log.
 *
 *   log:   [add a][add b][add c][mod b][rm a][add d] ...      (positions 0, 1, 2, ...)
 *                  ^base                     ^target
 *
 * A cursor names a window [base, target) of the log and an offset into the window's net changes.
 * Starting a pagination (offset 0) freezes `target` at the log's current length; the window's
 * net changes are computed from the log alone (a transaction added and removed inside the window
 * vanishes; one that existed at `base` and was changed shows as modified), so the same cursor
 * always answers the same page. The last page's next_cursor is (target, target, 0): "settled".
 * If the log grew past `target` while a client is mid-pagination, the next page answers
 * TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION, as Plaid does; restarting from the cursor the
 * pagination began with works.
 */
import { createHmac } from 'node:crypto';
import type { PlaidTransaction } from './data.js';
import { fail } from './errors.js';

export type ChangeEntry =
  | { kind: 'added' | 'modified'; tx: PlaidTransaction }
  | { kind: 'removed'; txId: string; accountId: string };

export interface ChangeLog {
  entries: ChangeEntry[];
  addedAt: Map<string, number>;
  removedAt: Map<string, number>;
}

export function newChangeLog(): ChangeLog {
  return { entries: [], addedAt: new Map(), removedAt: new Map() };
}

export function append(log: ChangeLog, entry: ChangeEntry): void {
  const pos = log.entries.length;
  if (entry.kind === 'added') log.addedAt.set(entry.tx.transaction_id, pos);
  if (entry.kind === 'removed') log.removedAt.set(entry.txId, pos);
  // Transactions are frozen when recorded (items.ts), so an entry is a snapshot without a copy.
  log.entries.push(entry);
}

export interface CursorState { base: number; target: number; offset: number }

export function encodeCursor(c: CursorState, binding: string, secret: string): string {
  const body = `${c.base}.${c.target}.${c.offset}`;
  const mac = createHmac('sha256', secret).update(`${binding}|${body}`).digest('base64url').slice(0, 16);
  return Buffer.from(`${body}.${mac}`).toString('base64url');
}

export function decodeCursor(cursor: string, binding: string, secret: string): CursorState {
  const invalid = () => fail('INVALID_FIELD', 'cursor is not valid for this item; use the next_cursor from a previous response or omit it to start over');
  let text: string;
  try { text = Buffer.from(cursor, 'base64url').toString('utf8'); } catch { return invalid(); }
  const m = /^(\d+)\.(\d+)\.(\d+)\.([A-Za-z0-9_-]{16})$/.exec(text);
  if (!m) return invalid();
  const c = { base: Number(m[1]), target: Number(m[2]), offset: Number(m[3]) };
  if (encodeCursor(c, binding, secret) !== cursor || c.base > c.target) return invalid();
  return c;
}

export interface NetChange { kind: 'added' | 'modified' | 'removed'; tx?: PlaidTransaction; txId: string; accountId: string }

/** The net effect of log[base, target), ordered by each transaction's last change in the window. */
export function netChanges(log: ChangeLog, base: number, target: number, accountId?: string): NetChange[] {
  const last = new Map<string, { pos: number; entry: ChangeEntry }>();
  const lastContent = new Map<string, PlaidTransaction>();
  for (let pos = base; pos < target; pos++) {
    const entry = log.entries[pos]!;
    const id = entry.kind === 'removed' ? entry.txId : entry.tx.transaction_id;
    last.set(id, { pos, entry });
    if (entry.kind !== 'removed') lastContent.set(id, entry.tx);
  }
  const out: Array<NetChange & { pos: number }> = [];
  for (const [id, { pos, entry }] of last) {
    const added = log.addedAt.get(id) ?? Infinity;
    const removed = log.removedAt.get(id) ?? Infinity;
    const before = added < base && !(removed < base);
    const after = added < target && !(removed < target);
    const account = entry.kind === 'removed' ? entry.accountId : entry.tx.account_id;
    if (accountId && account !== accountId) continue;
    if (before && !after) out.push({ kind: 'removed', txId: id, accountId: account, pos });
    else if (!before && after) out.push({ kind: 'added', tx: lastContent.get(id)!, txId: id, accountId: account, pos });
    else if (before && after) out.push({ kind: 'modified', tx: lastContent.get(id)!, txId: id, accountId: account, pos });
  }
  return out.sort((a, b) => a.pos - b.pos);
}

export interface SyncPage {
  added: PlaidTransaction[];
  modified: PlaidTransaction[];
  removed: Array<{ transaction_id: string; account_id: string }>;
  next: CursorState;
  hasMore: boolean;
}

/** One page from `start` (already decoded; null = from the beginning). */
export function syncPage(log: ChangeLog, start: CursorState | null, pageSize: number, accountId?: string): SyncPage {
  const len = log.entries.length;
  let window: CursorState;
  if (!start) window = { base: 0, target: len, offset: 0 };
  else if (start.offset === 0) window = { base: start.base, target: len, offset: 0 };
  else {
    if (len > start.target) fail('TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION');
    window = start;
  }
  if (window.target > len) fail('INVALID_FIELD', 'cursor is not valid for this item');
  const changes = netChanges(log, window.base, window.target, accountId);
  const slice = changes.slice(window.offset, window.offset + pageSize);
  const hasMore = window.offset + pageSize < changes.length;
  const page: SyncPage = {
    added: [], modified: [], removed: [], hasMore,
    next: hasMore ? { ...window, offset: window.offset + pageSize } : { base: window.target, target: window.target, offset: 0 },
  };
  for (const c of slice) {
    if (c.kind === 'removed') page.removed.push({ transaction_id: c.txId, account_id: c.accountId });
    else page[c.kind].push(c.tx!);
  }
  return page;
}
