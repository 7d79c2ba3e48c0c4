/**
 * A persona: everything fixed about one sandbox customer at one institution (their accounts,
 * income, housing, habits), drawn once from the seed (institution, login). The ledger then plays
 * this persona forward day by day.
 */
import type { AccountType } from '../../domain/types.js';
import { dayFromCivil } from './calendar.js';
import {
  CITIES, EMPLOYERS, ENERGY, GYMS, HEALTH_FUNDS, LETTING_AGENTS, PHONE_PLANS, SUBSCRIPTIONS,
  type City, type Recurring, type Suburb,
} from './catalogue.js';
import type { SandboxInstitution } from './institutions.js';
import { Rng, at, hashHex, hashString } from './random.js';

/** Balances are defined at the end of this day; history starts the day after. */
export const ANCHOR_DAY = dayFromCivil(2020, 1, 1);

export type Role = 'everyday' | 'savings' | 'card' | 'mortgage' | 'loan' | 'goal';

export interface AccountSpec {
  id: string;
  /** Position in persona.accounts; the ledger keys balances by it. */
  index: number;
  role: Role;
  type: AccountType;
  name: string;
  mask: string;
  /** Posted balance at the end of ANCHOR_DAY (cents; negative when owed). */
  anchorBalance: number;
  /** Credit limit (cards only). */
  limit: number | null;
  /** Interest earned (deposits) or charged (loans), per year. */
  annualRate: number;
  /** Loans: the fixed monthly repayment; goal saver: the monthly deposit. */
  monthlyAmount: number;
  dayOfMonth: number;
  /** Loans are redrawn in cycles (a new car every few years) so a loan stays open: first new drawdown and period. */
  drawdown: { amount: number; firstDay: number; everyDays: number } | null;
  /** Only visible once the link has synced before (user_new_accounts). */
  appearsAfterFirstSync: boolean;
}

export interface MonthlyCharge {
  item: Recurring;
  dayOfMonth: number;
}

export interface Persona {
  institutionId: string;
  login: string;
  seed: string;
  seedHash: number;
  linksPending: boolean;
  /** Longest authorisation→posting delay in days (shorter where the institution does not link). */
  maxPostDelay: number;
  accounts: AccountSpec[];
  city: City;
  /** Where this persona shops: their suburb first. */
  suburbs: Suburb[];
  /** The same as statement text ("NEWTOWN NSW"), computed once. */
  suburbLabels: string[];
  /** Paydays are the days d with d % 14 === payPhase (always a Thursday). */
  payPhase: number;
  /** Fortnightly net pay at the anchor, in cents; it rises with priceLevel. */
  salary: number;
  employer: string;
  rent: { amount: number; dayOfMonth: number; agent: string } | null;
  /** Multiplies discretionary spending probabilities. */
  spendScale: number;
  subscriptions: MonthlyCharge[];
  phone: MonthlyCharge;
  /** Quarterly energy bill: months where month % 3 === phase. */
  energy: MonthlyCharge & { monthPhase: number };
  health: MonthlyCharge;
  gym: MonthlyCharge | null;
  cardRepayDay: number;
  /** After each payday the everyday balance is swept to this target (to or from savings). */
  sweepTarget: number;
  sweepFloor: number;
}

/** Average monthly discretionary spend (everyday + card, cents) at spendScale 1 and 2019 prices, measured from spending.ts. */
const DISCRETIONARY_MONTHLY = 180_000;

/** Prices and pay rise 3% each July (Australian financial year), so the budget stays balanced for years. */
export function priceLevel(year: number, month: number): number {
  const years = Math.max(0, (month >= 7 ? year : year - 1) - 2019);
  // The ledger asks once a simulated day: each year's level is computed once (the same value).
  return PRICE_LEVELS[years] ??= 1.03 ** years;
}
const PRICE_LEVELS: number[] = [];

/** Fixed monthly repayment that pays `principal` off in `months` at `annualRate`. */
export function amortisedRepayment(principal: number, annualRate: number, months: number): number {
  const i = annualRate / 12;
  return Math.ceil((principal * i) / (1 - (1 + i) ** -months));
}

/** Balance still owed after `paid` monthly repayments of `repayment` (closed form). */
function owedAfter(principal: number, annualRate: number, repayment: number, paid: number): number {
  const i = annualRate / 12;
  const g = (1 + i) ** paid;
  return Math.round(principal * g - (repayment * (g - 1)) / i);
}

function cents(rng: Rng, minDollars: number, maxDollars: number, step = 1): number {
  return rng.int(Math.ceil(minDollars / step), Math.floor(maxDollars / step)) * step * 100;
}

/**
 * Where someone lives follows the person, not the bank: the same login shops in the same suburbs
 * at every institution, and identity.ts gives them an address there. Home suburb first.
 */
export function homeOf(login: string): { city: City; suburbs: Suburb[] } {
  const home = new Rng(hashString(`person|${login}`));
  const city = home.pick(CITIES);
  const start = home.int(0, city.suburbs.length - 1);
  return { city, suburbs: [0, 1, 2].map((k) => at(city.suburbs, (start + k) % city.suburbs.length)) };
}

export function buildPersona(institution: SandboxInstitution, login: string): Persona {
  const seed = `${institution.id}|${login}`;
  const seedHash = hashString(seed);
  const rng = new Rng(seedHash);
  const { city, suburbs } = homeOf(login);

  const names = institution.productNames;
  const accounts: AccountSpec[] = [];
  const add = (role: Role, type: AccountType, name: string, fields: Partial<AccountSpec>): AccountSpec => {
    const id = `sbx_acc_${hashHex(`${seed}|${role}`)}`;
    const spec: AccountSpec = {
      id, index: accounts.length, role, type, name, mask: String(hashString(id) % 10000).padStart(4, '0'),
      anchorBalance: 0, limit: null, annualRate: 0, monthlyAmount: 0, dayOfMonth: 1, drawdown: null,
      appearsAfterFirstSync: false, ...fields,
    };
    accounts.push(spec);
    return spec;
  };

  add('everyday', 'transaction', names.everyday, { anchorBalance: cents(rng, 1500, 4500) + rng.int(0, 99) });
  add('savings', 'savings', names.savings, {
    anchorBalance: cents(rng, 6000, 28000) + rng.int(0, 99), annualRate: rng.int(350, 450) / 10000,
  });
  add('card', 'credit_card', names.card, {
    anchorBalance: -(cents(rng, 200, 1400) + rng.int(0, 99)), limit: cents(rng, 8000, 20000, 1000),
  });

  let housing = 0;
  const owner = rng.chance(0.6);
  if (owner) {
    const principal = cents(rng, 380_000, 720_000, 1000);
    const annualRate = rng.int(540, 640) / 10000;
    const repayment = amortisedRepayment(principal, annualRate, 360);
    const paid = rng.int(12, 60);
    housing = repayment;
    add('mortgage', 'mortgage', names.mortgage, {
      anchorBalance: -owedAfter(principal, annualRate, repayment, paid), annualRate, monthlyAmount: repayment,
      dayOfMonth: rng.int(1, 28),
    });
  }
  const rent = owner ? null : {
    amount: cents(rng, 1900, 2900, 10), dayOfMonth: rng.int(1, 28), agent: rng.pick(LETTING_AGENTS),
  };
  if (rent) housing = rent.amount;

  let loanRepayment = 0;
  if (!owner || rng.chance(0.4)) {
    const principal = cents(rng, 18_000, 42_000, 500);
    const annualRate = rng.int(650, 950) / 10000;
    const term = rng.pick([60, 72, 84]);
    const repayment = amortisedRepayment(principal, annualRate, term);
    const paid = rng.int(6, 30);
    loanRepayment = repayment;
    // The next car comes a few months after this loan is repaid.
    const firstDay = ANCHOR_DAY + Math.round((term - paid) * 30.44) + rng.int(60, 150);
    add('loan', 'loan', names.loan, {
      anchorBalance: -owedAfter(principal, annualRate, repayment, paid), annualRate, monthlyAmount: repayment,
      dayOfMonth: rng.int(1, 28),
      drawdown: { amount: principal, firstDay, everyDays: Math.round(term * 30.44) + rng.int(60, 150) },
    });
  }
  if (login === 'user_new_accounts') {
    add('goal', 'savings', names.goal, {
      anchorBalance: 0, annualRate: 0.0475, monthlyAmount: cents(rng, 150, 400, 10), dayOfMonth: rng.int(1, 28),
      appearsAfterFirstSync: true,
    });
  }

  const monthly = (item: Recurring): MonthlyCharge => ({ item, dayOfMonth: rng.int(1, 28) });
  const subscriptions = [...SUBSCRIPTIONS].filter(() => rng.chance(0.5)).map(monthly);
  const phone = monthly(rng.pick(PHONE_PLANS));
  const energy = { ...monthly(rng.pick(ENERGY)), monthPhase: rng.int(0, 2) };
  const health = monthly(rng.pick(HEALTH_FUNDS));
  const gym = rng.chance(0.5) ? monthly(rng.pick(GYMS)) : null;
  const spendScale = rng.int(80, 125) / 100;

  // Pay is sized from the outgoings with a margin, so the surplus drifts into savings for years.
  let fixedMonthly = housing + loanRepayment + phone.item.amount + energy.item.amount / 3 + health.item.amount;
  for (const s of subscriptions) fixedMonthly += s.item.amount;
  if (gym) fixedMonthly += gym.item.amount;
  const outgoings = fixedMonthly + DISCRETIONARY_MONTHLY * spendScale;
  const salary = Math.round((outgoings * 12 * rng.int(106, 116)) / 100 / 26 / 100) * 100 + rng.int(0, 99);

  return {
    institutionId: institution.id, login, seed, seedHash, linksPending: institution.linksPendingTransactions,
    maxPostDelay: institution.linksPendingTransactions ? 5 : 3, accounts, city, suburbs,
    suburbLabels: suburbs.map((s) => `${s.name.toUpperCase()} ${city.state}`),
    payPhase: rng.chance(0.5) ? 0 : 7, salary, employer: rng.pick(EMPLOYERS), rent, spendScale,
    subscriptions, phone, energy, health, gym, cardRepayDay: rng.int(10, 25),
    sweepTarget: cents(rng, 2000, 4000, 100), sweepFloor: 40_000,
  };
}
