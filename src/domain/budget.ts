/**
 * The refresh budget (PRODUCT.md §2/§3): how many ad hoc refreshes a connection has left today
 * and when the next is allowed. Days are UTC days of the application's clock.
 */
import { isoDay } from './clock.js';

/** PRODUCT.md §3: 20 refreshes a day per connection unless the institution sets less. */
export const DEFAULT_REFRESHES_PER_DAY = 20;

export interface BudgetState { refreshDay: string | null; refreshesToday: number; lastRefreshAt: Date | null }
export interface InstitutionLimits { refreshesPerDay: number; minIntervalSeconds: number }
export interface RefreshBudget { remainingToday: number; nextRefreshAllowedAt: Date }

export function refreshBudget(state: BudgetState, limits: InstitutionLimits, now: Date): RefreshBudget {
  const perDay = Math.min(DEFAULT_REFRESHES_PER_DAY, limits.refreshesPerDay);
  const usedToday = state.refreshDay === isoDay(now) ? state.refreshesToday : 0;
  const remainingToday = Math.max(0, perDay - usedToday);
  let next = now;
  if (state.lastRefreshAt && limits.minIntervalSeconds > 0) {
    const earliest = new Date(state.lastRefreshAt.getTime() + limits.minIntervalSeconds * 1000);
    if (earliest > next) next = earliest;
  }
  if (remainingToday === 0) {
    const tomorrow = new Date(`${isoDay(now)}T00:00:00Z`);
    tomorrow.setUTCDate(tomorrow.getUTCDate() + 1);
    if (tomorrow > next) next = tomorrow;
  }
  return { remainingToday, nextRefreshAllowedAt: next };
}

/** The budget state after spending one refresh now. */
export function spendRefresh(state: BudgetState, now: Date): BudgetState {
  const today = isoDay(now);
  return { refreshDay: today, refreshesToday: (state.refreshDay === today ? state.refreshesToday : 0) + 1, lastRefreshAt: now };
}

/** Background refreshes leave this many of the day's refreshes for the user (issue 5: room for user-present refreshes). */
export const RESERVED_FOR_USER = 1;

/**
 * When a background refresh may spend from the budget: as an ad hoc one, but never the user's last
 * one of the day. An institution that allows one refresh a day gives it to the background: without
 * it the connection would never be kept fresh.
 */
export function backgroundAllowedAt(budget: RefreshBudget, perDay: number, now: Date): Date {
  const reserved = Math.min(DEFAULT_REFRESHES_PER_DAY, perDay) > 1 ? RESERVED_FOR_USER : 0;
  if (budget.remainingToday > reserved) return budget.nextRefreshAllowedAt;
  const tomorrow = new Date(`${isoDay(now)}T00:00:00Z`);
  tomorrow.setUTCDate(tomorrow.getUTCDate() + 1);
  return tomorrow > budget.nextRefreshAllowedAt ? tomorrow : budget.nextRefreshAllowedAt;
}

/**
 * One scope of a provider's own per-account budget (GoCardless: balances, transactions): the most
 * calls any of the connection's accounts has left (what a refresh can still read), and when the
 * first spent account's budget comes back (the latest reset when none is spent).
 */
export interface ScopeBudget { scope: string; remaining: number; resetAt: Date }

/** Scopes a refresh does not spend: account details are read once, when the link is made. */
const LINK_ONLY_SCOPES: ReadonlySet<string> = new Set(['details']);

/**
 * The provider's budgets as the refresh budget sees them, per scope (ScopeBudget). A budget whose
 * reset has passed no longer limits anything and is left out.
 */
export function providerScopes(budgets: readonly { scope: string; remaining: number; resetAt: Date }[], now: Date): ScopeBudget[] {
  const byScope = new Map<string, { remaining: number; spentBack: Date | null; latest: Date }>();
  for (const b of budgets) {
    if (b.resetAt <= now || LINK_ONLY_SCOPES.has(b.scope)) continue;
    const seen = byScope.get(b.scope) ?? { remaining: 0, spentBack: null, latest: b.resetAt };
    seen.remaining = Math.max(seen.remaining, b.remaining);
    if (b.remaining === 0 && (!seen.spentBack || b.resetAt < seen.spentBack)) seen.spentBack = b.resetAt;
    if (b.resetAt > seen.latest) seen.latest = b.resetAt;
    byScope.set(b.scope, seen);
  }
  return [...byScope].map(([scope, s]) => ({ scope, remaining: s.remaining, resetAt: s.spentBack ?? s.latest }))
    .sort((a, b) => a.scope.localeCompare(b.scope));
}

/**
 * The refresh budget inside the provider's: a refresh is worth making while any account has calls
 * left in any scope (balances can refresh while transactions wait); when every one is spent, the
 * next refresh is allowed when the first comes back.
 */
export function withinProvider(budget: RefreshBudget, scopes: readonly ScopeBudget[]): RefreshBudget {
  if (scopes.length === 0) return budget;
  const best = Math.max(...scopes.map((s) => s.remaining));
  const remainingToday = Math.min(budget.remainingToday, best);
  if (best > 0) return { ...budget, remainingToday };
  const back = scopes.reduce((min, s) => (s.resetAt < min ? s.resetAt : min), scopes[0]!.resetAt);
  return { remainingToday, nextRefreshAllowedAt: back > budget.nextRefreshAllowedAt ? back : budget.nextRefreshAllowedAt };
}
