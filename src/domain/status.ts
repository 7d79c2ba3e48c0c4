/**
 * The connection status machine (PRODUCT.md §2), as a pure function.
 *
 *   create(web) ─► pending ──job ok──► active ◄──────────────┐ job ok / repair ok (every error status)
 *   create(ob) ─► pre_init ─granted─► init ─job ok─┘          │
 *        │  denied/abandoned ─► failed          active ──transient failure──► degraded
 *        └─────────────────────────────────────  active ──user failure─────► reconnect_required
 *   unlink ─► unlinked (repair relinks)          delete ─► deleted (terminal, no way out)
 *
 * `everSynced` separates a first attempt (a failure ends in `failed`) from a later one (a failure
 * ends in `reconnect_required` or `degraded`, both with a way back).
 */
import { linksAway, type ConnectionAction, type ConnectionStatus, type Method, type StatusReason } from './types.js';

/** An access or consent ending within this many days puts `access_expiring_soon` on the connection. */
export const EXPIRING_SOON_DAYS = 7;

export interface ConnectionState {
  status: ConnectionStatus;
  reason: StatusReason | null;
  method: Method;
  /** The connection has completed at least one sync (firstSyncedAt is set). */
  everSynced: boolean;
}

/** Failure codes a job can end with, after providers normalised them. */
export type FailureCode =
  | 'invalid_credentials' | 'account_locked' | 'mfa_failed' | 'mfa_timeout' | 'consent_expired'
  | 'consent_revoked' | 'user_action_required' | 'authorization_denied'
  | 'institution_unavailable' | 'provider_error' | 'rate_limited';

/** Failures only the end user can fix. */
const USER_FAILURES: ReadonlySet<FailureCode> = new Set([
  'invalid_credentials', 'account_locked', 'mfa_failed', 'mfa_timeout', 'consent_expired', 'consent_revoked',
  'user_action_required', 'authorization_denied',
]);

export function isUserFailure(code: FailureCode): boolean {
  return USER_FAILURES.has(code);
}

export type ConnectionEvent =
  | { type: 'credentials_submitted' }
  | { type: 'paused_duplicate' }
  | { type: 'authorization_started' }
  | { type: 'authorization_granted' }
  /** `code`: why, when the provider says (a GoCardless requisition that expired or was suspended: consent_expired, consent_revoked). */
  | { type: 'authorization_denied'; code?: FailureCode }
  | { type: 'authorization_abandoned' }
  /** A job completed its required steps. The flags say what it noticed. */
  | { type: 'job_succeeded'; partialData?: boolean; newAccounts?: boolean; accessExpiringSoon?: boolean }
  /** A job ended in failure (after retries, for transient codes). `userPresent`: MFA could be asked. */
  | { type: 'job_failed'; code: FailureCode; userPresent: boolean }
  /** A background refresh met an institution that wants a one-time code. */
  | { type: 'mfa_required_in_background' }
  | { type: 'login_required' }
  | { type: 'consent_expiring' }
  | { type: 'consent_expired' }
  | { type: 'consent_revoked' }
  | { type: 'new_accounts_detected' }
  | { type: 'repair_started' }
  | { type: 'unlinked' }
  | { type: 'deleted' };

export class InvalidTransitionError extends Error {
  constructor(readonly from: ConnectionState, readonly event: ConnectionEvent['type']) {
    super(`A connection that is ${from.status} cannot take the event ${event}`);
    this.name = 'InvalidTransitionError';
  }
}

type Next = { status: ConnectionStatus; reason: StatusReason | null };

const LIVE: ReadonlySet<ConnectionStatus> = new Set(['active', 'degraded', 'reconnect_required']);
const SYNCING: ReadonlySet<ConnectionStatus> = new Set(['pending', 'init', 'active', 'degraded', 'reconnect_required']);

function onJobFailed(s: ConnectionState, code: FailureCode, userPresent: boolean): Next {
  if (!s.everSynced) return { status: 'failed', reason: code };
  if (code === 'mfa_failed' || code === 'mfa_timeout') {
    // A mistyped or missed code in a refresh the user started says nothing about the credentials:
    // the job fails and says why, the connection keeps its status. A repair (pending) that fails
    // this way still needs the user.
    if (userPresent && s.status !== 'pending') return { status: s.status, reason: s.reason };
    return { status: 'reconnect_required', reason: 'mfa_required' };
  }
  if (code === 'authorization_denied') return { status: 'reconnect_required', reason: 'user_action_required' };
  if (isUserFailure(code)) return { status: 'reconnect_required', reason: code as StatusReason };
  return { status: 'degraded', reason: code as StatusReason };
}

function onJobSucceeded(e: Extract<ConnectionEvent, { type: 'job_succeeded' }>): Next {
  // Order: the reason that needs the user soonest wins.
  if (e.accessExpiringSoon) return { status: 'active', reason: 'access_expiring_soon' };
  if (e.newAccounts) return { status: 'active', reason: 'new_accounts_available' };
  if (e.partialData) return { status: 'active', reason: 'partial_data' };
  return { status: 'active', reason: null };
}

/** The next status for an event, or InvalidTransitionError when the event cannot happen in this status. */
export function transition(s: ConnectionState, e: ConnectionEvent): Next {
  const st = s.status;
  const invalid = () => new InvalidTransitionError(s, e.type);
  if (st === 'deleted') throw invalid();
  switch (e.type) {
    case 'credentials_submitted':
      if (s.method !== 'web' || !['pending', 'failed', 'reconnect_required', 'degraded', 'unlinked', 'active'].includes(st)) throw invalid();
      return { status: 'pending', reason: null };
    case 'paused_duplicate':
      if (st !== 'pending') throw invalid();
      return { status: 'pending', reason: 'duplicate_credentials' };
    case 'authorization_started':
      if (!linksAway(s.method) || s.everSynced || !['pre_init', 'failed', 'reconnect_required'].includes(st)) throw invalid();
      return { status: 'pre_init', reason: null };
    case 'authorization_granted':
      if (!linksAway(s.method) || st === 'init') throw invalid();
      return { status: 'init', reason: null };
    case 'authorization_denied':
      if (!linksAway(s.method)) throw invalid();
      if (st === 'pre_init') {
        // The link at the provider lapsed or was suspended rather than refused: the user links again (repair).
        if (e.code === 'consent_expired' || e.code === 'consent_revoked') return { status: 'reconnect_required', reason: e.code };
        return { status: 'failed', reason: 'authorization_denied' };
      }
      // A denied renewal (or relink) leaves the connection as it was.
      if (LIVE.has(st) || st === 'unlinked') return { status: st, reason: s.reason };
      throw invalid();
    case 'authorization_abandoned':
      if (!linksAway(s.method) || st !== 'pre_init') throw invalid();
      return { status: 'failed', reason: 'authorization_abandoned' };
    case 'job_succeeded':
      if (!SYNCING.has(st)) throw invalid();
      return onJobSucceeded(e);
    case 'job_failed':
      if (!SYNCING.has(st)) throw invalid();
      return onJobFailed(s, e.code, e.userPresent);
    case 'mfa_required_in_background':
      if (!LIVE.has(st)) throw invalid();
      return { status: 'reconnect_required', reason: 'mfa_required' };
    case 'login_required':
      if (!LIVE.has(st)) throw invalid();
      return { status: 'reconnect_required', reason: 'invalid_credentials' };
    case 'consent_expiring':
      if (st !== 'active') throw invalid();
      return { status: 'active', reason: 'access_expiring_soon' };
    case 'consent_expired':
      if (!LIVE.has(st)) throw invalid();
      return { status: 'reconnect_required', reason: 'consent_expired' };
    case 'consent_revoked':
      if (!LIVE.has(st)) throw invalid();
      return { status: 'reconnect_required', reason: 'consent_revoked' };
    case 'new_accounts_detected':
      if (st !== 'active') throw invalid();
      return { status: 'active', reason: 'new_accounts_available' };
    case 'repair_started':
      if (!allowedActions(s).includes('repair')) throw invalid();
      // web: new credentials to verify; token: a new token already claimed, synced from init as a new one is.
      if (s.method === 'web') return { status: 'pending', reason: null };
      if (s.method === 'token') return { status: 'init', reason: null };
      return { status: st, reason: s.reason };
    case 'unlinked':
      if (!LIVE.has(st)) throw invalid();
      return { status: 'unlinked', reason: 'unlinked_by_app' };
    case 'deleted':
      return { status: 'deleted', reason: null };
  }
}

const REPAIRABLE_ACTIVE_REASONS: ReadonlySet<StatusReason | null> = new Set(['access_expiring_soon', 'new_accounts_available']);

/**
 * What the app may do now (PRODUCT.md §3 operations table). A refresh from reconnect_required needs
 * the user present, which a server-side API key cannot prove, so it is left out here.
 */
export function allowedActions(s: Pick<ConnectionState, 'status' | 'reason'>): ConnectionAction[] {
  switch (s.status) {
    case 'pre_init': return ['repair', 'update_products', 'purge', 'delete'];
    case 'init':
    case 'pending': return ['update_products', 'purge', 'delete'];
    case 'active':
      return REPAIRABLE_ACTIVE_REASONS.has(s.reason)
        ? ['refresh', 'repair', 'update_products', 'purge', 'unlink', 'delete']
        : ['refresh', 'update_products', 'purge', 'unlink', 'delete'];
    case 'degraded': return ['refresh', 'repair', 'update_products', 'purge', 'unlink', 'delete'];
    case 'reconnect_required': return ['repair', 'update_products', 'purge', 'unlink', 'delete'];
    case 'failed': return ['repair', 'update_products', 'purge', 'delete'];
    case 'unlinked': return ['repair', 'purge', 'delete'];
    case 'deleted': return [];
  }
}

/** What the user should do about a reason: shown beside it in the API and the pages. */
export function userActionFor(reason: StatusReason | null): 'reconnect' | 'wait' | 'none' {
  if (reason === null) return 'none';
  if (['institution_unavailable', 'provider_error', 'rate_limited', 'continued_failures', 'duplicate_credentials'].includes(reason)) return 'wait';
  if (['partial_data', 'awaiting_mfa', 'unlinked_by_app', 'duplicate_connection'].includes(reason)) return 'none';
  return 'reconnect';
}
