import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  allowedActions, transition, InvalidTransitionError, type ConnectionEvent, type ConnectionState,
} from '../../src/domain/status.js';
import { CONNECTION_STATUSES, type ConnectionStatus, type Method, type StatusReason } from '../../src/domain/types.js';

type Row = {
  from: ConnectionStatus; reason?: StatusReason | null; method?: Method; everSynced?: boolean;
  event: ConnectionEvent; to: ConnectionStatus; toReason: StatusReason | null;
};

const S = (from: ConnectionStatus, event: ConnectionEvent, to: ConnectionStatus, toReason: StatusReason | null, extra: Partial<Row> = {}): Row =>
  ({ from, event, to, toReason, ...extra });

// Every valid transition. Any (status, event) pair not listed for a given event type must be refused:
// the completeness test below checks that for all nine statuses.
const TABLE: Row[] = [
  // create (web) and duplicate pause
  ...(['pending', 'failed', 'reconnect_required', 'degraded', 'unlinked', 'active'] as const).map((f) =>
    S(f, { type: 'credentials_submitted' }, 'pending', null, { method: 'web' })),
  S('pending', { type: 'paused_duplicate' }, 'pending', 'duplicate_credentials', { method: 'web' }),
  // openbanking authorisation
  S('pre_init', { type: 'authorization_started' }, 'pre_init', null, { method: 'openbanking' }),
  S('failed', { type: 'authorization_started' }, 'pre_init', null, { method: 'openbanking' }),
  // A first link whose requisition lapsed at the provider (GoCardless EX) waits for the user in reconnect_required: repair starts a new one.
  S('reconnect_required', { type: 'authorization_started' }, 'pre_init', null, { method: 'openbanking', reason: 'consent_expired' }),
  ...(['pre_init', 'pending', 'active', 'degraded', 'reconnect_required', 'failed', 'unlinked'] as const).map((f) =>
    S(f, { type: 'authorization_granted' }, 'init', null, { method: 'openbanking', everSynced: f !== 'pre_init' && f !== 'failed' })),
  S('pre_init', { type: 'authorization_denied' }, 'failed', 'authorization_denied', { method: 'openbanking' }),
  S('pre_init', { type: 'authorization_denied', code: 'consent_expired' }, 'reconnect_required', 'consent_expired', { method: 'openbanking' }),
  S('pre_init', { type: 'authorization_denied', code: 'consent_revoked' }, 'reconnect_required', 'consent_revoked', { method: 'openbanking' }),
  S('pre_init', { type: 'authorization_denied', code: 'provider_error' }, 'failed', 'authorization_denied', { method: 'openbanking' }),
  S('active', { type: 'authorization_denied' }, 'active', 'access_expiring_soon', { method: 'openbanking', reason: 'access_expiring_soon', everSynced: true }),
  S('reconnect_required', { type: 'authorization_denied' }, 'reconnect_required', 'consent_expired', { method: 'openbanking', reason: 'consent_expired', everSynced: true }),
  S('degraded', { type: 'authorization_denied' }, 'degraded', 'provider_error', { method: 'openbanking', reason: 'provider_error', everSynced: true }),
  S('unlinked', { type: 'authorization_denied' }, 'unlinked', 'unlinked_by_app', { method: 'openbanking', reason: 'unlinked_by_app', everSynced: true }),
  S('pre_init', { type: 'authorization_abandoned' }, 'failed', 'authorization_abandoned', { method: 'openbanking' }),
  // first retrieval
  S('pending', { type: 'job_succeeded' }, 'active', null),
  S('init', { type: 'job_succeeded' }, 'active', null, { method: 'openbanking' }),
  S('pending', { type: 'job_succeeded', partialData: true }, 'active', 'partial_data'),
  S('pending', { type: 'job_succeeded', accessExpiringSoon: true, newAccounts: true }, 'active', 'access_expiring_soon'),
  S('pending', { type: 'job_failed', code: 'invalid_credentials', userPresent: true }, 'failed', 'invalid_credentials'),
  S('pending', { type: 'job_failed', code: 'account_locked', userPresent: true }, 'failed', 'account_locked'),
  S('pending', { type: 'job_failed', code: 'mfa_failed', userPresent: true }, 'failed', 'mfa_failed'),
  S('pending', { type: 'job_failed', code: 'mfa_timeout', userPresent: true }, 'failed', 'mfa_timeout'),
  S('pending', { type: 'job_failed', code: 'institution_unavailable', userPresent: true }, 'failed', 'institution_unavailable'),
  S('init', { type: 'job_failed', code: 'provider_error', userPresent: false }, 'failed', 'provider_error', { method: 'openbanking' }),
  // later refreshes, and the recoveries they bring
  S('active', { type: 'job_succeeded' }, 'active', null, { everSynced: true, reason: 'partial_data' }),
  S('degraded', { type: 'job_succeeded' }, 'active', null, { everSynced: true, reason: 'institution_unavailable' }),
  S('reconnect_required', { type: 'job_succeeded' }, 'active', null, { everSynced: true, reason: 'mfa_required' }),
  S('active', { type: 'job_succeeded', newAccounts: true }, 'active', 'new_accounts_available', { everSynced: true }),
  S('active', { type: 'job_failed', code: 'institution_unavailable', userPresent: false }, 'degraded', 'institution_unavailable', { everSynced: true }),
  S('active', { type: 'job_failed', code: 'rate_limited', userPresent: false }, 'degraded', 'rate_limited', { everSynced: true }),
  S('active', { type: 'job_failed', code: 'invalid_credentials', userPresent: false }, 'reconnect_required', 'invalid_credentials', { everSynced: true }),
  S('active', { type: 'job_failed', code: 'account_locked', userPresent: false }, 'reconnect_required', 'account_locked', { everSynced: true }),
  S('active', { type: 'job_failed', code: 'consent_expired', userPresent: false }, 'reconnect_required', 'consent_expired', { everSynced: true }),
  S('active', { type: 'job_failed', code: 'authorization_denied', userPresent: false }, 'reconnect_required', 'user_action_required', { everSynced: true }),
  S('active', { type: 'job_failed', code: 'mfa_failed', userPresent: true }, 'active', null, { everSynced: true }),
  S('degraded', { type: 'job_failed', code: 'mfa_timeout', userPresent: true }, 'degraded', 'provider_error', { everSynced: true, reason: 'provider_error' }),
  S('active', { type: 'job_failed', code: 'mfa_timeout', userPresent: false }, 'reconnect_required', 'mfa_required', { everSynced: true }),
  S('pending', { type: 'job_failed', code: 'mfa_failed', userPresent: true }, 'reconnect_required', 'mfa_required', { everSynced: true }),
  S('pending', { type: 'job_failed', code: 'invalid_credentials', userPresent: true }, 'reconnect_required', 'invalid_credentials', { everSynced: true }),
  S('degraded', { type: 'job_failed', code: 'provider_error', userPresent: false }, 'degraded', 'provider_error', { everSynced: true, reason: 'institution_unavailable' }),
  S('reconnect_required', { type: 'job_failed', code: 'invalid_credentials', userPresent: true }, 'reconnect_required', 'invalid_credentials', { everSynced: true }),
  ...(['active', 'degraded', 'reconnect_required'] as const).map((f) =>
    S(f, { type: 'mfa_required_in_background' }, 'reconnect_required', 'mfa_required', { everSynced: true })),
  ...(['active', 'degraded', 'reconnect_required'] as const).map((f) =>
    S(f, { type: 'login_required' }, 'reconnect_required', 'invalid_credentials', { everSynced: true })),
  S('active', { type: 'consent_expiring' }, 'active', 'access_expiring_soon', { everSynced: true, method: 'openbanking' }),
  ...(['active', 'degraded', 'reconnect_required'] as const).map((f) =>
    S(f, { type: 'consent_expired' }, 'reconnect_required', 'consent_expired', { everSynced: true, method: 'openbanking' })),
  ...(['active', 'degraded', 'reconnect_required'] as const).map((f) =>
    S(f, { type: 'consent_revoked' }, 'reconnect_required', 'consent_revoked', { everSynced: true, method: 'openbanking' })),
  S('active', { type: 'new_accounts_detected' }, 'active', 'new_accounts_available', { everSynced: true }),
  // lifecycle rules: a duplicate-credentials pause ends in a normal first sync; an abandoned
  // authorisation is resumed; an import whose token has lapsed never becomes active; web access
  // (user_expiring) expires like consent; the latest consent news wins over the reason before it
  S('pending', { type: 'job_succeeded' }, 'active', null, { reason: 'duplicate_credentials' }),
  S('failed', { type: 'authorization_started' }, 'pre_init', null, { method: 'openbanking', reason: 'authorization_abandoned' }),
  S('init', { type: 'job_failed', code: 'consent_expired', userPresent: false }, 'failed', 'consent_expired', { method: 'openbanking' }),
  S('init', { type: 'job_failed', code: 'invalid_credentials', userPresent: false }, 'failed', 'invalid_credentials', { method: 'openbanking' }),
  S('active', { type: 'consent_expired' }, 'reconnect_required', 'consent_expired', { everSynced: true, reason: 'access_expiring_soon' }),
  S('active', { type: 'consent_expiring' }, 'active', 'access_expiring_soon', { everSynced: true, method: 'openbanking', reason: 'new_accounts_available' }),
  S('reconnect_required', { type: 'consent_expired' }, 'reconnect_required', 'consent_expired', { everSynced: true, method: 'openbanking', reason: 'consent_revoked' }),
  // repair
  S('reconnect_required', { type: 'repair_started' }, 'pending', null, { everSynced: true, reason: 'invalid_credentials' }),
  S('degraded', { type: 'repair_started' }, 'pending', null, { everSynced: true }),
  S('failed', { type: 'repair_started' }, 'pending', null),
  S('unlinked', { type: 'repair_started' }, 'pending', null, { everSynced: true }),
  S('active', { type: 'repair_started' }, 'pending', null, { everSynced: true, reason: 'new_accounts_available' }),
  S('active', { type: 'repair_started' }, 'active', 'access_expiring_soon', { everSynced: true, reason: 'access_expiring_soon', method: 'openbanking' }),
  S('pre_init', { type: 'repair_started' }, 'pre_init', null, { method: 'openbanking' }),
  // token: a new setup token was claimed before the repair: synced again from init.
  S('reconnect_required', { type: 'repair_started' }, 'init', null, { method: 'token', everSynced: true, reason: 'user_action_required' }),
  // unlink and delete
  ...(['active', 'degraded', 'reconnect_required'] as const).map((f) =>
    S(f, { type: 'unlinked' }, 'unlinked', 'unlinked_by_app', { everSynced: true })),
  ...CONNECTION_STATUSES.filter((f) => f !== 'deleted').map((f) => S(f, { type: 'deleted' }, 'deleted', null)),
];

const stateOf = (r: Row): ConnectionState => ({
  status: r.from, reason: r.reason ?? null, method: r.method ?? 'web', everSynced: r.everSynced ?? false,
});

describe('connection status machine', () => {
  for (const r of TABLE) {
    it(`${r.from}${r.reason ? `/${r.reason}` : ''} (${r.method ?? 'web'}${r.everSynced ? ', synced' : ''}) + ${JSON.stringify(r.event)} -> ${r.to}/${r.toReason}`, () => {
      assert.deepEqual(transition(stateOf(r), r.event), { status: r.to, reason: r.toReason });
    });
  }

  it('refuses every event type in every status the table does not list for it', () => {
    const eventTypes = new Map<string, ConnectionEvent>();
    for (const r of TABLE) eventTypes.set(r.event.type, r.event);
    let refused = 0;
    for (const [type, event] of eventTypes) {
      for (const status of CONNECTION_STATUSES) {
        if (TABLE.some((r) => r.event.type === type && r.from === status)) continue;
        for (const method of ['web', 'openbanking'] as const) {
          for (const everSynced of [false, true]) {
            assert.throws(() => transition({ status, reason: null, method, everSynced }, event), InvalidTransitionError,
              `${status} (${method}) must refuse ${type}`);
            refused++;
          }
        }
      }
    }
    assert.ok(refused > 200, `expected many refusals, checked ${refused}`);
  });

  it('refuses web events on openbanking connections and the reverse', () => {
    for (const status of CONNECTION_STATUSES) {
      assert.throws(() => transition({ status, reason: null, method: 'openbanking', everSynced: true }, { type: 'credentials_submitted' }), InvalidTransitionError);
      for (const type of ['authorization_started', 'authorization_granted', 'authorization_denied', 'authorization_abandoned'] as const) {
        assert.throws(() => transition({ status, reason: null, method: 'web', everSynced: false }, { type }), InvalidTransitionError);
      }
    }
  });

  it('a deleted connection takes no event at all and allows no action', () => {
    for (const r of TABLE) {
      assert.throws(() => transition({ status: 'deleted', reason: null, method: 'web', everSynced: true }, r.event), InvalidTransitionError);
    }
    assert.deepEqual(allowedActions({ status: 'deleted', reason: null }), []);
  });

  it('every error status has a way back to active', () => {
    const errorStates: ConnectionState[] = [
      { status: 'degraded', reason: 'institution_unavailable', method: 'web', everSynced: true },
      { status: 'degraded', reason: 'continued_failures', method: 'web', everSynced: true },
      { status: 'reconnect_required', reason: 'invalid_credentials', method: 'web', everSynced: true },
      { status: 'reconnect_required', reason: 'mfa_required', method: 'web', everSynced: true },
      { status: 'reconnect_required', reason: 'account_locked', method: 'web', everSynced: true },
      { status: 'reconnect_required', reason: 'consent_expired', method: 'openbanking', everSynced: true },
      { status: 'reconnect_required', reason: 'consent_revoked', method: 'openbanking', everSynced: true },
      { status: 'failed', reason: 'invalid_credentials', method: 'web', everSynced: false },
      { status: 'failed', reason: 'authorization_abandoned', method: 'openbanking', everSynced: false },
      { status: 'unlinked', reason: 'unlinked_by_app', method: 'web', everSynced: true },
      { status: 'unlinked', reason: 'unlinked_by_app', method: 'openbanking', everSynced: true },
      { status: 'active', reason: 'partial_data', method: 'web', everSynced: true },
    ];
    for (const start of errorStates) {
      let s = start;
      // Web repairs with new credentials; openbanking re-authorises. Either way a job then succeeds.
      if (s.status === 'degraded' || (s.status === 'active')) {
        s = { ...s, ...transition(s, { type: 'job_succeeded' }) };
      } else {
        assert.ok(allowedActions(s).includes('repair'), `${s.status}/${s.reason} must allow repair`);
        const repaired = s.method === 'web'
          ? transition(s, { type: 'credentials_submitted' })
          : transition(s, { type: 'authorization_granted' });
        s = { ...s, ...repaired };
        s = { ...s, ...transition(s, { type: 'job_succeeded' }) };
      }
      assert.deepEqual({ status: s.status, reason: s.reason }, { status: 'active', reason: null }, `${start.status}/${start.reason}`);
    }
  });

  it('derives allowed actions from status and reason', () => {
    assert.deepEqual(allowedActions({ status: 'active', reason: null }), ['refresh', 'update_products', 'purge', 'unlink', 'delete']);
    assert.ok(allowedActions({ status: 'active', reason: 'access_expiring_soon' }).includes('repair'));
    assert.ok(allowedActions({ status: 'active', reason: 'new_accounts_available' }).includes('repair'));
    assert.ok(!allowedActions({ status: 'active', reason: 'partial_data' }).includes('repair'));
    assert.ok(allowedActions({ status: 'degraded', reason: 'provider_error' }).includes('refresh'));
    assert.ok(!allowedActions({ status: 'reconnect_required', reason: 'invalid_credentials' }).includes('refresh'));
    assert.deepEqual(allowedActions({ status: 'unlinked', reason: 'unlinked_by_app' }), ['repair', 'purge', 'delete']);
    assert.ok(!allowedActions({ status: 'pending', reason: null }).includes('refresh'));
  });
});

