/**
 * SimpleFIN's accounts and transactions as Causeway's. The bridge is one "institution" in the
 * catalogue (SimpleFIN lists no banks: the user links them at their bridge), and an access URL may
 * reach accounts at many banks at once.
 *
 * Ids: the protocol makes an account id unique within its organisation (v1) or connection (v2), and
 * a transaction id unique within its account only. Account ids are the bridge's own (the SimpleFIN
 * Bridge's `ACT-<uuid>` are unique); a second account with an id already seen in the same answer is
 * told apart by its organisation. Transaction ids are always `<account id>:<transaction id>`, so
 * two accounts' transaction 1 never meet. The bridge keeps a transaction's id when it posts, so a
 * pending transaction that posts updates in place.
 */
import type { AccountType } from '../../domain/types.js';
import { amountToMinor } from '../../domain/money.js';
import { ProviderError, type ProviderAccount, type ProviderInstitution, type ProviderTransaction } from '../types.js';
import { cleanText, type SfinAccount, type SfinAccountSet, type SfinTransaction } from './wire.js';

export const BRIDGE_INSTITUTION_ID = 'bridge';

/**
 * The SimpleFIN Bridge's allowance, from its support (actual#3228): about 24 requests a day per
 * access URL are expected, more than 48 draw a warning and 96 are blocked. A refresh is one request
 * (two to five when it must reach further back than 90 days, a first sync of a year), and each retry
 * of a failed one is another, so 12 refreshes a day (every two hours in the background) stays inside
 * the expected 24. The bridge itself reads the banks about once a day, so refreshing more often than
 * every half hour finds nothing new. All of an application's SimpleFIN links share this one
 * institution and one bridge host, which has blocked bursts before (actual#7785): 10 at once, 120 a minute.
 */
export const BRIDGE_LIMITS = { refreshesPerDay: 12, minIntervalSeconds: 1800, maxConcurrentRefreshes: 10, refreshesPerMinute: 120 } as const;

export function bridgeInstitution(): ProviderInstitution {
  return {
    id: BRIDGE_INSTITUTION_ID,
    name: 'SimpleFIN Bridge',
    country: 'US',
    methods: ['token'],
    products: ['accounts', 'balances', 'transactions'],
    logo: null,
    primaryColor: null,
    url: 'https://bridge.simplefin.org',
    alwaysMfa: false,
    historyDays: null,
    maxAccessDays: null,
    linksPendingTransactions: false,
    limits: { ...BRIDGE_LIMITS },
  };
}

/**
 * An ISO 4217 code, or XXX ("no currency", ISO 4217) for SimpleFIN's custom currencies (a URL naming
 * points or miles): Causeway keeps money as a code and minor units, and fetching the currency's URL
 * would be one more request to an address the bridge chose.
 */
export function currencyOf(currency: string): string {
  const code = currency.trim().toUpperCase();
  return /^[A-Z]{3}$/.test(code) ? code : 'XXX';
}

/** First match wins: a "Credit Union" in a name says nothing of the account, and a savings or loan name beats a card brand. */
const TYPE_BY_NAME: [RegExp, AccountType][] = [
  [/mortgage|home equity|heloc/i, 'mortgage'],
  [/saving|money market|\bmma\b|\bcd\b|certificate of deposit|\bhsa\b|high.yield/i, 'savings'],
  [/loan|line of credit|\bloc\b/i, 'loan'],
  [/credit|card|visa|master ?card|amex|american express|discover|sapphire/i, 'credit_card'],
  [/brokerage|invest|401\s?\(?k|\bira\b|roth|403\s?\(?b|\b529\b|retirement|pension|stock|crypto|bitcoin|trading/i, 'investment'],
];

/** The account's kind as its name tells (SimpleFIN has no type field); otherwise an everyday account. */
export function accountTypeOf(name: string): AccountType {
  const told = name.replace(/credit union/gi, ' ');
  for (const [pattern, type] of TYPE_BY_NAME) if (pattern.test(told)) return type;
  return 'transaction';
}

/** The last four digits a name or id shows ("Checking ...1234", "Visa (1234)"), or '' when it shows none. */
export function maskOf(name: string, id: string): string {
  for (const text of [name, id]) {
    const runs = text.match(/\d{4,}/g);
    if (runs && runs.length > 0) return runs[runs.length - 1]!.slice(-4);
  }
  return '';
}

function money(value: string | number, currency: string, what: string): number {
  try {
    return amountToMinor(value, currency);
  } catch {
    throw new ProviderError('provider_error', `The SimpleFIN bridge sent an amount that is not a number (${what}).`, false, 'BAD_AMOUNT');
  }
}

/** Where the account comes from: its v2 connection, else its v1 organisation. */
function originOf(a: SfinAccount): string {
  return a.conn_id ?? a.org?.id ?? a.org?.domain ?? a.org?.name ?? a.org?.['sfin-url'] ?? '';
}

/** Causeway's id for each of the answer's accounts, in order: the bridge's id, told apart by origin only when it repeats. */
export function accountIdsOf(answer: SfinAccountSet): string[] {
  const seen = new Set<string>();
  return answer.accounts.map((a) => {
    let id = a.id;
    if (seen.has(id)) id = `${originOf(a)}/${a.id}`;
    seen.add(id);
    return id;
  });
}

export function accountOf(a: SfinAccount, id: string, opts: { balances: boolean }): ProviderAccount {
  const currency = currencyOf(a.currency);
  const name = cleanText(a.name, 200) || 'SimpleFIN account';
  let balances: ProviderAccount['balances'] = null;
  if (opts.balances) {
    const current = money(a.balance, currency, `balance of account ${id}`);
    const available = a['available-balance'];
    // "available-balance may be omitted if it is the same as balance" (protocol).
    balances = { current, available: available == null ? current : money(available, currency, `available balance of account ${id}`), limit: null };
  }
  return { id, name, type: accountTypeOf(name), mask: maskOf(name, a.id), currency, balances };
}

const day = (epochSeconds: number) => new Date(epochSeconds * 1000).toISOString().slice(0, 10);

export function transactionOf(t: SfinTransaction, accountId: string, currency: string, now: Date): ProviderTransaction {
  const pending = t.pending === true || t.posted === 0;
  const transacted = t.transacted_at && t.transacted_at > 0 ? t.transacted_at : null;
  // Posted: the posting date. Pending: when it happened, else when the bridge says it will post, else today.
  const date = pending ? day(transacted ?? (t.posted > 0 ? t.posted : Math.floor(now.getTime() / 1000))) : day(t.posted);
  const category = typeof t.extra?.category === 'string' ? cleanText(t.extra.category, 100) || null : null;
  const description = cleanText(t.description, 500) || cleanText(t.memo, 500) || cleanText(t.payee, 500);
  return {
    id: `${accountId}:${t.id}`,
    accountId,
    status: pending ? 'pending' : 'posted',
    amount: money(t.amount, currency, `transaction ${t.id}`),
    currency,
    date,
    authorizedDate: transacted ? day(transacted) : null,
    description,
    merchantName: cleanText(t.payee, 200) || null,
    category,
    pendingTransactionId: null,
  };
}
