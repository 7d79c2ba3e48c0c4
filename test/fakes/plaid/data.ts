/**
 * Accounts, transactions and identity in Plaid's wire shapes, generated deterministically.
 *
 * Sign convention (Plaid's): a transaction `amount` is positive when money leaves the account
 * (a purchase, a bill) and negative when it arrives (payroll, a refund, interest). A credit card
 * balance `current` is the amount owed, positive. JPY amounts carry no minor unit.
 */
import type { AccountTemplate, FakeInstitution } from './institutions.js';
import { rng, type IdSource, type Rng } from './random.js';

export interface PlaidBalances {
  available: number | null;
  current: number | null;
  limit: number | null;
  iso_currency_code: string | null;
  unofficial_currency_code: string | null;
}

export interface PlaidAccount {
  account_id: string;
  balances: PlaidBalances;
  mask: string | null;
  name: string;
  official_name: string | null;
  type: 'depository' | 'credit';
  subtype: string;
  holder_category: 'personal';
}

/** A transaction exactly as /transactions/sync returns it. */
export interface PlaidTransaction {
  transaction_id: string;
  account_id: string;
  amount: number;
  iso_currency_code: string | null;
  unofficial_currency_code: string | null;
  date: string;
  authorized_date: string | null;
  authorized_datetime: string | null;
  datetime: string | null;
  name: string;
  merchant_name: string | null;
  merchant_entity_id: string | null;
  original_description: string | null;
  pending: boolean;
  pending_transaction_id: string | null;
  account_owner: string | null;
  payment_channel: 'online' | 'in store' | 'other';
  transaction_type: 'digital' | 'place' | 'special' | 'unresolved';
  transaction_code: string | null;
  personal_finance_category: { primary: string; detailed: string; confidence_level: string } | null;
  personal_finance_category_icon_url: string;
  category: string[] | null;
  category_id: string | null;
  check_number: string | null;
  location: { address: string | null; city: string | null; region: string | null; postal_code: string | null; country: string | null; lat: number | null; lon: number | null; store_number: string | null };
  payment_meta: { reference_number: string | null; ppd_id: string | null; payee: string | null; by_order_of: string | null; payer: string | null; payment_method: string | null; payment_processor: string | null; reason: string | null };
  logo_url: string | null;
  website: string | null;
  counterparties: Array<{ name: string; type: string; website: string | null; logo_url: string | null; entity_id: string | null; confidence_level: string }>;
}

const SUBTYPE: Record<AccountTemplate['kind'], [PlaidAccount['type'], string]> = {
  checking: ['depository', 'checking'],
  savings: ['depository', 'savings'],
  'money market': ['depository', 'money market'],
  'credit card': ['credit', 'credit card'],
};

export function buildAccount(t: AccountTemplate, accountId: string): PlaidAccount {
  const [type, subtype] = SUBTYPE[t.kind];
  const jpy = t.currency === 'JPY';
  const balances: PlaidBalances = t.kind === 'credit card'
    ? { available: 1590, current: 410, limit: 2000, iso_currency_code: t.currency, unofficial_currency_code: null }
    : t.kind === 'checking'
      ? { available: 100, current: 110, limit: null, iso_currency_code: t.currency, unofficial_currency_code: null }
      : { available: jpy ? 1_250_000 : 200, current: jpy ? 1_250_000 : 210, limit: null, iso_currency_code: t.currency, unofficial_currency_code: null };
  return { account_id: accountId, balances, mask: t.mask, name: t.name, official_name: t.officialName, type, subtype, holder_category: 'personal' };
}

interface Merchant {
  name: string;
  merchant: string | null;
  pfc: [string, string];
  channel: PlaidTransaction['payment_channel'];
  min: number;
  max: number;
  on: Array<'checking' | 'credit card' | 'savings' | 'jpy'>;
  website?: string;
}

/** Everyday spending, drawn at random. */
const SPENDING: Merchant[] = [
  { name: 'Starbucks', merchant: 'Starbucks', pfc: ['FOOD_AND_DRINK', 'FOOD_AND_DRINK_COFFEE'], channel: 'in store', min: 3, max: 9, on: ['checking', 'credit card'], website: 'starbucks.com' },
  { name: 'Café Olé Bäckerei', merchant: 'Café Olé', pfc: ['FOOD_AND_DRINK', 'FOOD_AND_DRINK_COFFEE'], channel: 'in store', min: 3, max: 12, on: ['checking', 'credit card'] },
  { name: 'Uber 063015 SF**POOL**', merchant: 'Uber', pfc: ['TRANSPORTATION', 'TRANSPORTATION_TAXIS_AND_RIDE_SHARES'], channel: 'online', min: 6, max: 40, on: ['credit card'], website: 'uber.com' },
  { name: 'AMZN Mktp US*2K4L81', merchant: 'Amazon', pfc: ['GENERAL_MERCHANDISE', 'GENERAL_MERCHANDISE_ONLINE_MARKETPLACES'], channel: 'online', min: 10, max: 150, on: ['credit card', 'checking'], website: 'amazon.com' },
  { name: "McDonald's #4471", merchant: "McDonald's", pfc: ['FOOD_AND_DRINK', 'FOOD_AND_DRINK_FAST_FOOD'], channel: 'in store', min: 5, max: 15, on: ['checking', 'credit card'], website: 'mcdonalds.com' },
  { name: 'WHOLEFDS MKT 10234', merchant: 'Whole Foods Market', pfc: ['FOOD_AND_DRINK', 'FOOD_AND_DRINK_GROCERIES'], channel: 'in store', min: 20, max: 180, on: ['checking', 'credit card'], website: 'wholefoodsmarket.com' },
  { name: 'SHELL OIL 57444', merchant: 'Shell', pfc: ['TRANSPORTATION', 'TRANSPORTATION_GAS'], channel: 'in store', min: 25, max: 70, on: ['credit card'], website: 'shell.com' },
  { name: 'ATM WITHDRAWAL 4521 MAIN ST', merchant: null, pfc: ['TRANSFER_OUT', 'TRANSFER_OUT_WITHDRAWAL'], channel: 'other', min: 20, max: 200, on: ['checking'] },
  { name: 'Tokyo Metro', merchant: 'Tokyo Metro', pfc: ['TRANSPORTATION', 'TRANSPORTATION_PUBLIC_TRANSIT'], channel: 'in store', min: 180, max: 1200, on: ['jpy'] },
];

/** Monthly items: [day of month, account kind, name, merchant, pfc, amount, channel]. */
const MONTHLY: Array<[number, 'checking' | 'credit card' | 'savings' | 'jpy', string, string | null, [string, string], number, PlaidTransaction['payment_channel']]> = [
  [1, 'checking', 'RENT PAYMENT ONLINE', null, ['RENT_AND_UTILITIES', 'RENT_AND_UTILITIES_RENT'], 1450, 'other'],
  [3, 'credit card', 'Netflix', 'Netflix', ['ENTERTAINMENT', 'ENTERTAINMENT_TV_AND_MOVIES'], 15.49, 'online'],
  [7, 'credit card', 'Spotify USA', 'Spotify', ['ENTERTAINMENT', 'ENTERTAINMENT_MUSIC_AND_AUDIO'], 10.99, 'online'],
  [9, 'checking', 'PG&E WEB ONLINE', 'PG&E', ['RENT_AND_UTILITIES', 'RENT_AND_UTILITIES_GAS_AND_ELECTRICITY'], 86.12, 'online'],
  [12, 'checking', 'Touchstone Climbing', 'Touchstone', ['PERSONAL_CARE', 'PERSONAL_CARE_GYMS_AND_FITNESS_CENTERS'], 85, 'in store'],
  [15, 'checking', 'ACME CORP PAYROLL PPD ID: 1234567890', null, ['INCOME', 'INCOME_WAGES'], -2450, 'other'],
  [20, 'checking', 'CREDIT CARD 3333 PAYMENT *//', null, ['LOAN_PAYMENTS', 'LOAN_PAYMENTS_CREDIT_CARD_PAYMENT'], 500, 'other'],
  [20, 'credit card', 'PAYMENT - THANK YOU', null, ['LOAN_PAYMENTS', 'LOAN_PAYMENTS_CREDIT_CARD_PAYMENT'], -500, 'other'],
  [22, 'checking', 'Transfer to savings', null, ['TRANSFER_OUT', 'TRANSFER_OUT_SAVINGS'], 200, 'other'],
  [22, 'savings', 'Transfer from checking', null, ['TRANSFER_IN', 'TRANSFER_IN_ACCOUNT_TRANSFER'], -200, 'other'],
  [28, 'savings', 'INTEREST PAYMENT', null, ['INCOME', 'INCOME_INTEREST_EARNED'], -1.37, 'other'],
  [25, 'jpy', 'Furikomi Salary Transfer', null, ['INCOME', 'INCOME_WAGES'], -320_000, 'other'],
  [27, 'jpy', 'Lawson Konbini', 'Lawson', ['FOOD_AND_DRINK', 'FOOD_AND_DRINK_GROCERIES'], 864, 'in store'],
];

export const isoDate = (d: Date) => d.toISOString().slice(0, 10);
const addDays = (d: Date, n: number) => new Date(d.getTime() + n * 86_400_000);

function accountKey(a: PlaidAccount): 'checking' | 'credit card' | 'savings' | 'jpy' | 'other' {
  if (a.balances.iso_currency_code === 'JPY') return 'jpy';
  if (a.subtype === 'checking' || a.subtype === 'credit card' || a.subtype === 'savings') return a.subtype;
  return 'other';
}

function roundFor(currency: string | null, x: number): number {
  return currency === 'JPY' ? Math.round(x) : Math.round(x * 100) / 100;
}

interface TxInput {
  id: string;
  account: PlaidAccount;
  date: Date;
  name: string;
  merchant: string | null;
  pfc: [string, string];
  amount: number;
  channel: PlaidTransaction['payment_channel'];
  pending: boolean;
  website?: string | undefined;
  country?: string;
}

export function makeTransaction(t: TxInput): PlaidTransaction {
  const currency = t.account.balances.iso_currency_code;
  const card = t.channel === 'in store' || t.channel === 'online';
  const slug = t.merchant?.toLowerCase().replace(/[^a-z0-9]+/g, '') ?? null;
  const entity = slug ? `ent_${slug.padEnd(10, 'x').slice(0, 10)}` : null;
  const website = t.website ?? null;
  const logo = slug && website ? `https://plaid-merchant-logos.plaid.com/${slug}.png` : null;
  return {
    transaction_id: t.id,
    account_id: t.account.account_id,
    amount: roundFor(currency, t.amount),
    iso_currency_code: currency,
    unofficial_currency_code: null,
    date: isoDate(t.date),
    authorized_date: card ? isoDate(addDays(t.date, t.pending ? 0 : -1)) : null,
    authorized_datetime: null,
    datetime: null,
    name: t.name,
    merchant_name: t.merchant,
    merchant_entity_id: entity,
    original_description: null,
    pending: t.pending,
    pending_transaction_id: null,
    account_owner: null,
    payment_channel: t.channel,
    transaction_type: t.channel === 'online' ? 'digital' : t.channel === 'in store' ? 'place' : 'special',
    transaction_code: t.country && t.country !== 'US' && t.country !== 'CA' ? (t.amount < 0 ? 'credit' : card ? 'purchase' : 'direct debit') : null,
    personal_finance_category: { primary: t.pfc[0], detailed: t.pfc[1], confidence_level: 'VERY_HIGH' },
    personal_finance_category_icon_url: `https://plaid-category-icons.plaid.com/PFC_${t.pfc[0]}.png`,
    category: null,
    category_id: null,
    check_number: null,
    location: { address: null, city: t.channel === 'in store' ? 'San Francisco' : null, region: t.channel === 'in store' ? 'CA' : null, postal_code: null, country: t.channel === 'in store' ? 'US' : null, lat: null, lon: null, store_number: null },
    payment_meta: { reference_number: null, ppd_id: t.pfc[1] === 'INCOME_WAGES' ? '1234567890' : null, payee: null, by_order_of: null, payer: null, payment_method: null, payment_processor: null, reason: null },
    logo_url: logo,
    website,
    counterparties: t.merchant ? [{ name: t.merchant, type: 'merchant', website, logo_url: logo, entity_id: entity, confidence_level: 'VERY_HIGH' }] : [],
  };
}

/** Activity any account can have (a savings or money market account has no card spending). */
const DEPOSIT: Merchant = { name: 'ONLINE TRANSFER FROM CHK 0000', merchant: null, pfc: ['TRANSFER_IN', 'TRANSFER_IN_ACCOUNT_TRANSFER'], channel: 'other', min: -300, max: -20, on: [] };

function spendingFor(r: Rng, accounts: PlaidAccount[]): { account: PlaidAccount; m: Merchant } {
  const usable = SPENDING.filter((m) => accounts.some((a) => m.on.includes(accountKey(a) as Merchant['on'][number])));
  if (!usable.length) return { account: r.pick(accounts), m: DEPOSIT };
  const m = r.pick(usable);
  return { account: r.pick(accounts.filter((a) => m.on.includes(accountKey(a) as Merchant['on'][number]))), m };
}

export interface HistoryOptions {
  ids: IdSource;
  seed: string;
  /** How many transactions the Item starts with. */
  count: number;
  /** Days of history the generated transactions span. */
  days: number;
  /** How many of the most recent purchases are still pending. */
  pending: number;
  today: Date;
  country: string;
}

/** An Item's starting history: monthly bills and income, then purchases up to `count`, newest first. */
export function buildHistory(accounts: PlaidAccount[], o: HistoryOptions): PlaidTransaction[] {
  const r = rng(o.seed);
  const out: PlaidTransaction[] = [];
  const byKey = new Map(accounts.map((a) => [accountKey(a), a] as const));
  for (let back = o.days; back >= 1; back--) {
    const day = addDays(o.today, -back);
    for (const [dom, key, name, merchant, pfc, amount, channel] of MONTHLY) {
      const account = byKey.get(key);
      if (account && day.getUTCDate() === dom) {
        out.push(makeTransaction({ id: o.ids.alnum('tx'), account, date: day, name, merchant, pfc, amount, channel, pending: false, country: o.country }));
      }
    }
  }
  out.sort((a, b) => b.date.localeCompare(a.date));
  const recurring = out.slice(0, Math.max(0, o.count - o.pending));
  const purchases: PlaidTransaction[] = [];
  for (let i = 0; recurring.length + purchases.length < o.count; i++) {
    const { account, m } = spendingFor(r, accounts);
    const pending = i < o.pending;
    const back = pending ? r.int(0, 2) : r.int(1, o.days);
    purchases.push(makeTransaction({ id: o.ids.alnum('tx'), account, date: addDays(o.today, -back), name: m.name, merchant: m.merchant, pfc: m.pfc, amount: m.min + r.next() * (m.max - m.min), channel: m.channel, pending, website: m.website, country: o.country }));
  }
  return [...recurring, ...purchases].sort((a, b) => b.date.localeCompare(a.date) || a.transaction_id.localeCompare(b.transaction_id));
}

/** New activity for `addTransactions(itemId, n)`: dated today, spread over the Item's accounts. */
export function freshTransactions(accounts: PlaidAccount[], n: number, o: { ids: IdSource; seed: string; today: Date; country: string; pending?: boolean }): PlaidTransaction[] {
  const r = rng(o.seed);
  return Array.from({ length: n }, () => {
    const { account, m } = spendingFor(r, accounts);
    return makeTransaction({ id: o.ids.alnum('tx'), account, date: o.today, name: m.name, merchant: m.merchant, pfc: m.pfc, amount: m.min + r.next() * (m.max - m.min), channel: m.channel, pending: o.pending ?? false, website: m.website, country: o.country });
  });
}

/** What Plaid does when a pending transaction posts: a new transaction pointing back at it. */
export function postedFrom(p: PlaidTransaction, id: string, today: Date): PlaidTransaction {
  return { ...p, transaction_id: id, pending: false, pending_transaction_id: p.transaction_id, date: isoDate(today), authorized_date: p.authorized_date ?? p.date };
}

export interface Owner {
  names: string[];
  emails: Array<{ data: string; primary: boolean; type: 'primary' | 'secondary' | 'other' }>;
  phone_numbers: Array<{ data: string; primary: boolean; type: 'home' | 'work' | 'office' | 'mobile' | 'mobile1' | 'other' }>;
  addresses: Array<{ data: { street: string; city: string | null; region: string | null; postal_code: string | null; country: string | null }; primary: boolean }>;
}

/** Account holders: one owner everywhere; savings accounts are joint. */
export function ownersFor(inst: FakeInstitution, account: PlaidAccount): Owner[] {
  const gb = inst.country_codes.includes('GB');
  const main: Owner = {
    names: ['Alberta Bobbeth Charleson'],
    emails: [{ data: 'accountholder0@example.com', primary: true, type: 'primary' }, { data: 'alberta.c@example.org', primary: false, type: 'secondary' }],
    phone_numbers: [{ data: gb ? '+447700900123' : '+14155550123', primary: true, type: 'mobile' }, { data: gb ? '+442079460000' : '+14155550199', primary: false, type: 'home' }],
    addresses: [gb
      ? { data: { street: '10 Platypus Lane', city: 'London', region: null, postal_code: 'SW1A 1AA', country: 'GB' }, primary: true }
      : { data: { street: '2992 Cameron Road', city: 'Malakoff', region: 'NY', postal_code: '14236', country: 'US' }, primary: true }],
  };
  if (account.subtype !== 'savings') return [main];
  const joint: Owner = {
    names: ['Bob B. Charleson'],
    emails: [{ data: 'bob.charleson@example.com', primary: true, type: 'primary' }],
    phone_numbers: [{ data: gb ? '+447700900456' : '+14155550456', primary: true, type: 'mobile' }],
    addresses: main.addresses,
  };
  return [main, joint];
}
