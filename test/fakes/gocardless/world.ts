/**
 * The fake's state: bank logins (data.ts), end-user agreements, requisitions and the GoCardless
 * accounts a linked requisition exposes, all under the fake's own clock.
 *
 *   requisition CR ─► page opened: GC ─► approve: UA, GA, LN (the agreement accepted, accounts created)
 *                                    ├─► deny: RJ          └─► bank error: ER
 *   LN ─► the agreement's access_valid_for_days pass: EX (accounts EXPIRED, data calls: EUA expired)
 *   any ─► setRequisitionStatus(SU) (accounts SUSPENDED) ─► DELETE: gone with its agreement and accounts
 */
import { rng, type IdSource } from '../plaid/random.js';
import { makeLogin, type BankAccount, type BankLogin } from './data.js';
import { institution, type FakeInstitution } from './institutions.js';

export type RequisitionStatus = 'CR' | 'ID' | 'LN' | 'RJ' | 'ER' | 'SU' | 'EX' | 'GC' | 'UA' | 'GA' | 'SA';

export interface Agreement {
  id: string;
  created: string;
  institution_id: string;
  max_historical_days: number;
  access_valid_for_days: number;
  access_scope: string[];
  accepted: string | null;
  reconfirmation: boolean;
  /** The requisition it is associated with, once one names it. */
  requisitionId: string | null;
}

export interface Requisition {
  id: string;
  created: string;
  redirect: string;
  /** As set; `statusOf` adds EX once the agreement has run out. */
  status: RequisitionStatus;
  institution_id: string;
  agreement: string;
  reference: string;
  accounts: string[];
  user_language: string;
  link: string;
  /** Every status it took, with when. */
  history: Array<{ status: RequisitionStatus; at: string }>;
  /** The bank login that approved it. */
  login: string | null;
}

export type AccountStatus = 'DISCOVERED' | 'PROCESSING' | 'READY' | 'ERROR' | 'SUSPENDED' | 'EXPIRED';

export interface FakeAccount {
  id: string;
  created: string;
  last_accessed: string;
  requisitionId: string;
  agreementId: string;
  bank: BankAccount;
  /** As set; `accountStatusOf` adds EXPIRED once the agreement has run out. */
  status: AccountStatus;
}

const DAY_MS = 86_400_000;

export class GcWorld {
  readonly logins = new Map<string, BankLogin>();
  readonly agreements = new Map<string, Agreement>();
  readonly requisitions = new Map<string, Requisition>();
  readonly accounts = new Map<string, FakeAccount>();

  constructor(private readonly opts: { now: () => Date; ids: IdSource; seed: string; baseUrl: () => string }) {}

  now(): Date { return this.opts.now(); }
  private stamp(): string { return this.now().toISOString(); }
  today(): string { return this.stamp().slice(0, 10); }
  uuid(kind: string): string { return this.opts.ids.uuid(kind); }

  institution(id: string): FakeInstitution | undefined { return institution(id); }

  /** The bank login's accounts, made on first use and kept for every later requisition. */
  login(institutionId: string, login = 'default'): BankLogin {
    const key = `${institutionId}/${login}`;
    let l = this.logins.get(key);
    if (!l) {
      const inst = this.institution(institutionId);
      if (!inst) throw new Error(`GoCardless fake: no institution ${institutionId}`);
      l = makeLogin(inst, login, rng(`${this.opts.seed}:${key}`), this.today());
      this.logins.set(key, l);
    }
    return l;
  }

  bankAccount(ibanOrRef: string): BankAccount {
    for (const l of this.logins.values()) for (const a of l.accounts) if (a.iban === ibanOrRef || a.ref === ibanOrRef) return a;
    throw new Error(`GoCardless fake: no bank account ${ibanOrRef}`);
  }

  agreementEnds(a: Agreement): Date | null {
    return a.accepted ? new Date(Date.parse(a.accepted) + a.access_valid_for_days * DAY_MS) : null;
  }

  agreementExpired(a: Agreement | undefined): boolean {
    const ends = a ? this.agreementEnds(a) : null;
    return ends !== null && this.now().getTime() >= ends.getTime();
  }

  statusOf(r: Requisition): RequisitionStatus {
    if (r.status === 'LN' && this.agreementExpired(this.agreements.get(r.agreement))) return 'EX';
    return r.status;
  }

  accountStatusOf(a: FakeAccount): AccountStatus {
    if (a.status !== 'SUSPENDED' && this.agreementExpired(this.agreements.get(a.agreementId))) return 'EXPIRED';
    return a.status;
  }

  createAgreement(input: Omit<Agreement, 'id' | 'created' | 'accepted' | 'reconfirmation' | 'requisitionId'>): Agreement {
    const a: Agreement = { id: this.uuid('agreement'), created: this.stamp(), accepted: null, reconfirmation: false, requisitionId: null, ...input };
    this.agreements.set(a.id, a);
    return a;
  }

  createRequisition(input: { redirect: string; institution_id: string; agreement: Agreement; reference?: string; user_language?: string }): Requisition {
    const id = this.uuid('requisition');
    const r: Requisition = {
      id, created: this.stamp(), redirect: input.redirect, status: 'CR', institution_id: input.institution_id, agreement: input.agreement.id,
      reference: input.reference ?? id, accounts: [], user_language: (input.user_language ?? 'EN').toUpperCase(),
      link: `${this.opts.baseUrl()}/psd2/start/${id}/${input.institution_id}`, history: [{ status: 'CR', at: this.stamp() }], login: null,
    };
    input.agreement.requisitionId = id;
    this.requisitions.set(id, r);
    return r;
  }

  setStatus(r: Requisition, status: RequisitionStatus): void {
    r.status = status;
    r.history.push({ status, at: this.stamp() });
    if (status === 'SU') for (const id of r.accounts) this.accounts.get(id)!.status = 'SUSPENDED';
  }

  /** The user opened the link: GoCardless's consent step. */
  open(r: Requisition): void {
    if (r.status === 'CR') this.setStatus(r, 'GC');
  }

  /** The user approved at the bank with `login`: the agreement accepted, an account per bank account. */
  approve(r: Requisition, login = 'default'): void {
    for (const s of ['GC', 'UA', 'GA'] as const) if (r.status !== s && !r.history.some((h) => h.status === s)) this.setStatus(r, s);
    const agreement = this.agreements.get(r.agreement)!;
    agreement.accepted = this.stamp();
    r.login = login;
    for (const bank of this.login(r.institution_id, login).accounts) {
      const a: FakeAccount = { id: this.uuid('account'), created: this.stamp(), last_accessed: this.stamp(), requisitionId: r.id, agreementId: agreement.id, bank, status: 'READY' };
      this.accounts.set(a.id, a);
      r.accounts.push(a.id);
    }
    this.setStatus(r, 'LN');
  }

  deny(r: Requisition): void {
    this.setStatus(r, 'RJ');
  }

  fail(r: Requisition): void {
    if (r.status === 'GC' || r.status === 'CR') this.setStatus(r, 'UA');
    this.setStatus(r, 'ER');
  }

  /** DELETE: the requisition goes with its agreement and accounts. */
  deleteRequisition(r: Requisition): void {
    for (const id of r.accounts) this.accounts.delete(id);
    this.agreements.delete(r.agreement);
    this.requisitions.delete(r.id);
  }

  /** A requisition made and linked outside Causeway (another app, the user's own script): for imports. */
  linkedRequisition(opts: { institutionId: string; login?: string; redirect?: string; reference?: string; maxHistoricalDays?: number; accessValidForDays?: number }): Requisition {
    const inst = this.institution(opts.institutionId);
    if (!inst) throw new Error(`GoCardless fake: no institution ${opts.institutionId}`);
    const agreement = this.createAgreement({
      institution_id: inst.id, access_scope: ['balances', 'details', 'transactions'],
      max_historical_days: opts.maxHistoricalDays ?? Number(inst.transaction_total_days),
      access_valid_for_days: opts.accessValidForDays ?? Number(inst.max_access_valid_for_days),
    });
    const r = this.createRequisition({ redirect: opts.redirect ?? 'https://elsewhere.example/done', institution_id: inst.id, agreement, ...(opts.reference ? { reference: opts.reference } : {}) });
    this.approve(r, opts.login);
    return r;
  }
}
