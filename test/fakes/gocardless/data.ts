/**
 * The fake's bank data: each (institution, bank login) holds accounts that stay the same across
 * requisitions (IBAN, resourceId, owner), as a real bank login does, so a repair's new requisition
 * reads the same accounts under new GoCardless uuids. Content comes from a seeded generator.
 *
 * The current account has a resourceId; the savings account has none (its stable key must come from
 * the IBAN). Its history mixes bank transaction ids, GoCardless internal ids only, and rows with no
 * id at all, two of them identical (two coffees the same day), and it has two pending rows, one
 * without an id.
 */
import type { Rng } from '../plaid/random.js';
import type { FakeInstitution } from './institutions.js';

export interface BankTx {
  transactionId?: string;
  internalTransactionId?: string;
  bookingDate?: string;
  valueDate: string;
  /** Minor units (two decimals), signed: negative is money out. */
  amount: number;
  creditorName?: string;
  creditorIban?: string;
  debtorName?: string;
  debtorIban?: string;
  remittance: string;
}

export interface GcBalanceJson {
  balanceAmount: { amount: string; currency: string };
  balanceType: string;
  referenceDate?: string;
  creditLimitIncluded?: boolean;
}

export interface BankAccount {
  /** The fake's own handle: `<institution>/<login>/<n>`. */
  ref: string;
  institutionId: string;
  login: string;
  resourceId?: string;
  iban: string;
  currency: string;
  name: string;
  product: string;
  cashAccountType: string;
  ownerName: string;
  booked: BankTx[];
  pending: BankTx[];
  /** Minor units: the balance before the oldest booked transaction. */
  opening: number;
  /** Overdraft the bank adds to the available balance. */
  creditLine: number;
  /** Balances as set by a test, instead of those computed from the transactions. */
  balancesOverride: GcBalanceJson[] | null;
}

export interface BankLogin { institutionId: string; login: string; accounts: BankAccount[] }

const MERCHANTS = ['Corner Café', 'Fresh Market', 'City Transit', 'Bookshop & Co', 'Energy Supply Ltd', 'Cinema Paradiso', 'Pharmacy Plus', 'Hardware Hub'];
const DAY_MS = 86_400_000;

export const dayOf = (d: Date) => d.toISOString().slice(0, 10);
export const addDays = (day: string, n: number) => dayOf(new Date(Date.parse(`${day}T00:00:00Z`) + n * DAY_MS));

export function decimal(minor: number): string {
  const sign = minor < 0 ? '-' : '';
  const abs = Math.abs(minor);
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
}

function digits(r: Rng, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += String(r.int(0, 9));
  return s;
}

export function ownerOf(login: string): string {
  if (login === 'default') return 'Jamie Rivera';
  return login.split(/[^a-zA-Z]+/).filter(Boolean).map((w) => w[0]!.toUpperCase() + w.slice(1)).join(' ') || 'Account Holder';
}

export class TxIds {
  private n = 0;
  constructor(private readonly prefix: string) {}
  next(kind: 'bank' | 'internal'): string {
    this.n += 1;
    return kind === 'bank' ? `${this.prefix}-${String(this.n).padStart(6, '0')}` : `int${this.prefix.toLowerCase()}${String(this.n).padStart(8, '0')}`;
  }
}

/** One generated outflow or inflow on `day`; ids by the row's position in the history (see the header). */
export function makeTx(r: Rng, ids: TxIds, day: string, i: number, booked: boolean): BankTx {
  const inflow = i % 9 === 0;
  const merchant = r.pick(MERCHANTS);
  const amount = inflow ? r.int(50_000, 250_000) : -r.int(150, 9_000);
  const tx: BankTx = { valueDate: day, amount, remittance: inflow ? 'Salary' : `Card payment ${merchant}` };
  if (booked) tx.bookingDate = day;
  if (inflow) { tx.debtorName = 'Acme Employer GmbH'; tx.debtorIban = 'DE89370400440532013000'; } else tx.creditorName = merchant;
  const idKind = booked ? i % 7 : i % 2 === 0 ? 0 : 5;
  if (idKind === 3) tx.internalTransactionId = ids.next('internal');
  else if (idKind !== 5) tx.transactionId = ids.next('bank');
  return tx;
}

function history(r: Rng, ids: TxIds, today: string, count: number, spanDays: number): BankTx[] {
  const out: BankTx[] = [];
  for (let i = 0; i < count; i++) out.push(makeTx(r, ids, addDays(today, -Math.floor(((count - i) * spanDays) / count)), i, true));
  // Two identical rows without ids, the same day: the second must keep its own id.
  const coffee: BankTx = { bookingDate: addDays(today, -4), valueDate: addDays(today, -4), amount: -320, creditorName: 'Corner Café', remittance: 'Card payment Corner Café' };
  out.push({ ...coffee }, { ...coffee });
  return out.sort((a, b) => (a.bookingDate ?? a.valueDate).localeCompare(b.bookingDate ?? b.valueDate));
}

export function makeLogin(inst: FakeInstitution, login: string, r: Rng, today: string): BankLogin {
  const owner = ownerOf(login);
  const bankCode = inst.bic.slice(0, 4);
  const iban = () => `${inst.ibanCountry}${digits(r, 2)}${bankCode}${digits(r, 14)}`;
  const ref = (n: number) => `${inst.id}/${login}/${n}`;
  const ids = new TxIds(`${bankCode}${digits(r, 3)}`);
  const current: BankAccount = {
    ref: ref(1), institutionId: inst.id, login, resourceId: `res-${digits(r, 10)}`, iban: iban(), currency: inst.currency,
    name: 'Current Account', product: 'Everyday Current', cashAccountType: 'CACC', ownerName: owner,
    booked: history(r, ids, today, 30, 85), pending: [], opening: 120_000, creditLine: 50_000, balancesOverride: null,
  };
  current.pending.push(makeTx(r, ids, addDays(today, -1), 2, false), makeTx(r, ids, today, 1, false));
  const savings: BankAccount = {
    ref: ref(2), institutionId: inst.id, login, iban: iban(), currency: inst.currency,
    name: 'Savings', product: 'Easy Saver', cashAccountType: 'SVGS', ownerName: owner,
    booked: [1, 2, 3].map((m) => ({ bookingDate: addDays(today, -m * 25), valueDate: addDays(today, -m * 25), amount: 25_000, transactionId: ids.next('bank'), debtorName: owner, remittance: 'Monthly saving' })),
    pending: [], opening: 500_000, creditLine: 0, balancesOverride: null,
  };
  return { institutionId: inst.id, login, accounts: [current, savings] };
}

export function txJson(t: BankTx, currency: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (t.transactionId) out.transactionId = t.transactionId;
  if (t.internalTransactionId) out.internalTransactionId = t.internalTransactionId;
  if (t.bookingDate) out.bookingDate = t.bookingDate;
  out.valueDate = t.valueDate;
  out.transactionAmount = { amount: decimal(t.amount), currency };
  if (t.creditorName) out.creditorName = t.creditorName;
  if (t.creditorIban) out.creditorAccount = { iban: t.creditorIban };
  if (t.debtorName) out.debtorName = t.debtorName;
  if (t.debtorIban) out.debtorAccount = { iban: t.debtorIban };
  out.remittanceInformationUnstructured = t.remittance;
  out.bankTransactionCode = t.amount < 0 ? 'PMNT-CCRD-POSD' : 'PMNT-RCDT-ESCT';
  return out;
}

/** closingBooked (yesterday), expected (today, pending included) and interimAvailable (with the overdraft). */
export function balancesOf(a: BankAccount, today: string): GcBalanceJson[] {
  if (a.balancesOverride) return structuredClone(a.balancesOverride);
  const booked = a.opening + a.booked.reduce((s, t) => s + t.amount, 0);
  const expected = booked + a.pending.reduce((s, t) => s + t.amount, 0);
  const amount = (minor: number) => ({ amount: decimal(minor), currency: a.currency });
  const out: GcBalanceJson[] = [
    { balanceAmount: amount(booked), balanceType: 'closingBooked', referenceDate: addDays(today, -1) },
    { balanceAmount: amount(expected), balanceType: 'expected', referenceDate: today },
  ];
  out.push({ balanceAmount: amount(expected + a.creditLine), balanceType: 'interimAvailable', creditLimitIncluded: a.creditLine > 0, referenceDate: today });
  return out;
}
