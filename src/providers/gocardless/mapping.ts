/**
 * GoCardless's shapes as Causeway's (pure). Amounts arrive as decimal strings, already signed the way
 * Causeway signs them (negative: money out of the account), and become integer minor units by the
 * currency's ISO 4217 exponent (the one money conversion, domain/money.ts).
 */
import { createHash } from 'node:crypto';
import type { ProviderAccount, ProviderInstitution, ProviderTransaction } from '../types.js';
import { amountToMinor } from '../../domain/money.js';
import type { CachedAccount } from './grant.js';
import type { GcBalance, GcInstitution, GcTransaction } from './wire.js';

/**
 * Refresh limits. GoCardless allows about four successful calls a day per account and scope, so
 * four refreshes a day; at least an hour between two keeps a burst of refreshes from spending the
 * day's four calls in minutes while a user who just paid still sees it within the hour. Per client,
 * GoCardless allows 100 account calls a minute for the whole company; a refresh takes about three per
 * account (metadata, balances, transactions), so 15 starts a minute with 5 at once stays well inside.
 */
export const GOCARDLESS_LIMITS = { refreshesPerDay: 4, minIntervalSeconds: 3600, maxConcurrentRefreshes: 5, refreshesPerMinute: 15 } as const;

const days = (v: string | undefined): number | null => {
  const n = Number(v);
  return v !== undefined && Number.isInteger(n) && n > 0 ? n : null;
};

export function institutionFromGoCardless(i: GcInstitution, country: string): ProviderInstitution {
  return {
    id: i.id,
    name: i.name,
    country,
    methods: ['openbanking'],
    // identity: the account holder's name from the account details.
    products: ['accounts', 'balances', 'transactions', 'identity'],
    logo: i.logo && /^https:\/\//.test(i.logo) ? i.logo : null,
    primaryColor: null,
    url: null,
    alwaysMfa: false,
    historyDays: days(i.transaction_total_days),
    maxAccessDays: days(i.max_access_valid_for_days),
    linksPendingTransactions: false,
    limits: { ...GOCARDLESS_LIMITS },
  };
}

/**
 * Berlin Group balance types in the order they answer "current" (the ledger: booked only) and
 * "available" (what can be spent). A bank sends some subset; the first one present wins.
 */
export const CURRENT_ORDER = ['closingBooked', 'interimBooked', 'expected', 'openingBooked', 'forwardAvailable', 'interimAvailable', 'closingAvailable', 'information', 'nonInvoiced'];
export const AVAILABLE_ORDER = ['interimAvailable', 'expected', 'closingAvailable', 'forwardAvailable'];

function pick(balances: readonly GcBalance[], order: readonly string[]): GcBalance | null {
  for (const type of order) {
    const found = balances.filter((b) => b.balanceType === type);
    if (found.length === 0) continue;
    // Several of one type (a bank may send one per reference date): the latest.
    return found.reduce((a, b) => ((b.referenceDate ?? b.lastChangeDateTime ?? '') > (a.referenceDate ?? a.lastChangeDateTime ?? '') ? b : a));
  }
  return null;
}

/** Current and available balances, in minor units of the account's currency, from the balance types the bank sent. */
export function balancesFromGoCardless(balances: readonly GcBalance[], currency: string): { current: number; available: number | null; limit: number | null; currency: string } | null {
  const usable = balances.filter((b) => b.balanceAmount && typeof b.balanceAmount.amount === 'string');
  const sameCurrency = currency ? usable.filter((b) => (b.balanceAmount.currency ?? '').toUpperCase() === currency) : usable;
  const pool = sameCurrency.length > 0 ? sameCurrency : usable;
  const current = pick(pool, CURRENT_ORDER) ?? pool[0] ?? null;
  if (!current) return null;
  const cur = (current.balanceAmount.currency || currency).toUpperCase();
  const available = pick(pool, AVAILABLE_ORDER);
  return {
    current: amountToMinor(current.balanceAmount.amount, cur),
    available: available ? amountToMinor(available.balanceAmount.amount, cur) : null,
    limit: null,
    currency: cur,
  };
}

export function accountFromCache(a: CachedAccount, balances: ProviderAccount['balances'], currency: string): ProviderAccount {
  return { id: a.key, name: a.name, type: a.type, mask: a.mask, currency, balances };
}

const dayOf = (v: string | undefined): string | null => (v && /^\d{4}-\d{2}-\d{2}/.test(v) ? v.slice(0, 10) : null);

function describe(t: GcTransaction): string {
  const parts = [
    t.remittanceInformationUnstructured,
    t.remittanceInformationUnstructuredArray?.filter(Boolean).join(' '),
    t.remittanceInformationStructured,
    t.remittanceInformationStructuredArray?.filter(Boolean).join(' '),
    t.additionalInformation,
  ];
  const text = parts.find((p) => p && p.trim())?.trim();
  if (text) return text;
  const outflow = t.transactionAmount.amount.trim().startsWith('-');
  return (outflow ? t.creditorName ?? t.debtorName : t.debtorName ?? t.creditorName)?.trim() ?? '';
}

/** The content of a transaction without an id of its own, for a stable id: the same row gives the same id in every answer. */
function contentOf(accountKey: string, status: string, t: GcTransaction): string {
  return JSON.stringify([
    accountKey, status, t.bookingDate ?? t.bookingDateTime ?? null, t.valueDate ?? t.valueDateTime ?? null,
    t.transactionAmount.amount.trim(), t.transactionAmount.currency.toUpperCase(),
    t.creditorName ?? null, t.creditorAccount?.iban ?? t.creditorAccount?.bban ?? null,
    t.debtorName ?? null, t.debtorAccount?.iban ?? t.debtorAccount?.bban ?? null,
    t.remittanceInformationUnstructured ?? null, t.remittanceInformationUnstructuredArray ?? null,
    t.remittanceInformationStructured ?? null, t.additionalInformation ?? null, t.entryReference ?? null,
  ]);
}

const short = (text: string, n: number) => createHash('sha256').update(text, 'utf8').digest('hex').slice(0, n);

/**
 * One account's answer as Causeway's transactions. Ids: the bank's transactionId, else GoCardless's
 * internalTransactionId, namespaced by the account (banks number transactions per account, and
 * Causeway keys them per connection); else a hash of the content, with an occurrence counter for
 * identical rows in the same answer (two coffees the same day), so the nth copy keeps its id.
 */
export function transactionsFromGoCardless(account: CachedAccount, booked: readonly GcTransaction[], pending: readonly GcTransaction[]): ProviderTransaction[] {
  const out: ProviderTransaction[] = [];
  const seen = new Map<string, number>();
  const ns = short(account.key, 8);
  const rows: Array<[GcTransaction, 'posted' | 'pending']> = [...booked.map((t) => [t, 'posted'] as [GcTransaction, 'posted']), ...pending.map((t) => [t, 'pending'] as [GcTransaction, 'pending'])];
  for (const [t, status] of rows) {
    if (!t.transactionAmount || typeof t.transactionAmount.amount !== 'string') continue;
    const date = dayOf(t.bookingDate) ?? dayOf(t.bookingDateTime) ?? dayOf(t.valueDate) ?? dayOf(t.valueDateTime);
    // No date at all: left for a later answer in which the bank has dated it.
    if (!date) continue;
    const own = t.transactionId?.trim() || t.internalTransactionId?.trim();
    let id: string;
    if (own) {
      // A bank that repeats an id within one answer: the later copies are told apart by their order.
      const n = (seen.get(`id\0${own}`) ?? 0) + 1;
      seen.set(`id\0${own}`, n);
      id = n === 1 ? `${ns}.${own}` : `${ns}.${own}~${n}`;
    } else {
      const content = contentOf(account.key, status, t);
      const n = (seen.get(content) ?? 0) + 1;
      seen.set(content, n);
      id = `${ns}.h${short(`${content}\0${n}`, 32)}`;
    }
    const currency = (t.transactionAmount.currency || account.currency).toUpperCase();
    const amount = amountToMinor(t.transactionAmount.amount, currency);
    out.push({
      id,
      accountId: account.key,
      status,
      amount,
      currency,
      date,
      authorizedDate: null,
      description: describe(t),
      merchantName: amount < 0 ? t.creditorName?.trim() || null : null,
      category: null,
      pendingTransactionId: null,
    });
  }
  return out;
}
