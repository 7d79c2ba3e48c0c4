/**
 * The ledger plays a persona forward from ANCHOR_DAY, one day at a time, posting every entry on
 * its posting day. Entries that move money between accounts (salary, rent, repayments, interest,
 * sweeps to savings) depend on balances, so they are decided here in order; each day's result
 * depends only on earlier days, so history never changes as the clock moves forward.
 * Balances are therefore, by construction, anchorBalance + the sum of what has posted.
 */
import type { Category } from './catalogue.js';
import { civilOf, isLastDayOfMonth, monthIndexOf } from './calendar.js';
import { ANCHOR_DAY, priceLevel, type AccountSpec, type Persona, type Role } from './persona.js';
import { hashString } from './random.js';
import { spendingFor, spends, type Entry, type MoneySink } from './spending.js';

export interface LedgerSnapshot {
  throughDay: number;
  /** Posted (ledger) balance of each account (by index) at the end of throughDay. */
  balances: number[];
  /** Sum of the amounts still pending at the end of throughDay, cancelled ones included. */
  pending: number[];
  /** Every entry authorised in [collectFrom, throughDay], in generation order. */
  entries: Entry[];
}

const PAY_CYCLE = 14;
const ROUND_TRANSFER = 10_000; // sweeps move whole hundreds of dollars, as people do


function isPayday(p: Persona, day: number): boolean {
  return ((day % PAY_CYCLE) + PAY_CYCLE) % PAY_CYCLE === p.payPhase;
}

class Day {
  readonly entries: Entry[] = [];
  constructor(readonly day: number) {}

  /** An entry that posts on the day (transfers, credits, direct debits). */
  add(account: AccountSpec, key: string, amount: number, description: string, category: Category, merchantName: string | null = null): void {
    this.entries.push({
      account: account.index, key, authDay: this.day, postDay: this.day, amount, pendingPhase: false,
      cancelled: false, description, merchantName, category,
    });
  }

  /** Both legs of a movement between two of the persona's accounts. */
  transfer(from: AccountSpec, to: AccountSpec, key: string, amount: number, outText: string, inText: string, category: Category): Entry[] {
    this.add(from, key, -amount, outText, category);
    this.add(to, key, amount, inText, category);
    return this.entries.slice(-2);
  }
}

function findRole(p: Persona, role: Role): AccountSpec | null {
  return p.accounts.find((a) => a.role === role) ?? null;
}

function required(p: Persona, role: Role): AccountSpec {
  const a = findRole(p, role);
  if (!a) throw new Error(`sandbox persona ${p.seed} has no ${role} account`);
  return a;
}

/**
 * What waits to post on one day: authorisations made on earlier days. Only their sums are kept:
 * posting adds them to balances, and the entries themselves are collected on the day they are
 * authorised (an entry authorised before the collected days is never returned).
 */
interface Due {
  /** Per account (by index): the amounts that will post (cancelled ones never do). */
  posts: number[];
  /** Per account: every amount still pending until then, cancelled ones included. */
  pending: number[];
  /** Card purchases and refunds among `posts` (they make up the card's monthly statement). */
  card: number;
}

/**
 * Everything the ledger carries from one day to the next, at the end of `day`. A run can resume
 * from it instead of replaying from the anchor: same inputs, same output, far less work.
 */
export interface LedgerCheckpoint {
  day: number;
  balances: number[];
  month: number;
  cardThisMonth: number;
  cardLastMonth: number;
  /** What waits to post, by posting day. */
  buckets: Map<number, Due>;
}

/** Checkpoints are offered every this many days (a run resumes at most this far back). */
export const CHECKPOINT_EVERY = 32;

function copyCheckpoint(c: LedgerCheckpoint): LedgerCheckpoint {
  const buckets = new Map<number, Due>();
  for (const [d, due] of c.buckets) buckets.set(d, { posts: [...due.posts], pending: [...due.pending], card: due.card });
  return { ...c, balances: [...c.balances], buckets };
}

export interface LedgerOptions {
  /** Sees every day's closing balances (tests use it to check years of drift cheaply). */
  onDayEnd?: (day: number, balances: readonly number[]) => void;
  /** Resume after this checkpoint's day instead of from the anchor. */
  from?: LedgerCheckpoint;
  /** Receives a copy of the state at the end of every CHECKPOINT_EVERY-th day. */
  onCheckpoint?: (c: LedgerCheckpoint) => void;
}

/**
 * Plays `p` forward to the end of `throughDay`, keeping the entries authorised from `collectFrom`
 * on (a resumed run keeps those after its checkpoint's day).
 */
export function runLedger(
  p: Persona, throughDay: number, collectFrom = Number.POSITIVE_INFINITY, opts: LedgerOptions = {},
): LedgerSnapshot {
  const { onDayEnd, from, onCheckpoint } = opts;
  const accounts = p.accounts;
  const balances = from ? [...from.balances] : accounts.map((a) => a.anchorBalance);
  const hashes = accounts.map((a) => hashString(a.id));
  const everyday = required(p, 'everyday');
  const savings = required(p, 'savings');
  const card = required(p, 'card');
  const loans = accounts.filter((a) => a.role === 'mortgage' || a.role === 'loan');
  const goal = findRole(p, 'goal');
  const buckets = from ? copyCheckpoint(from).buckets : new Map<number, Due>();
  const spenders = accounts.filter(spends);
  const collected: Entry[] = [];
  const bal = (a: AccountSpec): number => balances[a.index] ?? 0;

  // Card statements: what posted last calendar month is repaid in full this month.
  let month = from ? from.month : monthIndexOf(civilOf(ANCHOR_DAY));
  let cardThisMonth = from ? from.cardThisMonth : 0;
  let cardLastMonth = from ? from.cardLastMonth : 0;

  /** Posts an entry's money now if it posts the day it is authorised, else when it is due. */
  const money: MoneySink = (account, authDay, postDay, amount, pendingPhase, cancelled) => {
    if (postDay === authDay) {
      balances[account] = (balances[account] ?? 0) + amount;
      if (account === card.index && pendingPhase) cardThisMonth += amount; // purchases and refunds, not repayments
      return;
    }
    let due = buckets.get(postDay);
    if (!due) buckets.set(postDay, due = { posts: accounts.map(() => 0), pending: accounts.map(() => 0), card: 0 });
    due.pending[account] = (due.pending[account] ?? 0) + amount;
    if (cancelled) return;
    due.posts[account] = (due.posts[account] ?? 0) + amount;
    if (account === card.index && pendingPhase) due.card += amount;
  };
  const place = (e: Entry): void => money(e.account, e.authDay, e.postDay, e.amount, e.pendingPhase, e.cancelled);

  for (let day = (from ? from.day : ANCHOR_DAY) + 1; day <= throughDay; day++) {
    const c = civilOf(day);
    const m = monthIndexOf(c);
    if (m !== month) {
      cardLastMonth = m === month + 1 ? cardThisMonth : 0;
      cardThisMonth = 0;
      month = m;
    }
    const today = new Day(day);
    const prices = priceLevel(c.year, c.month);
    const monthEnd = isLastDayOfMonth(day);

    if (isPayday(p, day)) {
      today.add(everyday, 'salary', Math.round(p.salary * prices), `SALARY ${p.employer.toUpperCase()}`, 'income', p.employer);
    }
    if (p.rent && c.day === p.rent.dayOfMonth) {
      today.add(everyday, 'rent', -p.rent.amount, `DIRECT DEBIT ${p.rent.agent.toUpperCase()} RENT`, 'rent', p.rent.agent);
    }
    for (const loan of loans) {
      const owed = -bal(loan);
      const draw = loan.drawdown;
      if (owed <= 0 && draw && day >= draw.firstDay && (day - draw.firstDay) % draw.everyDays === 0) {
        // A new loan (the next car) once the previous one is repaid: no effect on other accounts.
        today.add(loan, 'drawdown', -draw.amount, 'LOAN DRAWDOWN', 'loan_disbursement');
      }
      if (owed > 0 && c.day === loan.dayOfMonth) {
        const what = loan.role === 'mortgage' ? 'HOME LOAN' : 'LOAN';
        today.transfer(everyday, loan, `repay_${loan.role}`, Math.min(loan.monthlyAmount, owed),
          `${what} REPAYMENT ${loan.mask}`, 'REPAYMENT - THANK YOU', 'loan_payment');
      }
      if (owed > 0 && monthEnd) {
        today.add(loan, 'interest', -Math.round((owed * loan.annualRate) / 12), 'INTEREST CHARGED', 'interest');
      }
    }
    if (c.day === p.cardRepayDay && cardLastMonth < 0) {
      today.transfer(everyday, card, 'card_repay', -cardLastMonth, `PAYMENT TO ${card.name.toUpperCase()} ${card.mask}`,
        'PAYMENT RECEIVED - THANK YOU', 'credit_card_payment');
    }
    for (const deposit of goal ? [savings, goal] : [savings]) {
      if (monthEnd && bal(deposit) > 0) {
        today.add(deposit, 'interest', Math.round((bal(deposit) * deposit.annualRate) / 12), 'CREDIT INTEREST', 'interest');
      }
    }
    if (goal && c.day === goal.dayOfMonth) {
      today.add(goal, 'deposit', goal.monthlyAmount, 'TRANSFER FROM EXTERNAL ACCOUNT', 'transfer');
    }
    const collect = day >= collectFrom;
    // Everything above read balances as they were last night; from here on today's money moves
    // (on a day not collected, spending goes straight to `money`, so not into today.entries).
    for (const account of spenders) spendingFor(p, account, hashes[account.index] ?? 0, day, c, prices, collect ? today.entries : null, money);
    for (const e of today.entries) place(e);
    const due = buckets.get(day);
    if (due) {
      due.posts.forEach((amount, i) => { if (amount !== 0) balances[i] = (balances[i] ?? 0) + amount; });
      cardThisMonth += due.card;
      buckets.delete(day);
    }

    // Sweeps run after everything else has posted, on the day's final balance.
    const sweep = sweepAmount(day, bal(everyday), bal(savings), cardLastMonth, cardThisMonth);
    if (sweep !== 0) {
      const [from, to] = sweep > 0 ? [everyday, savings] : [savings, everyday];
      const legs = today.transfer(from, to, 'sweep', Math.abs(sweep), `TRANSFER TO ${to.name.toUpperCase()} ${to.mask}`,
        `TRANSFER FROM ${from.name.toUpperCase()} ${from.mask}`, 'transfer');
      for (const e of legs) place(e);
    }
    if (collect) collected.push(...today.entries);
    onDayEnd?.(day, balances);
    if (onCheckpoint && day % CHECKPOINT_EVERY === 0) {
      onCheckpoint(copyCheckpoint({ day, balances, month, cardThisMonth, cardLastMonth, buckets }));
    }
  }

  const pending = accounts.map(() => 0);
  for (const [postDay, due] of buckets) {
    if (postDay <= throughDay) continue;
    due.pending.forEach((amount, i) => { if (amount !== 0) pending[i] = (pending[i] ?? 0) + amount; });
  }
  return { throughDay, balances, pending, entries: collected };

  /**
   * What to move from everyday to savings (positive) or back (negative) tonight. On paydays the
   * everyday account keeps a buffer plus the next fortnight's known bills and the rest is saved;
   * on other days savings only tops it up if it went below zero (automatic overdraft cover).
   */
  function sweepAmount(day: number, everydayBal: number, savingsBal: number, lastMonthCard: number, thisMonthCard: number): number {
    if (!isPayday(p, day)) return everydayBal >= 0 ? 0 : topUp(p.sweepFloor - everydayBal, savingsBal);
    const month = civilOf(day).month;
    let keep = p.sweepTarget;
    for (let d = day + 1; d <= day + PAY_CYCLE; d++) {
      const c = civilOf(d);
      if (p.rent && c.day === p.rent.dayOfMonth) keep += p.rent.amount;
      for (const loan of loans) if (c.day === loan.dayOfMonth) keep += Math.min(loan.monthlyAmount, Math.max(0, -bal(loan)));
      // The card repayment is last month's statement; if it falls next month, this month's spend so far.
      if (c.day === p.cardRepayDay) keep -= c.month === month ? lastMonthCard : thisMonthCard;
    }
    if (everydayBal > keep + 20_000) return Math.floor((everydayBal - keep) / ROUND_TRANSFER) * ROUND_TRANSFER;
    return everydayBal >= keep ? 0 : topUp(keep - everydayBal, savingsBal);
  }
}

/** What savings can move back to cover `need` (negative: towards everyday), in whole ROUND_TRANSFERs. A plain function: a closure here was made every simulated day. */
function topUp(need: number, savingsBal: number): number {
  return -Math.min(Math.ceil(need / ROUND_TRANSFER) * ROUND_TRANSFER, Math.floor(Math.max(0, savingsBal) / ROUND_TRANSFER) * ROUND_TRANSFER);
}
