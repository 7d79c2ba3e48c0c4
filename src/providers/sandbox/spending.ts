/**
 * Day-to-day spending: the entries one account gets on one day that involve no other account
 * (card purchases, direct debits, bills). Each (account, day) has its own PRNG, so any day can be
 * generated on its own and history never changes when the clock moves.
 */
import { weekdayOf, type CivilDate } from './calendar.js';
import {
  AIRLINES, CAFES, CONVENIENCE, DELIVERY, FUEL, GROCERS, PHARMACIES, RESTAURANTS, RIDESHARE, SHOPS,
  type Category, type Merchant, type Recurring,
} from './catalogue.js';
import { type AccountSpec, type MonthlyCharge, type Persona } from './persona.js';
import { Rng, at, mixHash } from './random.js';

/** One generated transaction before it is given a status for a particular `now`. */
export interface Entry {
  /** AccountSpec.index */
  account: number;
  /** Unique within (account, authDay); feeds the transaction id. */
  key: string;
  authDay: number;
  /** Equal to authDay for entries that post at once (no pending phase). */
  postDay: number;
  /** Cents; negative is money out of the account. */
  amount: number;
  /** Authorised first and pending until postDay. */
  pendingPhase: boolean;
  /** Pending until postDay, then dropped without posting (a reversed authorisation). */
  cancelled: boolean;
  description: string;
  merchantName: string | null;
  category: Category | null;
}

export const CANCEL_RATE = 0.05;
/** Most authorisations post within two days; a few take up to five. */
const DELAY_WEIGHTS = [35, 30, 20, 10, 5];

/** Delay choices for each maxDelay, built once: postingDelay runs for every simulated purchase. */
const DELAY_CHOICES = DELAY_WEIGHTS.map((_, n) => DELAY_WEIGHTS.slice(0, n + 1).map((w, i) => [i + 1, w] as const));
const SUBURB_WEIGHTS = [[0, 6], [1, 3], [2, 1]] as const;

export function postingDelay(rng: Rng, maxDelay: number): number {
  return rng.weighted(DELAY_CHOICES[Math.min(maxDelay, DELAY_WEIGHTS.length) - 1] ?? DELAY_CHOICES[0]!);
}

class DayBuilder {
  /** Entries this builder has added (their keys count from 0 on each account-day). */
  private count = 0;
  /** Whether a card authorisation (an entry with a pending phase) was added today. */
  anyPending = false;

  constructor(
    readonly persona: Persona,
    readonly account: AccountSpec,
    readonly day: number,
    readonly civil: CivilDate,
    readonly rng: Rng,
    /** Today's prices relative to 2019, applied to discretionary spend. */
    readonly prices: number,
    /** Null on a day before the entries anyone reads: only their money goes, to `money` (see spendingFor). */
    private readonly out: Entry[] | null,
    private readonly money: MoneySink,
  ) {}

  get collect(): boolean {
    return this.out !== null;
  }

  /** A card purchase (or refund, when positive): authorised today, posting 1–5 days later. */
  purchase(merchant: Merchant, amount: number, suffix = ''): void {
    const rng = this.rng;
    let description = '';
    if (merchant.local) {
      // Mostly the home suburb, sometimes nearby, like a real person's statement.
      const suburb = rng.weighted(SUBURB_WEIGHTS);
      if (this.collect) description = `${merchant.label} ${at(this.persona.suburbLabels, suburb)}${suffix}`;
    } else if (this.collect) {
      description = merchant.label + suffix;
    }
    const delay = postingDelay(rng, this.persona.maxPostDelay);
    this.push(this.day + delay, amount, true, rng.chance(CANCEL_RATE), description, merchant.name, merchant.category);
  }

  /** A visit to one of `merchants`, spending within the merchant's usual range (skewed low when `skew`). */
  visit(merchants: readonly Merchant[], skew = false): void {
    const merchant = this.rng.pick(merchants);
    const r = skew ? this.rng.next() ** 2 : this.rng.next();
    this.purchase(merchant, -Math.round((merchant.min + (merchant.max - merchant.min) * r) * this.prices));
  }

  /** A recurring charge on its day of the month; `card` ones are authorised like purchases. */
  recurring(charge: MonthlyCharge, card: boolean, price?: number): void {
    if (this.civil.day !== charge.dayOfMonth) return;
    const item: Recurring = charge.item;
    const amount = price ?? item.amount;
    if (card) {
      // A literal of one fixed shape: a spread of `item` here took an eighth of a first sync's replay.
      this.purchase({ name: item.name, label: item.label, category: item.category, local: false, min: amount, max: amount }, -amount);
    } else {
      this.posted(-amount, item.label, item.name, item.category);
    }
  }

  /** An entry that posts on the day it happens (direct debits, ATM withdrawals). */
  posted(amount: number, description: string, merchantName: string | null, category: Category | null): void {
    this.push(this.day, amount, false, false, description, merchantName, category);
  }

  // Positional, not an object spread: it runs for every simulated entry.
  private push(
    postDay: number, amount: number, pendingPhase: boolean, cancelled: boolean,
    description: string, merchantName: string | null, category: Category | null,
  ): void {
    if (pendingPhase) this.anyPending = true;
    if (this.out) {
      this.out.push({
        account: this.account.index, key: `s${this.count}`, authDay: this.day,
        postDay, amount, pendingPhase, cancelled, description, merchantName, category,
      });
    } else {
      this.money(this.account.index, this.day, postDay, amount, pendingPhase, cancelled);
    }
    this.count++;
  }
}

function everydaySpending(b: DayBuilder): void {
  const { rng, persona, day } = b;
  const scale = persona.spendScale;
  const weekday = weekdayOf(day);
  const workday = weekday !== 0 && weekday !== 6;
  if (rng.chance(0.27 * scale)) b.visit(GROCERS);
  if (workday && rng.chance(0.55)) b.visit(CAFES);
  if (rng.chance(0.12 * scale)) b.visit(FUEL);
  if (workday && rng.chance(0.2)) {
    const fare = Math.round(rng.int(320, 1760) * b.prices);
    b.purchase({ name: persona.city.transitOperator, label: persona.city.transit, category: 'public_transport', local: false, min: fare, max: fare }, -fare);
  }
  if (rng.chance(0.04 * scale)) b.visit(PHARMACIES);
  if (rng.chance(0.015 * scale)) {
    const amount = -rng.int(1, 6) * 5000;
    const suburb = rng.pick(persona.suburbLabels);
    b.posted(amount, b.collect ? `ATM WITHDRAWAL ${suburb}` : '', null, 'cash');
  }
  // Every day has at least one card authorisation, so at any `now` something is pending
  // (today's purchases post tomorrow at the earliest): Causeway's pending handling always has work.
  if (!b.anyPending) b.visit(CONVENIENCE);
  b.recurring(persona.health, false);
}

function cardSpending(b: DayBuilder): void {
  const { rng, persona } = b;
  const scale = persona.spendScale;
  if (rng.chance(0.2 * scale)) b.visit(RESTAURANTS);
  if (rng.chance(0.09 * scale)) b.visit(DELIVERY);
  if (rng.chance(0.08 * scale)) b.visit(SHOPS, true);
  if (rng.chance(0.05 * scale)) b.visit(RIDESHARE);
  if (rng.chance(0.004 * scale)) b.visit(AIRLINES);
  if (rng.chance(0.012)) {
    const shop = rng.pick(SHOPS);
    b.purchase(shop, Math.round((shop.min + (shop.max - shop.min) * rng.next() ** 2) * b.prices), ' REFUND');
  }
  for (const s of persona.subscriptions) b.recurring(s, true);
  b.recurring(persona.phone, true);
  if (persona.gym) b.recurring(persona.gym, true);
  if (b.civil.month % 3 === persona.energy.monthPhase && b.civil.day === persona.energy.dayOfMonth) {
    // Energy bills vary with the season and usage.
    b.recurring(persona.energy, true, Math.round(persona.energy.item.amount * b.prices * (0.8 + 0.4 * rng.next())));
  }
}

/** Whether an account has day-to-day spending of its own (the rest only move money between accounts). */
export function spends(account: AccountSpec): boolean {
  return account.role === 'everyday' || account.role === 'card';
}

/** Takes an entry's money alone: its account (index), the days it is authorised and posts, amount, and how it posts. */
export type MoneySink = (account: number, authDay: number, postDay: number, amount: number, pendingPhase: boolean, cancelled: boolean) => void;

/**
 * Appends to `out` the spending entries of `account` authorised on `day` (`civil` is the same day
 * as a date, `prices` its priceLevel). `accountHash` is hashString(account.id), passed in so the hot
 * loop does not rehash strings. With `out` null (a day before any entry that will be read: the
 * ledger only needs balances), the same draws are made, so the same money moves on the same days,
 * but each entry goes to `money` as numbers: no entry, statement text or key is built.
 */
export function spendingFor(
  persona: Persona, account: AccountSpec, accountHash: number, day: number, civil: CivilDate, prices: number,
  out: Entry[] | null, money: MoneySink,
): void {
  if (!spends(account)) return;
  const b = new DayBuilder(persona, account, day, civil, new Rng(mixHash(accountHash, day)), prices, out, money);
  if (account.role === 'everyday') everydaySpending(b);
  else cardSpending(b);
}
