/**
 * Providers' own call budgets (provider_budgets, reported by adapters through ProviderCallContext.reportBudget):
 * read for each run of a provider that reports them, and folded into the refresh budget that the
 * API shows, the refresh route enforces and the scheduler plans by (domain/budget.ts withinProvider).
 */
import { providerScopes, type ScopeBudget } from '../domain/budget.js';
import type { Db } from '../db/open.js';
import { listProviderBudgetsOf, type ProviderBudgetRow } from '../db/repos/providers.js';
import type { ProviderBudget } from '../providers/types.js';

export function budgetsOf(rows: readonly ProviderBudgetRow[]): ProviderBudget[] {
  return rows.map((r) => ({ accountId: r.accountKey, scope: r.scope, limit: r.limit, remaining: r.remaining, resetAt: r.resetAt }));
}

/** Each connection's provider scopes that still limit it now, by connection id (one read for many). */
export async function scopesOf(db: Db, connectionIds: string[], now: Date): Promise<Map<string, ScopeBudget[]>> {
  const byConnection = new Map<string, ProviderBudgetRow[]>();
  for (const r of await listProviderBudgetsOf(db, connectionIds)) {
    const list = byConnection.get(r.connectionId) ?? [];
    list.push(r);
    byConnection.set(r.connectionId, list);
  }
  return new Map([...byConnection].map(([id, rows]) => [id, providerScopes(rows, now)]));
}
