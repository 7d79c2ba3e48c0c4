/**
 * The one way Causeway calls a provider: with the application's settings and clock, and a journal
 * row for every call (ENGINEERING.md habit 4) keeping the provider's raw code, its request id and
 * any Retry-After it sent. Outside a job run the row is written as the call ends. A job run keeps
 * its rows in `scope.pending` and writes them with its next write of the job (a step's data write,
 * the next step's start, a retry, the run's end: db/repos/data.ts and jobs.ts), a statement it makes
 * anyway, not when the run ends: a crash loses at most the calls of the step it interrupted, which
 * the retried run makes again.
 */
import { newId } from '../../domain/ids.js';
import { insertProviderCalls, type ProviderCallInsert } from '../../db/repos/provider-calls.js';
import { upsertProviderBudgets } from '../../db/repos/providers.js';
import { ProviderError, type Provider, type ProviderBudget, type ProviderCallContext, type ProviderSettings } from '../../providers/types.js';
import type { Core } from '../core.js';
import { callContext } from '../provider-state.js';
import { recordProviderCall } from '../../metrics.js';

export interface CallScope {
  core: Core;
  provider: Provider;
  settings: ProviderSettings;
  applicationId: string;
  connectionId: string;
  /** The connection's institution (a catalogue id): the provider-call metrics count by it. */
  institutionId: string;
  jobId: string | null;
  now(): Date;
  runKey: string;
  simulatedOutage?: boolean;
  simulatedRateLimitSeconds?: number | null;
  /** false: no journal row (the connection is gone with its user, and its journal with it). */
  journal?: boolean;
  /** A job run's journal rows not yet written: its next write of the job takes them (db/repos/jobs.ts). */
  pending?: ProviderCallInsert[];
  /**
   * The connection's call budgets per account and scope (a sync run reads them at its start): what
   * the provider reports during a call replaces the entry here and is kept in provider_budgets as the call ends.
   */
  budgets?: ProviderBudget[];
}

export async function callProvider<T>(scope: CallScope, operation: string, fn: (provider: Provider, ctx: ProviderCallContext) => Promise<T>): Promise<T> {
  const startedAt = Date.now();
  let error: unknown = null;
  const reported: ProviderBudget[] = [];
  try {
    return await fn(scope.provider, {
      ...callContext(scope.core, scope.provider.id, scope.settings, scope.now(), scope.runKey),
      simulatedOutage: scope.simulatedOutage, simulatedRateLimitSeconds: scope.simulatedRateLimitSeconds,
      ...(scope.budgets ? { budgets: scope.budgets } : {}),
      reportBudget: (b) => { reported.push(b); },
    });
  } catch (err) {
    error = err;
    throw err;
  } finally {
    recordProviderCall({
      provider: scope.provider.id, institution: scope.institutionId, operation, durationMs: Date.now() - startedAt,
      outcome: error === null ? 'ok' : error instanceof ProviderError ? error.code : 'unexpected',
    });
    if (reported.length > 0) await keepBudgets(scope, reported);
    if (scope.journal !== false) {
      const row = {
        ...journalRow({ applicationId: scope.applicationId, jobId: scope.jobId, provider: scope.provider.id, operation, error, startedAt, at: scope.now() }),
        connectionId: scope.connectionId,
      };
      if (scope.pending) scope.pending.push(row);
      else await insertProviderCalls(scope.core.db, [row]).catch((err) => scope.core.log.warn({ err, operation }, 'provider call not journaled'));
    }
  }
}

/** A journal row for a call that ended now (its connection added by the caller: an import writes it with the connection it creates). */
export function journalRow(c: { applicationId: string; jobId: string | null; provider: string; operation: string; error: unknown; startedAt: number; at: Date }) {
  const pe = c.error instanceof ProviderError ? c.error : null;
  return {
    id: newId('call'), applicationId: c.applicationId, jobId: c.jobId, operation: c.operation,
    outcome: c.error ? 'error' : 'ok', errorCode: pe?.code ?? (c.error ? 'unexpected' : null), providerCode: pe?.providerCode ?? null,
    provider: c.provider, requestId: pe?.requestId ?? null, retryAfterSeconds: pe?.retryAfterSeconds ?? null,
    durationMs: Date.now() - c.startedAt, createdAt: c.at,
  };
}

/** What the provider said about its budgets during one call: the run's view updated, and kept for the scheduler and the refresh budget. */
async function keepBudgets(scope: CallScope, reported: ProviderBudget[]): Promise<void> {
  const latest = new Map<string, ProviderBudget>();
  for (const b of reported) latest.set(`${b.accountId}\0${b.scope}`, b);
  if (scope.budgets) {
    for (const b of latest.values()) {
      const i = scope.budgets.findIndex((x) => x.accountId === b.accountId && x.scope === b.scope);
      if (i >= 0) scope.budgets[i] = b;
      else scope.budgets.push(b);
    }
  }
  const at = scope.now();
  await upsertProviderBudgets(scope.core.db, [...latest.values()].map((b) => ({
    connectionId: scope.connectionId, accountKey: b.accountId, scope: b.scope, limit: b.limit, remaining: b.remaining, resetAt: b.resetAt, updatedAt: at,
  }))).catch((err) => scope.core.log.warn({ err, connectionId: scope.connectionId }, 'provider budgets not kept'));
}
