/**
 * Plaid's failures, normalised once (ENGINEERING.md habit 3). Every error code Plaid's error catalogue
 * (plaid.com/docs/errors) lists for Items, institutions, transactions, Link, OAuth, rate limits and API
 * errors maps to a Causeway code, whether a retry can help, and what the end user should do. A code the
 * table does not know falls back on Plaid's `error_type`.
 *
 * How the codes land (src/domain/status.ts, a connection that has synced before): user failures go to
 * reconnect_required with the code as reason, the rest to degraded; on a first sync every failure ends
 * the connection as failed with the code as reason. So:
 * - a login the bank no longer accepts (ITEM_LOGIN_REQUIRED) is `invalid_credentials`: the same reason
 *   the status machine gives its own `login_required` event, "sign in again" for the user;
 * - an OAuth consent that ran out or that the user withdrew comes as ITEM_LOGIN_REQUIRED too, told apart
 *   by `error_code_reason` (PLAID_ERROR_REASONS): `consent_expired`, `consent_revoked`;
 * - an Item Plaid no longer has (removed by the user at my.plaid.com, say) is `consent_revoked`;
 * - what only the user can fix at the bank (locked, setup, password reset) is `account_locked` or
 *   `user_action_required`; leaving Link or failing its checks is `authorization_denied`;
 * - our own mistakes and missing set-up (bad keys, a product not enabled) are `provider_error`, not
 *   transient: retrying cannot help and the user can do nothing about them.
 */
import { ProviderError, type ProviderErrorCode } from '../types.js';

export interface PlaidErrorMapping {
  code: ProviderErrorCode;
  /** A retry later can succeed without anyone doing anything. */
  transient: boolean;
  /** Plain words for the end user. */
  userAction: string;
}

const m = (code: ProviderErrorCode, transient: boolean, userAction: string): PlaidErrorMapping => ({ code, transient, userAction });

const SIGN_IN_AGAIN = 'Sign in to your bank again: your login details or security settings have changed.';
const CHECK_LOGIN = 'Check your username and password, then connect again.';
const CODE_REFUSED = 'The security code was not accepted. Connect again and enter a new code.';
const AT_THE_BANK = 'Your bank needs something from you first. Sign in on your bank\'s website, follow its instructions, then connect again.';
const CHOOSE_ACCOUNTS = 'No open accounts were shared. Connect again and choose the accounts to share.';
const OTHER_ACCOUNT = 'These accounts cannot be connected through Plaid. Connect a different account.';
const ALLOW_ACCESS = 'Connect again and allow access to the information this app needs.';
const START_AGAIN = 'The connection was not completed. Start again when you are ready.';
const RECONNECT_GONE = 'This connection no longer exists at Plaid. Connect your bank again.';
const BANK_DOWN = 'Your bank is not responding right now. Nothing to do: it will be tried again.';
const BANK_GONE = 'Plaid can no longer connect to this bank.';
const SLOW_DOWN = 'Too many requests right now. Nothing to do: it will be tried again shortly.';
const PLAID_TROUBLE = 'A temporary problem at Plaid. Nothing to do: it will be tried again.';
const OPERATOR = 'A set-up problem on this service\'s side. Nothing for you to do: the service\'s operator has to fix it.';

/** Every documented code we can meet (Item, institution, transactions, Link, OAuth, rate limit, API, request errors). */
export const PLAID_ERRORS: Readonly<Record<string, PlaidErrorMapping>> = {
  // Item errors (error_type ITEM_ERROR)
  ITEM_LOGIN_REQUIRED: m('invalid_credentials', false, SIGN_IN_AGAIN),
  INVALID_CREDENTIALS: m('invalid_credentials', false, CHECK_LOGIN),
  INVALID_UPDATED_USERNAME: m('invalid_credentials', false, 'Sign in with the same username you first connected with.'),
  INVALID_MFA: m('mfa_failed', false, CODE_REFUSED),
  INVALID_OTP: m('mfa_failed', false, CODE_REFUSED),
  INVALID_SEND_METHOD: m('mfa_failed', false, 'Your bank could not send a security code that way. Connect again and choose another way.'),
  ITEM_LOCKED: m('account_locked', false, 'Your bank has locked your online account. Unlock it on your bank\'s website, then connect again.'),
  USER_SETUP_REQUIRED: m('user_action_required', false, AT_THE_BANK),
  PASSWORD_RESET_REQUIRED: m('user_action_required', false, 'Your bank asks you to reset your password. Do that on your bank\'s website, then connect again.'),
  MFA_NOT_SUPPORTED: m('user_action_required', false, 'Your bank\'s sign-in security method cannot be used here. Change it on your bank\'s website or connect a different account.'),
  NO_ACCOUNTS: m('user_action_required', false, CHOOSE_ACCOUNTS),
  NO_AUTH_ACCOUNTS: m('user_action_required', false, CHOOSE_ACCOUNTS),
  'no-depository-accounts': m('user_action_required', false, CHOOSE_ACCOUNTS),
  NO_INVESTMENT_ACCOUNTS: m('user_action_required', false, CHOOSE_ACCOUNTS),
  NO_INVESTMENT_AUTH_ACCOUNTS: m('user_action_required', false, CHOOSE_ACCOUNTS),
  NO_LIABILITY_ACCOUNTS: m('user_action_required', false, CHOOSE_ACCOUNTS),
  ITEM_NOT_SUPPORTED: m('user_action_required', false, OTHER_ACCOUNT),
  ACCESS_NOT_GRANTED: m('user_action_required', false, ALLOW_ACCESS),
  MANUAL_VERIFICATION_REQUIRED: m('user_action_required', false, OTHER_ACCOUNT),
  // The user left the bank's OAuth pages, or did not answer Link in time.
  INSUFFICIENT_CREDENTIALS: m('authorization_denied', false, START_AGAIN),
  USER_INPUT_TIMEOUT: m('authorization_denied', false, START_AGAIN),
  INVALID_PHONE_NUMBER: m('authorization_denied', false, START_AGAIN),
  // The Item is gone: removed, or access withdrawn by the user at my.plaid.com.
  ITEM_NOT_FOUND: m('consent_revoked', false, RECONNECT_GONE),
  ITEM_CONCURRENTLY_DELETED: m('consent_revoked', false, RECONNECT_GONE),
  PRODUCT_NOT_READY: m('provider_error', true, 'Your bank\'s data is still being collected. Nothing to do: it will be tried again.'),
  PRODUCTS_NOT_SUPPORTED: m('provider_error', false, 'Your bank does not offer this information through Plaid.'),
  PRODUCT_NOT_ENABLED: m('provider_error', false, OPERATOR),
  INSTANT_MATCH_FAILED: m('provider_error', false, OPERATOR),

  // Invalid input errors that are about the user's consent
  USER_PERMISSION_REVOKED: m('consent_revoked', false, 'You withdrew this app\'s access to your bank. Connect again to share your data.'),
  USER_ACCOUNT_REVOKED: m('consent_revoked', false, 'You withdrew access to an account. Connect again to share it.'),
  ADDITIONAL_CONSENT_REQUIRED: m('user_action_required', false, ALLOW_ACCESS),
  // Invalid input errors that are ours (keys, tokens, ids): retrying cannot help
  INVALID_ACCESS_TOKEN: m('invalid_credentials', false, RECONNECT_GONE),
  INVALID_API_KEYS: m('provider_error', false, OPERATOR),
  UNAUTHORIZED_ENVIRONMENT: m('provider_error', false, OPERATOR),
  UNAUTHORIZED_ROUTE_ACCESS: m('provider_error', false, OPERATOR),
  INVALID_PRODUCT: m('provider_error', false, OPERATOR),
  INVALID_PUBLIC_TOKEN: m('provider_error', false, START_AGAIN),
  INVALID_LINK_TOKEN: m('provider_error', false, START_AGAIN),
  INVALID_LINK_CUSTOMIZATION: m('provider_error', false, OPERATOR),
  INVALID_INSTITUTION: m('provider_error', false, OPERATOR),
  INVALID_ACCOUNT_ID: m('provider_error', false, OPERATOR),
  INVALID_USER_ID: m('provider_error', false, OPERATOR),
  INVALID_USER_TOKEN: m('provider_error', false, OPERATOR),
  INVALID_WEBHOOK_VERIFICATION_KEY_ID: m('provider_error', false, OPERATOR),
  DIRECT_INTEGRATION_NOT_ENABLED: m('provider_error', false, OPERATOR),
  TOO_MANY_VERIFICATION_ATTEMPTS: m('user_action_required', false, OTHER_ACCOUNT),

  // Invalid request errors: a request we built wrong
  MISSING_FIELDS: m('provider_error', false, OPERATOR),
  UNKNOWN_FIELDS: m('provider_error', false, OPERATOR),
  INVALID_FIELD: m('provider_error', false, OPERATOR),
  INVALID_CONFIGURATION: m('provider_error', false, OPERATOR),
  INCOMPATIBLE_API_VERSION: m('provider_error', false, OPERATOR),
  INVALID_BODY: m('provider_error', false, OPERATOR),
  INVALID_HEADERS: m('provider_error', false, OPERATOR),
  NOT_FOUND: m('provider_error', false, OPERATOR),
  NO_LONGER_AVAILABLE: m('provider_error', false, OPERATOR),
  SANDBOX_ONLY: m('provider_error', false, OPERATOR),

  // Institution errors
  INSTITUTION_DOWN: m('institution_unavailable', true, BANK_DOWN),
  INSTITUTION_NOT_RESPONDING: m('institution_unavailable', true, BANK_DOWN),
  INSTITUTION_NOT_AVAILABLE: m('institution_unavailable', true, BANK_DOWN),
  UNSUPPORTED_RESPONSE: m('institution_unavailable', true, BANK_DOWN),
  // Will not come back: a retry cannot help, and neither can reconnecting.
  INSTITUTION_NO_LONGER_SUPPORTED: m('institution_unavailable', false, BANK_GONE),
  INSTITUTION_NOT_ENABLED_IN_ENVIRONMENT: m('provider_error', false, OPERATOR),
  INSTITUTION_REGISTRATION_REQUIRED: m('provider_error', false, OPERATOR),
  UNAUTHORIZED_INSTITUTION: m('provider_error', false, OPERATOR),

  // Transactions errors: the cursor's page changed under us; start the pagination again.
  TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION: m('provider_error', true, PLAID_TROUBLE),

  // API errors
  INTERNAL_SERVER_ERROR: m('provider_error', true, PLAID_TROUBLE),
  'plaid-internal-error': m('provider_error', true, PLAID_TROUBLE),
  PLANNED_MAINTENANCE: m('provider_error', true, PLAID_TROUBLE),

  // Rate limit exceeded errors
  RATE_LIMIT_EXCEEDED: m('rate_limited', true, SLOW_DOWN),
  RATE_LIMIT: m('rate_limited', true, SLOW_DOWN),
  ACCOUNTS_LIMIT: m('rate_limited', true, SLOW_DOWN),
  ACCOUNTS_BALANCE_GET_LIMIT: m('rate_limited', true, SLOW_DOWN),
  AUTH_LIMIT: m('rate_limited', true, SLOW_DOWN),
  BALANCE_LIMIT: m('rate_limited', true, SLOW_DOWN),
  IDENTITY_LIMIT: m('rate_limited', true, SLOW_DOWN),
  INSTITUTIONS_GET_LIMIT: m('rate_limited', true, SLOW_DOWN),
  INSTITUTIONS_GET_BY_ID_LIMIT: m('rate_limited', true, SLOW_DOWN),
  INSTITUTION_RATE_LIMIT: m('rate_limited', true, SLOW_DOWN),
  INVESTMENT_HOLDINGS_GET_LIMIT: m('rate_limited', true, SLOW_DOWN),
  INVESTMENT_TRANSACTIONS_LIMIT: m('rate_limited', true, SLOW_DOWN),
  ITEM_GET_LIMIT: m('rate_limited', true, SLOW_DOWN),
  TRANSACTIONS_LIMIT: m('rate_limited', true, SLOW_DOWN),
  TRANSACTIONS_REFRESH_LIMIT: m('rate_limited', true, SLOW_DOWN),
  TRANSACTIONS_SYNC_LIMIT: m('rate_limited', true, SLOW_DOWN),
  // Caps of the Plaid plan, not of a minute: waiting does not lift them, the operator's plan does.
  CREDITS_EXHAUSTED: m('rate_limited', false, OPERATOR),
  TRIAL_CONNECTION_LIMIT: m('rate_limited', false, OPERATOR),

  // ReCAPTCHA and OAuth errors: Link did not finish; the user starts again.
  RECAPTCHA_REQUIRED: m('authorization_denied', false, START_AGAIN),
  RECAPTCHA_BAD: m('authorization_denied', false, START_AGAIN),
  INCORRECT_OAUTH_NONCE: m('authorization_denied', false, START_AGAIN),
  INCORRECT_LINK_TOKEN: m('authorization_denied', false, START_AGAIN),
  OAUTH_STATE_ID_ALREADY_PROCESSED: m('authorization_denied', false, START_AGAIN),
  OAUTH_STATE_ID_NOT_FOUND: m('authorization_denied', false, START_AGAIN),
};

/** ITEM_LOGIN_REQUIRED on an OAuth connection says why in `error_code_reason`. */
export const PLAID_ERROR_REASONS: Readonly<Record<string, PlaidErrorMapping>> = {
  OAUTH_CONSENT_EXPIRED: m('consent_expired', false, 'Your permission to share this bank\'s data has ended. Connect again to renew it.'),
  OAUTH_USER_REVOKED: m('consent_revoked', false, 'You withdrew this app\'s access at your bank. Connect again to share your data.'),
  OAUTH_INVALID_TOKEN: m('invalid_credentials', false, SIGN_IN_AGAIN),
};

/** A code the table does not know, by its `error_type`. */
export const PLAID_ERROR_TYPES: Readonly<Record<string, PlaidErrorMapping>> = {
  ITEM_ERROR: m('provider_error', false, OPERATOR),
  INSTITUTION_ERROR: m('institution_unavailable', true, BANK_DOWN),
  RATE_LIMIT_EXCEEDED: m('rate_limited', true, SLOW_DOWN),
  API_ERROR: m('provider_error', true, PLAID_TROUBLE),
  TRANSACTIONS_ERROR: m('provider_error', true, PLAID_TROUBLE),
  OAUTH_ERROR: m('authorization_denied', false, START_AGAIN),
  RECAPTCHA_ERROR: m('authorization_denied', false, START_AGAIN),
  INVALID_REQUEST: m('provider_error', false, OPERATOR),
  INVALID_INPUT: m('provider_error', false, OPERATOR),
  INVALID_RESULT: m('provider_error', false, OPERATOR),
};

/** What Plaid puts in an error body or an Item's `error` (the fields we read). */
export interface PlaidErrorBody {
  error_type?: string | null;
  error_code?: string | null;
  error_code_reason?: string | null;
  error_message?: string | null;
  request_id?: string | null;
}

/** The mapping for a Plaid error: by code (refined by its reason), else by type, else a non-transient provider_error. */
export function mapPlaidError(body: PlaidErrorBody, httpStatus: number | null = null): PlaidErrorMapping {
  const code = body.error_code ?? '';
  const reason = body.error_code_reason ? PLAID_ERROR_REASONS[body.error_code_reason] : undefined;
  if (code === 'ITEM_LOGIN_REQUIRED' && reason) return reason;
  const known = PLAID_ERRORS[code] ?? (body.error_type ? PLAID_ERROR_TYPES[body.error_type] : undefined);
  if (known) return known;
  if (httpStatus === 429) return PLAID_ERROR_TYPES.RATE_LIMIT_EXCEEDED!;
  // A 5xx Plaid did not explain is Plaid's own trouble; anything else retrying cannot mend.
  return httpStatus !== null && httpStatus >= 500 ? PLAID_ERROR_TYPES.API_ERROR! : m('provider_error', false, OPERATOR);
}

/** Plaid's own code for what the error says when it is not one of Plaid's (a network failure, a timeout). */
export const NETWORK_ERROR = 'NETWORK_ERROR';
export const TIMEOUT = 'TIMEOUT';
export const ADAPTER_ERROR = 'ADAPTER_ERROR';

/** Access and public tokens look like `access-sandbox-8ab976e6-…`: never let one into a message. */
const TOKEN_PATTERN = /\b(access|public)-(sandbox|development|production)-[0-9a-z-]+/gi;

/** A message with every secret it might carry taken out (the caller's token and secret, anything shaped like a token). */
export function scrub(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s.length >= 4) out = out.split(s).join('[redacted]');
  return out.replace(TOKEN_PATTERN, '[redacted]');
}

/** Seconds from a Retry-After header (delta-seconds or an HTTP date, read against `now`), or null. */
export function retryAfterSeconds(value: unknown, now: Date): number | null {
  const raw = Array.isArray(value) ? value[0] : value;
  if (typeof raw !== 'string' && typeof raw !== 'number') return null;
  const text = String(raw).trim();
  if (/^\d+$/.test(text)) return Number(text);
  const at = Date.parse(text);
  return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - now.getTime()) / 1000));
}

/** The parts of an axios error we read; the rest (its config holds the secret and the request body) is never touched. */
interface HttpFailure {
  isAxiosError?: boolean;
  code?: string;
  message?: string;
  response?: { status?: number; data?: unknown; headers?: Record<string, unknown> };
}

function headerOf(headers: Record<string, unknown> | undefined, name: string): unknown {
  if (!headers) return undefined;
  const get = (headers as { get?: unknown }).get;
  if (typeof get === 'function') {
    const v = (get as (n: string) => unknown).call(headers, name);
    if (v != null) return v;
  }
  const key = Object.keys(headers).find((k) => k.toLowerCase() === name);
  return key === undefined ? undefined : headers[key];
}

/**
 * Any failure of a Plaid call as a ProviderError. The axios error is not kept as `cause`: its request
 * config carries the client secret and the access token. `secrets` are scrubbed from the message.
 */
export function toProviderError(err: unknown, input: { operation: string; now: Date; secrets: readonly string[] }): ProviderError {
  if (err instanceof ProviderError) return err;
  const failure = (typeof err === 'object' && err !== null ? err : {}) as HttpFailure;
  const response = failure.response;
  if (!response && failure.isAxiosError !== true) {
    // Not an HTTP failure: a fault on our side of the call, which a retry would only repeat.
    const text = err instanceof Error ? err.message : String(err);
    return new ProviderError('provider_error', scrub(`The Plaid adapter failed on ${input.operation}: ${text}`, input.secrets), false, ADAPTER_ERROR);
  }
  if (!response) {
    // No answer at all: a refused connection, a reset, a timeout. Plaid may well answer the next try.
    const timedOut = failure.code === 'ECONNABORTED' || failure.code === 'ETIMEDOUT' || /timeout/i.test(failure.message ?? '');
    const what = timedOut ? 'did not answer in time' : `could not be reached (${failure.code ?? 'no response'})`;
    return new ProviderError('provider_error', scrub(`Plaid ${what} for ${input.operation}.`, input.secrets), true, timedOut ? TIMEOUT : NETWORK_ERROR);
  }
  const body = (typeof response.data === 'object' && response.data !== null ? response.data : {}) as PlaidErrorBody;
  const status = typeof response.status === 'number' ? response.status : null;
  const mapping = mapPlaidError(body, status);
  const providerCode = body.error_code || `HTTP_${status ?? 'ERROR'}`;
  const detail = body.error_message ? `: ${body.error_message}` : '';
  const message = scrub(`${mapping.userAction} (Plaid ${providerCode} on ${input.operation}${detail})`, input.secrets);
  return new ProviderError(
    mapping.code, message, mapping.transient, providerCode,
    retryAfterSeconds(headerOf(response.headers, 'retry-after'), input.now),
    typeof body.request_id === 'string' ? body.request_id : null,
    providerCode === 'TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION',
  );
}
