/** What the API shows of each row. One place, so every route answers the same shape. */
import { linksAway } from '../domain/types.js';
import { refreshBudget, withinProvider, type ScopeBudget } from '../domain/budget.js';
import { allowedActions, userActionFor } from '../domain/status.js';
import type { AccountType, JobStatus, JobStep, JobTrigger, JobType, TransactionStatus } from '../domain/types.js';
import { stateOf, type ConnectionRow } from '../db/repos/connections.js';
import type { AccountRow } from '../db/repos/data.js';
import type { TransactionPageRow } from '../db/repos/transaction-pages.js';
import type { JobRow } from '../db/repos/jobs.js';
import type { UserRow } from '../db/repos/users.js';
import type { ProviderIdentity, ProviderInstitution } from '../providers/types.js';
import { maskAddressLine, maskEmail, maskName, maskPhone } from './mask.js';

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export function userView(u: UserRow) {
  return {
    id: u.id, externalId: u.externalId, email: u.email, name: u.name, metadata: u.metadata,
    createdAt: u.createdAt.toISOString(), updatedAt: u.updatedAt.toISOString(),
  };
}

/**
 * `scopes`: the provider's own budgets that still limit the connection (services/budgets.ts), for
 * providers that report them. `revokeNotice`: the provider cannot revoke access itself (SimpleFIN).
 */
export function connectionView(c: ConnectionRow, institution: ProviderInstitution | null, now: Date, scopes: readonly ScopeBudget[] = [], revokeNotice: string | null = null) {
  const { status, reason, method } = stateOf(c);
  const limits = institution?.limits ?? { refreshesPerDay: 0, minIntervalSeconds: 0 };
  const budget = withinProvider(refreshBudget({ refreshDay: c.refreshDay, refreshesToday: c.refreshesToday, lastRefreshAt: c.lastRefreshAt }, limits, now), scopes);
  return {
    id: c.id,
    userId: c.userId,
    institution: { id: c.institutionId, name: institution?.name ?? c.institutionId },
    provider: c.provider,
    method,
    status,
    statusReason: reason,
    userAction: userActionFor(reason),
    allowedActions: allowedActions({ status, reason }),
    products: c.products,
    refreshBudget: {
      remainingToday: budget.remainingToday, nextRefreshAllowedAt: budget.nextRefreshAllowedAt.toISOString(),
      providerScopes: scopes.map((x) => ({ scope: x.scope, remaining: x.remaining, resetAt: x.resetAt.toISOString() })),
    },
    revokeNotice,
    consent: linksAway(c.method) ? { grantedAt: iso(c.consentGrantedAt), expiresAt: iso(c.consentExpiresAt) } : null,
    accessExpiresAt: iso(c.accessExpiresAt),
    pausedUntil: iso(c.pausedUntil),
    nextScheduledRefreshAt: status === 'active' || status === 'degraded' ? iso(c.nextScheduledRefreshAt) : null,
    createdAt: c.createdAt.toISOString(),
    firstSyncedAt: iso(c.firstSyncedAt),
    lastUsedAt: iso(c.lastUsedAt),
    lastSuccessfulSyncAt: iso(c.lastSuccessfulSyncAt),
  };
}

export function jobView(j: JobRow) {
  return {
    id: j.id,
    connectionId: j.connectionId,
    userId: j.userId,
    type: j.type as JobType,
    trigger: j.trigger as JobTrigger,
    status: j.status as JobStatus,
    products: j.products,
    steps: j.steps.map((s: JobStep) => ({ name: s.name, status: s.status, resultCode: s.resultCode, startedAt: s.startedAt, finishedAt: s.finishedAt })),
    error: j.errorCode ? { code: j.errorCode, message: j.errorMessage ?? '' } : null,
    mfa: j.status === 'awaiting_input' ? { prompt: j.mfaPrompt ?? '', expiresAt: iso(j.mfaExpiresAt) } : null,
    attempts: j.attempts,
    createdAt: j.createdAt.toISOString(),
    startedAt: iso(j.startedAt),
    finishedAt: iso(j.finishedAt),
  };
}

export function accountView(a: AccountRow) {
  return {
    id: a.id, connectionId: a.connectionId, userId: a.userId, name: a.name, type: a.type as AccountType, mask: a.mask, currency: a.currency,
    balances: { current: a.balanceCurrent, available: a.balanceAvailable, limit: a.balanceLimit, updatedAt: a.balancesUpdatedAt.toISOString() },
    createdAt: a.createdAt.toISOString(), updatedAt: a.updatedAt.toISOString(),
  };
}

export function transactionView(t: TransactionPageRow) {
  return {
    id: t.id, accountId: t.accountId, connectionId: t.connectionId, status: t.status as TransactionStatus, amount: t.amount, currency: t.currency,
    date: t.date, authorizedDate: t.authorizedDate, description: t.description, merchantName: t.merchantName, category: t.category,
    createdAt: t.createdAt.toISOString(), updatedAt: t.updatedAt.toISOString(),
  };
}

export function profileView(p: ProviderIdentity, opts: { masked: boolean }) {
  const m = <T>(value: T, mask: (v: T) => T) => (opts.masked ? mask(value) : value);
  return {
    masked: opts.masked,
    names: p.names.map((n) => m(n, maskName)),
    emails: p.emails.map((e) => ({ ...e, address: m(e.address, maskEmail) })),
    phones: p.phones.map((ph) => ({ ...ph, number: m(ph.number, maskPhone) })),
    addresses: p.addresses.map((a) => ({ ...a, line1: m(a.line1, maskAddressLine) })),
  };
}
