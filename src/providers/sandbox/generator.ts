/**
 * Turns a persona's ledger into what the provider returns for a given `now`: accounts with
 * balances, and transactions with their status as of that day. Pure functions of
 * (persona, now, options), so the same inputs give byte-identical output.
 */
import type { ProviderAccount, ProviderTransaction } from '../types.js';
import { civilOf, dayFromCivil, dayOf, isoOf, parseIsoDay } from './calendar.js';
import { runLedger, type LedgerCheckpoint, type LedgerSnapshot } from './ledger.js';
import { ANCHOR_DAY, type AccountSpec, type Persona } from './persona.js';
import { hashHex } from './random.js';
import type { Entry } from './spending.js';

export { ANCHOR_DAY } from './persona.js';
export const ANCHOR_DATE = isoOf(ANCHOR_DAY);
export const CURRENCY = 'AUD';

export interface GenerateOptions {
  /** Show accounts that only appear after the first sync (user_new_accounts). */
  includeLateAccounts: boolean;
}

function visibleAccounts(p: Persona, opts: GenerateOptions): AccountSpec[] {
  return p.accounts.filter((a) => opts.includeLateAccounts || !a.appearsAfterFirstSync);
}

/** First day the institution still shows: the same date twelve months before `now` (Feb 29 → Feb 28). */
export function historyStartDay(now: Date): number {
  const c = civilOf(dayOf(now));
  const day = c.month === 2 && c.day === 29 ? 28 : c.day;
  return dayFromCivil(c.year - 1, c.month, day);
}

function toAccount(a: AccountSpec, snap: LedgerSnapshot): ProviderAccount {
  const current = snap.balances[a.index] ?? 0;
  const pending = snap.pending[a.index] ?? 0;
  let available: number | null = current + pending;
  if (a.type === 'loan' || a.type === 'mortgage') available = null;
  else if (a.type === 'credit_card') available = (a.limit ?? 0) + current + pending;
  return {
    id: a.id, name: a.name, type: a.type, mask: a.mask, currency: CURRENCY,
    balances: { current, available, limit: a.type === 'credit_card' ? a.limit : null },
  };
}

/**
 * Replaying a persona from the anchor takes milliseconds of CPU. Two caches make it cheap:
 * - recent replays, so a sync's accounts and transactions calls share one (collecting the entries
 *   of the last COLLECT_DAYS on a first sync, REFRESH_COLLECT_DAYS later, so the transactions call
 *   can reuse the accounts call's);
 * - per-persona checkpoints of the ledger's state every CHECKPOINT_EVERY days, so a later replay
 *   (the next refresh, a day later) resumes from the last checkpoint instead of from the anchor.
 * Both hold only derived data: results are identical with or without them (a unit test checks).
 * Snapshots are shared, so callers only read them.
 */
const CACHE_SIZE = 128;
const COLLECT_DAYS = 400;
const REFRESH_COLLECT_DAYS = 64;
const CHECKPOINT_PERSONAS = 512;
const KEEP_BEHIND_DAYS = 128;
const replays = new Map<string, { collectFrom: number; snap: LedgerSnapshot }>();
const checkpoints = new Map<string, LedgerCheckpoint[]>();

function remember<K, V>(map: Map<K, V>, key: K, value: V, max: number): void {
  map.delete(key);
  map.set(key, value); // a Map keeps insertion order: the first key is the least recently used
  if (map.size > max) map.delete(map.keys().next().value!);
}

/** The latest checkpoint strictly before `beforeDay` (entries after it are replayed and collected). */
function checkpointBefore(seed: string, beforeDay: number): LedgerCheckpoint | undefined {
  const list = checkpoints.get(seed);
  if (!list) return undefined;
  for (let i = list.length - 1; i >= 0; i--) if (list[i]!.day < beforeDay) return list[i];
  return undefined;
}

function ledger(p: Persona, throughDay: number, collectFrom = Number.POSITIVE_INFINITY): LedgerSnapshot {
  const key = `${p.seed}|${throughDay}`;
  const hit = replays.get(key);
  if (hit && hit.collectFrom <= collectFrom) {
    remember(replays, key, hit, CACHE_SIZE);
    return hit.snap;
  }
  // A first sync reads a year of transactions; later refreshes read about a month (plus pending).
  const known = checkpoints.get(p.seed) ?? [];
  const from = Math.min(collectFrom, throughDay - (known.length > 0 ? REFRESH_COLLECT_DAYS : COLLECT_DAYS));
  const snap = runLedger(p, throughDay, from, {
    from: checkpointBefore(p.seed, Math.min(from, throughDay + 1)),
    onCheckpoint: (c) => { if (!known.some((k) => k.day === c.day)) known.push(c); },
  });
  // Time only moves forward: keep the checkpoints a later replay can start from (about 16 a persona).
  const kept = known.filter((c) => c.day >= from - KEEP_BEHIND_DAYS).sort((a, b) => a.day - b.day);
  remember(checkpoints, p.seed, kept, CHECKPOINT_PERSONAS);
  remember(replays, key, { collectFrom: from, snap }, CACHE_SIZE);
  return snap;
}

/** Test hook: forget every cached replay and checkpoint. */
export function clearLedgerCaches(): void {
  replays.clear();
  checkpoints.clear();
}

export function generateAccounts(p: Persona, now: Date, opts: GenerateOptions): ProviderAccount[] {
  const snap = ledger(p, dayOf(now));
  return visibleAccounts(p, opts).map((a) => toAccount(a, snap));
}

export function transactionId(accountId: string, authDay: number, key: string): string {
  return `sbx_txn_${hashHex(`${accountId}|${authDay}|${key}`)}`;
}

/** The entry as seen on `today`: pending, posted, or gone (a cancelled authorisation past its day). */
function materialise(p: Persona, account: AccountSpec, e: Entry, today: number): ProviderTransaction | null {
  if (e.authDay > today) return null;
  const postedId = transactionId(account.id, e.authDay, e.key);
  const pendingId = `${postedId}_p`;
  const posted = e.postDay <= today;
  if (posted && e.cancelled) return null;
  const base = {
    accountId: account.id, amount: e.amount, currency: CURRENCY, description: e.description,
    merchantName: e.merchantName, category: e.category,
  };
  if (!posted) {
    return { id: pendingId, status: 'pending', date: isoOf(e.authDay), authorizedDate: isoOf(e.authDay), pendingTransactionId: null, ...base };
  }
  const linked = e.pendingPhase && p.linksPending;
  return {
    id: postedId, status: 'posted', date: isoOf(e.postDay),
    // An institution that does not link pending to posted does not tell the authorisation date either.
    authorizedDate: linked ? isoOf(e.authDay) : null,
    pendingTransactionId: linked ? pendingId : null, ...base,
  };
}

export interface DayRange {
  from: string;
  to: string;
}

/**
 * Every transaction dated in [from, to] as seen on `now`: posted ones by posting date, pending ones
 * by authorisation date. No history limit here (the provider applies the institution's); days after
 * `now` are never returned. Order: newest date first, then account, then generation order.
 */
export function generateTransactions(p: Persona, range: DayRange, now: Date, opts: GenerateOptions): ProviderTransaction[] {
  const from = parseIsoDay(range.from);
  const to = parseIsoDay(range.to);
  if (from === null || to === null) throw new RangeError(`invalid date range ${range.from}..${range.to}`);
  const today = dayOf(now);
  const last = Math.min(to, today);
  if (last < from) return [];
  const visible = new Set(visibleAccounts(p, opts).map((a) => a.index));
  // Entries authorised up to maxPostDelay days before `from` may post inside the range.
  const snap = ledger(p, last, from - p.maxPostDelay);
  const rows: { t: ProviderTransaction; account: number; order: number }[] = [];
  snap.entries.forEach((e, order) => {
    const account = p.accounts[e.account];
    if (!account || !visible.has(e.account)) return;
    const t = materialise(p, account, e, today);
    if (t && t.date >= range.from && t.date <= range.to) rows.push({ t, account: e.account, order });
  });
  rows.sort((a, b) => (a.t.date < b.t.date ? 1 : a.t.date > b.t.date ? -1 : a.account - b.account || a.order - b.order));
  return rows.map((r) => r.t);
}

/**
 * The posted (ledger) balance of an account at the end of `date`: anchorBalance plus every amount
 * posted on days in (ANCHOR_DATE, date]. Exported so tests can check that balances and
 * transactions agree: for from < to ≤ now, the posted transactions dated in (from, to] sum to
 * postedBalanceOn(to) − postedBalanceOn(from).
 */
export function postedBalanceOn(p: Persona, accountId: string, date: string): number {
  const day = parseIsoDay(date);
  if (day === null) throw new RangeError(`invalid date ${date}`);
  const account = p.accounts.find((a) => a.id === accountId);
  if (!account) throw new RangeError(`unknown sandbox account ${accountId}`);
  return ledger(p, day).balances[account.index] ?? 0;
}

/** The balance each account had at the end of ANCHOR_DATE, before any generated history. */
export function anchorBalanceOf(p: Persona, accountId: string): number {
  const account = p.accounts.find((a) => a.id === accountId);
  if (!account) throw new RangeError(`unknown sandbox account ${accountId}`);
  return account.anchorBalance;
}
