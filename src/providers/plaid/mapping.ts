/**
 * Plaid's shapes as Causeway's (pure). Signs: Plaid reports money out of an account as a positive
 * transaction amount and a credit card's or loan's debt as a positive balance; Causeway stores money
 * out as negative and debt as a negative balance (ProviderAccount, ProviderTransaction).
 */
import type {
  AccountBase, AccountIdentity, Institution, LinkSessionSuccessMetadataAccount, Transaction,
} from 'plaid';
import type { AccountType, Product } from '../../domain/types.js';
import type { ProviderAccount, ProviderIdentity, ProviderInstitution, ProviderTransaction } from '../types.js';
import { amountToMinor } from '../../domain/money.js';

/** Plaid products behind each Causeway product the adapter can deliver (both ways). */
const PRODUCT_FROM_PLAID: Readonly<Record<string, Product>> = {
  transactions: 'transactions',
  balance: 'balances',
  auth: 'balances',
  identity: 'identity',
};

/**
 * Institution products. `accounts` always: /accounts/get answers for every Item. Investments are left
 * out although Plaid has them: the Provider interface has no call that reads holdings.
 */
export function productsFromPlaid(products: readonly string[]): Product[] {
  const out = new Set<Product>(['accounts']);
  for (const p of products) {
    const mapped = PRODUCT_FROM_PLAID[p];
    if (mapped) out.add(mapped);
  }
  return [...out];
}

/**
 * The Plaid products Link asks for. `accounts` and `balances` are not Plaid products (every Item has
 * accounts and cached balances), so a link for those alone asks for `transactions`: the product with
 * the widest institution coverage, and the one Causeway syncs anyway.
 */
export function plaidProductsFor(products: readonly Product[]): ('transactions' | 'identity')[] {
  const out: ('transactions' | 'identity')[] = [];
  if (products.includes('transactions')) out.push('transactions');
  if (products.includes('identity')) out.push('identity');
  return out.length > 0 ? out : ['transactions'];
}

/**
 * Plaid's limits, not a bank's: a sync reads Plaid's copy, which Plaid refreshes from the bank by
 * itself (about 1–4 times a day) and announces by webhook. So a sync an hour is plenty, at most one
 * a minute per connection keeps well under Plaid's per-Item limits (/accounts/get 15 a minute), and
 * 300 starts a minute with 20 at once stays under the per-client limits (/transactions/sync 2,500 a
 * minute) even when a refresh takes several pages.
 */
export const PLAID_LIMITS = { refreshesPerDay: 24, minIntervalSeconds: 60, maxConcurrentRefreshes: 20, refreshesPerMinute: 300 } as const;

export function institutionFromPlaid(i: Institution): ProviderInstitution {
  return {
    id: i.institution_id,
    name: i.name,
    country: i.country_codes[0] ?? 'US',
    methods: ['hosted'],
    products: productsFromPlaid(i.products),
    logo: i.logo ? `data:image/png;base64,${i.logo}` : null,
    primaryColor: i.primary_color && /^#[0-9a-f]{6}$/i.test(i.primary_color) ? i.primary_color.toLowerCase() : null,
    url: i.url ?? null,
    alwaysMfa: false,
    linksPendingTransactions: true,
    limits: { ...PLAID_LIMITS },
  };
}

const SAVINGS_SUBTYPES = new Set(['savings', 'money market', 'cd', 'hsa', 'cash isa', 'education savings account', 'health reimbursement arrangement']);
const MORTGAGE_SUBTYPES = new Set(['mortgage', 'home equity', 'home equity loan']);

export function accountTypeFromPlaid(type: string, subtype: string | null | undefined): AccountType {
  const sub = subtype ?? '';
  switch (type) {
    case 'depository': return SAVINGS_SUBTYPES.has(sub) ? 'savings' : 'transaction';
    case 'credit': return 'credit_card';
    case 'loan': return MORTGAGE_SUBTYPES.has(sub) ? 'mortgage' : 'loan';
    case 'investment':
    case 'brokerage': return 'investment';
    default: return 'transaction';
  }
}

/** Debt accounts: Plaid's positive `current` is what is owed, which Causeway stores negative. */
function owes(type: AccountType): boolean {
  return type === 'credit_card' || type === 'loan' || type === 'mortgage';
}

function currencyOf(b: { iso_currency_code?: string | null; unofficial_currency_code?: string | null }): string {
  return (b.iso_currency_code ?? b.unofficial_currency_code ?? 'USD').toUpperCase();
}

function negate(n: number): number {
  return n === 0 ? 0 : -n;
}

export function accountFromPlaid(a: AccountBase | AccountIdentity): ProviderAccount {
  const type = accountTypeFromPlaid(a.type, a.subtype);
  const currency = currencyOf(a.balances);
  const minor = (v: number | null | undefined) => (v === null || v === undefined ? null : amountToMinor(v, currency));
  const available = minor(a.balances.available);
  const limit = minor(a.balances.limit);
  let owedOrHeld = minor(a.balances.current);
  if (owedOrHeld === null) {
    // Plaid may leave `current` null when `available` is known: a card owes its limit less what is available.
    owedOrHeld = type === 'credit_card' && limit !== null && available !== null ? limit - available : available ?? 0;
  }
  return {
    id: a.account_id,
    name: a.name || a.official_name || 'Account',
    type,
    // Plaid may not know the mask; '' says "unknown" where '0000' would look like real digits.
    mask: a.mask ?? '',
    currency,
    balances: { current: owes(type) ? negate(owedOrHeld) : owedOrHeld, available, limit },
  };
}

export function transactionFromPlaid(t: Transaction): ProviderTransaction {
  const currency = currencyOf(t);
  return {
    id: t.transaction_id,
    accountId: t.account_id,
    status: t.pending ? 'pending' : 'posted',
    // Plaid: positive is money out. Causeway: negative is money out.
    amount: negate(amountToMinor(t.amount, currency)),
    currency,
    date: t.date,
    authorizedDate: t.authorized_date ?? null,
    description: t.name || t.original_description || t.merchant_name || '',
    merchantName: t.merchant_name ?? null,
    category: t.personal_finance_category?.primary ? t.personal_finance_category.primary.toLowerCase() : null,
    pendingTransactionId: t.pending_transaction_id ?? null,
  };
}

export function linkAccountsFromPlaid(accounts: readonly LinkSessionSuccessMetadataAccount[]): { name: string; mask: string | null }[] {
  return accounts.map((a) => ({ name: a.name ?? '', mask: a.mask ?? null }));
}

const PHONE_TYPES: Readonly<Record<string, 'mobile' | 'home' | 'work'>> = { mobile: 'mobile', mobile1: 'mobile', home: 'home', work: 'work', office: 'work' };

/** Owners of every account merged: each name, email, phone and address once, primary if any account says so. */
export function identityFromPlaid(accounts: readonly AccountIdentity[]): ProviderIdentity {
  const names = new Set<string>();
  const emails = new Map<string, ProviderIdentity['emails'][number]>();
  const phones = new Map<string, ProviderIdentity['phones'][number]>();
  const addresses = new Map<string, ProviderIdentity['addresses'][number]>();
  for (const account of accounts) {
    for (const owner of account.owners ?? []) {
      for (const n of owner.names ?? []) if (n.trim()) names.add(n.trim());
      for (const e of owner.emails ?? []) {
        const key = e.data.trim().toLowerCase();
        if (!key) continue;
        const seen = emails.get(key);
        emails.set(key, { address: seen?.address ?? e.data.trim(), primary: (seen?.primary ?? false) || e.primary });
      }
      for (const p of owner.phone_numbers ?? []) {
        const key = p.data.replace(/[^\d+]/g, '');
        if (!key) continue;
        const seen = phones.get(key);
        // Plaid's `other` (and any type it adds) reads as home: the least specific of Causeway's three.
        phones.set(key, { number: seen?.number ?? p.data.trim(), type: seen?.type ?? PHONE_TYPES[p.type] ?? 'home', primary: (seen?.primary ?? false) || p.primary });
      }
      for (const a of owner.addresses ?? []) {
        const d = a.data;
        const value = { line1: d.street ?? '', city: d.city ?? '', region: d.region ?? '', postalCode: d.postal_code ?? '', country: d.country ?? '' };
        const key = JSON.stringify([value.line1, value.city, value.region, value.postalCode, value.country].map((s) => s.toLowerCase()));
        const seen = addresses.get(key);
        addresses.set(key, { ...value, primary: (seen?.primary ?? false) || (a.primary ?? false) });
      }
    }
  }
  return { names: [...names], emails: [...emails.values()], phones: [...phones.values()], addresses: [...addresses.values()] };
}
