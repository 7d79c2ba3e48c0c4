/**
 * What a GoCardless link keeps as its access token: a JSON document only this adapter reads (the
 * engine stores it encrypted). It names the requisition and its agreement and caches what the data
 * calls need from each account's details, read once at link time: the details scope is metered like
 * the others (about four calls a day), and the name, currency and owner do not change between runs.
 *
 * Each account has a stable key (ProviderAccount.id): the bank's resourceId, else a hash of the IBAN
 * (with the currency: multi-currency accounts share one IBAN), never GoCardless's account uuid,
 * which is new with every requisition. So a repair's new requisition maps to the same Causeway accounts.
 */
import { createHash } from 'node:crypto';
import type { AccountType } from '../../domain/types.js';
import { ProviderError, type ProviderLink } from '../types.js';
import type { GcAccount, GcDetails } from './wire.js';

export interface CachedAccount {
  /** GoCardless's account uuid under this requisition. */
  id: string;
  /** The stable key (ProviderAccount.id). */
  key: string;
  name: string;
  currency: string;
  /** Last four characters of the IBAN, BBAN or card number; '' when the bank gives none. */
  mask: string;
  type: AccountType;
  ownerName: string | null;
  /** A hash of the IBAN (never the IBAN itself), to recognise the account in a later requisition. */
  ibanHash: string | null;
}

export interface GrantToken {
  v: 1;
  requisitionId: string;
  agreementId: string | null;
  institutionId: string;
  /** The agreement's max_historical_days: how far back transactions can be asked for. */
  historyDays: number | null;
  accounts: CachedAccount[];
}

const sha = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(text: string): boolean {
  return UUID.test(text);
}

export function encodeGrant(g: GrantToken): string {
  return JSON.stringify(g);
}

/** The adapter's own token, or null when `token` is not one (a bare requisition id, say). */
export function tryDecodeGrant(token: string): GrantToken | null {
  if (!token.startsWith('{')) return null;
  try {
    const g = JSON.parse(token) as Partial<GrantToken>;
    if (g.v !== 1 || typeof g.requisitionId !== 'string' || typeof g.institutionId !== 'string' || !Array.isArray(g.accounts)) return null;
    return g as GrantToken;
  } catch {
    return null;
  }
}

export function grantOf(link: ProviderLink): GrantToken {
  if (link.access.kind !== 'token') {
    throw new ProviderError('provider_error', 'A GoCardless link holds a requisition, not web credentials.', false, 'NOT_A_TOKEN');
  }
  const g = tryDecodeGrant(link.access.token);
  if (!g) throw new ProviderError('provider_error', 'This GoCardless link\'s access is not one the adapter issued (import the requisition to adopt it).', false, 'NOT_A_GRANT');
  return g;
}

/** LinkSession.reference: the requisition and its agreement, `<requisition uuid>:<agreement uuid>`. */
export function encodeReference(requisitionId: string, agreementId: string): string {
  return `${requisitionId}:${agreementId}`;
}

export function decodeReference(reference: string): { requisitionId: string; agreementId: string | null } {
  const [requisitionId = '', agreementId] = reference.split(':');
  if (!isUuid(requisitionId)) throw new ProviderError('provider_error', `Not a GoCardless link reference: ${JSON.stringify(reference)}`, false, 'BAD_REFERENCE');
  return { requisitionId, agreementId: agreementId && isUuid(agreementId) ? agreementId : null };
}

/** A requisition reference unique per agreement, tied to the connection's state without carrying it. */
export function requisitionReference(state: string, agreementId: string): string {
  return `causeway-${sha(`${state}\0${agreementId}`).slice(0, 40)}`;
}

const normalise = (s: string) => s.replace(/\s+/g, '').toUpperCase();

export function ibanHashOf(iban: string | undefined): string | null {
  return iban && iban.trim() ? sha(`iban\0${normalise(iban)}`).slice(0, 40) : null;
}

/** ISO 20022 cash account types (DetailSchema.cashAccountType) as Causeway's. */
const TYPES: Readonly<Record<string, AccountType>> = {
  CACC: 'transaction', TRAN: 'transaction', SLRY: 'transaction', NREX: 'transaction', ODFT: 'transaction', CASH: 'transaction',
  SVGS: 'savings', LLSV: 'savings', ONDP: 'savings', MOMA: 'savings',
  CARD: 'credit_card',
  LOAN: 'loan', MGLD: 'loan',
};

export function accountTypeOf(cashAccountType: string | undefined): AccountType {
  return TYPES[(cashAccountType ?? '').toUpperCase()] ?? 'transaction';
}

function last4(...candidates: Array<string | undefined>): string {
  for (const c of candidates) {
    const digits = (c ?? '').replace(/[^0-9A-Za-z]/g, '');
    if (digits.length >= 4) return digits.slice(-4);
  }
  return '';
}

/** The stable key of an account from its details (and metadata for what details leave out). */
export function stableKeyOf(d: GcDetails, meta: GcAccount | null): string {
  const resourceId = d.resourceId?.trim();
  if (resourceId) return resourceId;
  const iban = d.iban ?? meta?.iban;
  const currency = (d.currency ?? '').toUpperCase();
  if (iban?.trim()) return `iban-${sha(`${normalise(iban)}\0${currency}`).slice(0, 32)}`;
  const other = d.bban ?? meta?.bban ?? d.scan ?? d.maskedPan;
  if (other?.trim()) return `acct-${sha(`${normalise(other)}\0${currency}`).slice(0, 32)}`;
  // Nothing the bank keeps across consents: GoCardless's own id, stable only while this requisition lives.
  return `gc-${meta?.id ?? 'unknown'}`;
}

/** What the data calls need from one account, read once from its details and metadata. */
export function cacheAccount(id: string, d: GcDetails, meta: GcAccount | null): CachedAccount {
  const type = accountTypeOf(d.cashAccountType);
  const currency = (d.currency ?? '').toUpperCase();
  const mask = last4(d.iban ?? meta?.iban, d.bban ?? meta?.bban, d.scan, d.maskedPan);
  const name = d.name?.trim() || d.displayName?.trim() || d.product?.trim() || meta?.name?.trim() || (mask ? `Account ${mask}` : 'Account');
  const ownerName = d.ownerName?.trim() || meta?.owner_name?.trim() || null;
  return { id, key: stableKeyOf(d, meta), name, currency, mask, type, ownerName, ibanHash: ibanHashOf(d.iban ?? meta?.iban) };
}
