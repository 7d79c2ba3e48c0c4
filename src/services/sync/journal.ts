/**
 * The one way Causeway calls a provider: with the application's settings and clock, and a journal
 * row written as the call ends (ENGINEERING.md habit 4), not when the run does, so a crash keeps
 * the calls that explain it. The row keeps the provider's raw code, its request id and any
 * Retry-After it sent.
 */
import { newId } from '../../domain/ids.js';
import { insertProviderCalls } from '../../db/repos/provider-calls.js';
import { ProviderError, type Provider, type ProviderCallContext, type ProviderSettings } from '../../providers/types.js';
import type { Core } from '../core.js';

export interface CallScope {
  core: Core;
  provider: Provider;
  settings: ProviderSettings;
  applicationId: string;
  connectionId: string;
  jobId: string | null;
  now(): Date;
  runKey: string;
  simulatedOutage?: boolean;
  simulatedRateLimitSeconds?: number | null;
  /** false: no journal row (the connection is gone with its user, and its journal with it). */
  journal?: boolean;
}

export async function callProvider<T>(scope: CallScope, operation: string, fn: (provider: Provider, ctx: ProviderCallContext) => Promise<T>): Promise<T> {
  const startedAt = Date.now();
  let error: unknown = null;
  try {
    return await fn(scope.provider, {
      now: scope.now(), runKey: scope.runKey, settings: scope.settings,
      simulatedOutage: scope.simulatedOutage, simulatedRateLimitSeconds: scope.simulatedRateLimitSeconds,
    });
  } catch (err) {
    error = err;
    throw err;
  } finally {
    if (scope.journal !== false) {
      await insertProviderCalls(scope.core.db, [{
        ...journalRow({ applicationId: scope.applicationId, jobId: scope.jobId, provider: scope.provider.id, operation, error, startedAt, at: scope.now() }),
        connectionId: scope.connectionId,
      }]).catch((err) => scope.core.log.warn({ err, operation }, 'provider call not journaled'));
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
