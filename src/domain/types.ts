/**
 * Glossary (PRODUCT.md §1):
 * - application: a tenant (an app using Causeway); owns keys, users, settings. Data never crosses it.
 * - user: an end user of the application (`usr_…`); accounts and transactions are kept against them.
 * - institution: a bank reached through a provider (`ins_…`), with methods and products.
 * - connection: one user's link to one institution through one method (`con_…`).
 * - job: one asynchronous operation on a connection, with ordered steps (`job_…`).
 * - product: a kind of data fetched through a connection.
 * Money is always an integer of minor units plus an ISO 4217 currency code.
 */

export const PRODUCTS = ['accounts', 'balances', 'transactions', 'identity', 'investments'] as const;
export type Product = (typeof PRODUCTS)[number];

/**
 * `web`: Causeway's own credentials form. `openbanking`: the bank's consent page. `hosted`: the
 * provider's own link page (Plaid Hosted Link), where the user signs in to the bank through the
 * provider; Causeway receives a token. Openbanking and hosted both go pre_init → init → job.
 * `token`: the user pastes a token the provider gave them (a SimpleFIN setup token); Causeway claims
 * it at once and the connection starts at init, as an import does.
 */
export const METHODS = ['web', 'openbanking', 'hosted', 'token'] as const;
export type Method = (typeof METHODS)[number];

/** Linked away from Causeway (openbanking, hosted): a consent with dates, granted at the bank or the provider, not a stored login. */
export function linksAway(method: string): boolean {
  return method === 'openbanking' || method === 'hosted';
}

export const CONNECTION_STATUSES = [
  'pre_init', 'init', 'pending', 'active', 'degraded', 'reconnect_required', 'failed', 'unlinked', 'deleted',
] as const;
export type ConnectionStatus = (typeof CONNECTION_STATUSES)[number];

/** Machine-readable reasons. Each belongs to the statuses listed in STATUS_REASONS_BY_STATUS. */
export const STATUS_REASONS = [
  // active
  'access_expiring_soon', 'new_accounts_available', 'partial_data',
  // pending
  'duplicate_credentials', 'awaiting_mfa',
  // degraded
  'institution_unavailable', 'provider_error', 'rate_limited', 'continued_failures',
  // reconnect_required
  'invalid_credentials', 'mfa_required', 'account_locked', 'consent_expired', 'consent_revoked',
  'user_action_required',
  // failed (plus the user errors above when the first attempt fails)
  'authorization_abandoned', 'authorization_denied', 'mfa_failed', 'mfa_timeout',
  // failed: the user linked, at the provider, a bank they had already connected (services/link.ts)
  'duplicate_connection',
  // unlinked
  'unlinked_by_app',
] as const;
export type StatusReason = (typeof STATUS_REASONS)[number];

export const CONNECTION_ACTIONS = ['refresh', 'repair', 'update_products', 'purge', 'unlink', 'delete'] as const;
export type ConnectionAction = (typeof CONNECTION_ACTIONS)[number];

/** `cancelled`: stopped by an operation that took the connection away (purge, unlink, delete). */
export const JOB_STATUSES = ['queued', 'running', 'awaiting_input', 'succeeded', 'failed', 'cancelled'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];
export const LIVE_JOB_STATUSES: readonly JobStatus[] = ['queued', 'running', 'awaiting_input'];

/** What a deletion record records (PRODUCT.md §3). */
export const DELETION_OPERATIONS = ['purge', 'delete_connection', 'delete_user'] as const;
export type DeletionOperation = (typeof DELETION_OPERATIONS)[number];

export const JOB_TYPES = ['create', 'refresh', 'repair', 'update_products', 'import'] as const;
export type JobType = (typeof JOB_TYPES)[number];

/** Who asked: `user` (end user present), `api` (the app's server), `scheduled` (background), `system`. */
export const JOB_TRIGGERS = ['user', 'api', 'scheduled', 'system'] as const;
export type JobTrigger = (typeof JOB_TRIGGERS)[number];

export const STEP_NAMES = [
  'verify-credentials', 'authorize', 'retrieve-accounts', 'retrieve-transactions', 'retrieve-identity',
  'retrieve-investments', 'enrich',
] as const;
export type StepName = (typeof STEP_NAMES)[number];

export const STEP_STATUSES = ['pending', 'in_progress', 'awaiting_input', 'success', 'failed', 'skipped'] as const;
export type StepStatus = (typeof STEP_STATUSES)[number];

export interface JobStep {
  name: StepName;
  status: StepStatus;
  /** `ok`, a StatusReason-like code on failure, `not_requested`, `not_supported`, … */
  resultCode: string | null;
  startedAt: string | null;
  finishedAt: string | null;
}

export const ACCOUNT_TYPES = ['transaction', 'savings', 'credit_card', 'loan', 'mortgage', 'investment'] as const;
export type AccountType = (typeof ACCOUNT_TYPES)[number];

export const TRANSACTION_STATUSES = ['pending', 'posted'] as const;
export type TransactionStatus = (typeof TRANSACTION_STATUSES)[number];

/** An application's own setting for one institution: it can only make refreshes rarer or slower than the institution allows. */
export interface InstitutionSetting {
  refreshIntervalHours?: number;
  maxConcurrentRefreshes?: number;
  refreshesPerMinute?: number;
}
