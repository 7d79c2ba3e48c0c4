import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { transition, type ConnectionState } from '../../src/domain/status.js';
import type { ConnectionStatus, StatusReason } from '../../src/domain/types.js';
import {
  mapPlaidError, PLAID_ERROR_REASONS, PLAID_ERROR_TYPES, PLAID_ERRORS, toProviderError,
} from '../../src/providers/plaid/errors.js';
import { ProviderError, type ProviderErrorCode } from '../../src/providers/types.js';

/** Every Plaid code the adapter knows: [Causeway code, transient]. Written out, not derived, so a change shows here. */
const EXPECTED: Record<string, [ProviderErrorCode, boolean]> = {
  ITEM_LOGIN_REQUIRED: ['invalid_credentials', false],
  INVALID_CREDENTIALS: ['invalid_credentials', false],
  INVALID_UPDATED_USERNAME: ['invalid_credentials', false],
  INVALID_ACCESS_TOKEN: ['invalid_credentials', false],
  INVALID_MFA: ['mfa_failed', false],
  INVALID_OTP: ['mfa_failed', false],
  INVALID_SEND_METHOD: ['mfa_failed', false],
  ITEM_LOCKED: ['account_locked', false],
  USER_SETUP_REQUIRED: ['user_action_required', false],
  PASSWORD_RESET_REQUIRED: ['user_action_required', false],
  MFA_NOT_SUPPORTED: ['user_action_required', false],
  NO_ACCOUNTS: ['user_action_required', false],
  NO_AUTH_ACCOUNTS: ['user_action_required', false],
  'no-depository-accounts': ['user_action_required', false],
  NO_INVESTMENT_ACCOUNTS: ['user_action_required', false],
  NO_INVESTMENT_AUTH_ACCOUNTS: ['user_action_required', false],
  NO_LIABILITY_ACCOUNTS: ['user_action_required', false],
  ITEM_NOT_SUPPORTED: ['user_action_required', false],
  ACCESS_NOT_GRANTED: ['user_action_required', false],
  ADDITIONAL_CONSENT_REQUIRED: ['user_action_required', false],
  MANUAL_VERIFICATION_REQUIRED: ['user_action_required', false],
  TOO_MANY_VERIFICATION_ATTEMPTS: ['user_action_required', false],
  INSUFFICIENT_CREDENTIALS: ['authorization_denied', false],
  USER_INPUT_TIMEOUT: ['authorization_denied', false],
  INVALID_PHONE_NUMBER: ['authorization_denied', false],
  RECAPTCHA_REQUIRED: ['authorization_denied', false],
  RECAPTCHA_BAD: ['authorization_denied', false],
  INCORRECT_OAUTH_NONCE: ['authorization_denied', false],
  INCORRECT_LINK_TOKEN: ['authorization_denied', false],
  OAUTH_STATE_ID_ALREADY_PROCESSED: ['authorization_denied', false],
  OAUTH_STATE_ID_NOT_FOUND: ['authorization_denied', false],
  ITEM_NOT_FOUND: ['consent_revoked', false],
  ITEM_CONCURRENTLY_DELETED: ['consent_revoked', false],
  USER_PERMISSION_REVOKED: ['consent_revoked', false],
  USER_ACCOUNT_REVOKED: ['consent_revoked', false],
  INSTITUTION_DOWN: ['institution_unavailable', true],
  INSTITUTION_NOT_RESPONDING: ['institution_unavailable', true],
  INSTITUTION_NOT_AVAILABLE: ['institution_unavailable', true],
  UNSUPPORTED_RESPONSE: ['institution_unavailable', true],
  INSTITUTION_NO_LONGER_SUPPORTED: ['institution_unavailable', false],
  PRODUCT_NOT_READY: ['provider_error', true],
  TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION: ['provider_error', true],
  INTERNAL_SERVER_ERROR: ['provider_error', true],
  'plaid-internal-error': ['provider_error', true],
  PLANNED_MAINTENANCE: ['provider_error', true],
  PRODUCTS_NOT_SUPPORTED: ['provider_error', false],
  PRODUCT_NOT_ENABLED: ['provider_error', false],
  INSTANT_MATCH_FAILED: ['provider_error', false],
  INSTITUTION_NOT_ENABLED_IN_ENVIRONMENT: ['provider_error', false],
  INSTITUTION_REGISTRATION_REQUIRED: ['provider_error', false],
  UNAUTHORIZED_INSTITUTION: ['provider_error', false],
  INVALID_API_KEYS: ['provider_error', false],
  UNAUTHORIZED_ENVIRONMENT: ['provider_error', false],
  UNAUTHORIZED_ROUTE_ACCESS: ['provider_error', false],
  INVALID_PRODUCT: ['provider_error', false],
  INVALID_PUBLIC_TOKEN: ['provider_error', false],
  INVALID_LINK_TOKEN: ['provider_error', false],
  INVALID_LINK_CUSTOMIZATION: ['provider_error', false],
  INVALID_INSTITUTION: ['provider_error', false],
  INVALID_ACCOUNT_ID: ['provider_error', false],
  INVALID_USER_ID: ['provider_error', false],
  INVALID_USER_TOKEN: ['provider_error', false],
  INVALID_WEBHOOK_VERIFICATION_KEY_ID: ['provider_error', false],
  DIRECT_INTEGRATION_NOT_ENABLED: ['provider_error', false],
  MISSING_FIELDS: ['provider_error', false],
  UNKNOWN_FIELDS: ['provider_error', false],
  INVALID_FIELD: ['provider_error', false],
  INVALID_CONFIGURATION: ['provider_error', false],
  INCOMPATIBLE_API_VERSION: ['provider_error', false],
  INVALID_BODY: ['provider_error', false],
  INVALID_HEADERS: ['provider_error', false],
  NOT_FOUND: ['provider_error', false],
  NO_LONGER_AVAILABLE: ['provider_error', false],
  SANDBOX_ONLY: ['provider_error', false],
  RATE_LIMIT_EXCEEDED: ['rate_limited', true],
  RATE_LIMIT: ['rate_limited', true],
  ACCOUNTS_LIMIT: ['rate_limited', true],
  ACCOUNTS_BALANCE_GET_LIMIT: ['rate_limited', true],
  AUTH_LIMIT: ['rate_limited', true],
  BALANCE_LIMIT: ['rate_limited', true],
  IDENTITY_LIMIT: ['rate_limited', true],
  INSTITUTIONS_GET_LIMIT: ['rate_limited', true],
  INSTITUTIONS_GET_BY_ID_LIMIT: ['rate_limited', true],
  INSTITUTION_RATE_LIMIT: ['rate_limited', true],
  INVESTMENT_HOLDINGS_GET_LIMIT: ['rate_limited', true],
  INVESTMENT_TRANSACTIONS_LIMIT: ['rate_limited', true],
  ITEM_GET_LIMIT: ['rate_limited', true],
  TRANSACTIONS_LIMIT: ['rate_limited', true],
  TRANSACTIONS_REFRESH_LIMIT: ['rate_limited', true],
  TRANSACTIONS_SYNC_LIMIT: ['rate_limited', true],
  CREDITS_EXHAUSTED: ['rate_limited', false],
  TRIAL_CONNECTION_LIMIT: ['rate_limited', false],
};

/** Where each Causeway code leaves a connection that has synced before (status.ts), written out by hand. */
const AFTER_SYNC: Record<Exclude<ProviderErrorCode, 'mfa_required'>, [ConnectionStatus, StatusReason]> = {
  invalid_credentials: ['reconnect_required', 'invalid_credentials'],
  account_locked: ['reconnect_required', 'account_locked'],
  mfa_failed: ['reconnect_required', 'mfa_required'],
  consent_expired: ['reconnect_required', 'consent_expired'],
  consent_revoked: ['reconnect_required', 'consent_revoked'],
  user_action_required: ['reconnect_required', 'user_action_required'],
  authorization_denied: ['reconnect_required', 'user_action_required'],
  institution_unavailable: ['degraded', 'institution_unavailable'],
  provider_error: ['degraded', 'provider_error'],
  rate_limited: ['degraded', 'rate_limited'],
};

const synced: ConnectionState = { status: 'active', reason: null, method: 'hosted', everSynced: true };
const firstSync: ConnectionState = { status: 'init', reason: null, method: 'hosted', everSynced: false };

function landing(state: ConnectionState, code: ProviderErrorCode) {
  assert.notEqual(code, 'mfa_required', 'the adapter never raises mfa_required (Causeway does)');
  return transition(state, { type: 'job_failed', code: code as Exclude<ProviderErrorCode, 'mfa_required'>, userPresent: false });
}

describe('Plaid error table', () => {
  it('lists exactly the codes this test expects', () => {
    assert.deepEqual(Object.keys(PLAID_ERRORS).sort(), Object.keys(EXPECTED).sort());
  });

  for (const [plaidCode, mapping] of Object.entries(PLAID_ERRORS)) {
    const [code, transient] = EXPECTED[plaidCode] ?? ['?', '?'];
    const [afterStatus, afterReason] = AFTER_SYNC[code as keyof typeof AFTER_SYNC] ?? ['?', '?'];
    it(`${plaidCode} is ${code}${transient ? ' (transient)' : ''}: ${afterStatus}/${afterReason} after a sync, failed/${code} before`, () => {
      assert.deepEqual([mapping.code, mapping.transient], [code, transient]);
      assert.ok(mapping.userAction.length > 10 && !/[A-Z]{3,}_[A-Z]/.test(mapping.userAction), 'plain words, no Plaid codes');
      assert.deepEqual(landing(synced, mapping.code), { status: afterStatus, reason: afterReason });
      assert.deepEqual(landing(firstSync, mapping.code), { status: 'failed', reason: mapping.code });
    });
  }

  it('tells an expired or withdrawn OAuth consent from a changed login by error_code_reason', () => {
    const reasons = (r: string | null) => mapPlaidError({ error_type: 'ITEM_ERROR', error_code: 'ITEM_LOGIN_REQUIRED', error_code_reason: r }).code;
    assert.equal(reasons('OAUTH_CONSENT_EXPIRED'), 'consent_expired');
    assert.equal(reasons('OAUTH_USER_REVOKED'), 'consent_revoked');
    assert.equal(reasons('OAUTH_INVALID_TOKEN'), 'invalid_credentials');
    assert.equal(reasons(null), 'invalid_credentials');
    assert.deepEqual(landing(synced, reasons('OAUTH_CONSENT_EXPIRED')), { status: 'reconnect_required', reason: 'consent_expired' });
    assert.deepEqual(landing(synced, reasons('OAUTH_USER_REVOKED')), { status: 'reconnect_required', reason: 'consent_revoked' });
    assert.equal(Object.keys(PLAID_ERROR_REASONS).length, 3);
    // A reason only refines ITEM_LOGIN_REQUIRED.
    assert.equal(mapPlaidError({ error_code: 'INSTITUTION_DOWN', error_code_reason: 'OAUTH_USER_REVOKED' }).code, 'institution_unavailable');
  });

  it('falls back on error_type for a code it does not know', () => {
    const byType = (t: string) => mapPlaidError({ error_type: t, error_code: 'SOMETHING_NEW' });
    assert.deepEqual([byType('INSTITUTION_ERROR').code, byType('INSTITUTION_ERROR').transient], ['institution_unavailable', true]);
    assert.deepEqual([byType('RATE_LIMIT_EXCEEDED').code, byType('RATE_LIMIT_EXCEEDED').transient], ['rate_limited', true]);
    assert.deepEqual([byType('API_ERROR').code, byType('API_ERROR').transient], ['provider_error', true]);
    assert.deepEqual([byType('ITEM_ERROR').code, byType('ITEM_ERROR').transient], ['provider_error', false]);
    assert.deepEqual([byType('INVALID_REQUEST').code, byType('INVALID_REQUEST').transient], ['provider_error', false]);
    assert.deepEqual([byType('OAUTH_ERROR').code, byType('OAUTH_ERROR').transient], ['authorization_denied', false]);
    assert.ok(Object.keys(PLAID_ERROR_TYPES).length >= 8);
    // Neither code nor type known: by HTTP status, else a final provider_error.
    assert.deepEqual([mapPlaidError({}, 429).code, mapPlaidError({}, 429).transient], ['rate_limited', true]);
    assert.deepEqual([mapPlaidError({}, 503).code, mapPlaidError({}, 503).transient], ['provider_error', true]);
    assert.deepEqual([mapPlaidError({}, 400).code, mapPlaidError({}, 400).transient], ['provider_error', false]);
  });
});

const NOW = new Date('2026-05-01T12:00:00Z');
const TOKEN = 'access-sandbox-8ab976e6-64bc-4b38-98f7-731e7a349970';

function httpError(status: number, data: unknown, headers: Record<string, string> = {}) {
  return Object.assign(new Error(`Request failed with status code ${status}`), {
    isAxiosError: true,
    config: { headers: { 'PLAID-SECRET': 'the-secret' }, data: JSON.stringify({ access_token: TOKEN }) },
    response: { status, data, headers },
  });
}

describe('Plaid failures as ProviderError', () => {
  const convert = (err: unknown) => toProviderError(err, { operation: '/transactions/sync', now: NOW, secrets: [TOKEN, 'the-secret'] });

  it('keeps Plaid\'s code and request id, and says what to do', () => {
    const e = convert(httpError(400, {
      error_type: 'ITEM_ERROR', error_code: 'ITEM_LOGIN_REQUIRED', error_message: 'the login details of this item have changed', request_id: 'req_123',
    }));
    assert.ok(e instanceof ProviderError);
    assert.deepEqual([e.code, e.transient, e.providerCode, e.requestId, e.restartPagination, e.retryAfterSeconds],
      ['invalid_credentials', false, 'ITEM_LOGIN_REQUIRED', 'req_123', false, null]);
    assert.match(e.message, /Sign in to your bank again/);
    assert.match(e.message, /ITEM_LOGIN_REQUIRED on \/transactions\/sync/);
    assert.equal(e.cause, undefined, 'the axios error (its config holds the secret) is not kept');
  });

  it('asks to restart pagination when the data changed under the cursor', () => {
    const e = convert(httpError(400, { error_type: 'TRANSACTIONS_ERROR', error_code: 'TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION', request_id: 'r' }));
    assert.deepEqual([e.code, e.transient, e.restartPagination], ['provider_error', true, true]);
  });

  it('reads Retry-After as seconds or as a date', () => {
    const seconds = convert(httpError(429, { error_type: 'RATE_LIMIT_EXCEEDED', error_code: 'TRANSACTIONS_SYNC_LIMIT' }, { 'Retry-After': '17' }));
    assert.deepEqual([seconds.code, seconds.transient, seconds.retryAfterSeconds], ['rate_limited', true, 17]);
    const date = convert(httpError(429, {}, { 'retry-after': new Date(NOW.getTime() + 90_000).toUTCString() }));
    assert.deepEqual([date.code, date.providerCode, date.retryAfterSeconds], ['rate_limited', 'HTTP_429', 90]);
  });

  it('never puts the access token or the secret in a message', () => {
    const e = convert(httpError(400, {
      error_type: 'INVALID_INPUT', error_code: 'INVALID_ACCESS_TOKEN', error_message: `provided access token ${TOKEN} is invalid; secret the-secret`,
    }));
    assert.equal(e.code, 'invalid_credentials');
    assert.ok(!e.message.includes(TOKEN) && !e.message.includes('the-secret'), e.message);
    const other = toProviderError(httpError(400, { error_code: 'X', error_message: 'token access-production-0f9e8d7c-1111-2222 leaked' }), { operation: 'x', now: NOW, secrets: [] });
    assert.ok(!other.message.includes('access-production-0f9e8d7c'), other.message);
  });

  it('reads no answer at all as a transient provider_error', () => {
    const refused = convert(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { isAxiosError: true, code: 'ECONNREFUSED' }));
    assert.deepEqual([refused.code, refused.transient, refused.providerCode], ['provider_error', true, 'NETWORK_ERROR']);
    const slow = convert(Object.assign(new Error('timeout of 30000ms exceeded'), { isAxiosError: true, code: 'ECONNABORTED' }));
    assert.deepEqual([slow.code, slow.transient, slow.providerCode], ['provider_error', true, 'TIMEOUT']);
    const unexplained = convert(httpError(502, '<html>Bad gateway</html>'));
    assert.deepEqual([unexplained.code, unexplained.transient, unexplained.providerCode], ['provider_error', true, 'HTTP_502']);
  });

  it('reads a fault on our side as final, and passes a ProviderError through', () => {
    const bug = convert(new TypeError('cannot read properties of undefined'));
    assert.deepEqual([bug.code, bug.transient, bug.providerCode], ['provider_error', false, 'ADAPTER_ERROR']);
    const given = new ProviderError('rate_limited', 'x', true, 'Y');
    assert.equal(convert(given), given);
  });
});
