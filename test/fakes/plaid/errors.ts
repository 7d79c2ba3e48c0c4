/**
 * Plaid's error object and the catalogue of codes the fake can answer. Each code carries the
 * error_type and HTTP status Plaid documents for it (plaid.com/docs/errors): almost everything
 * is 400, rate limits are 429, Plaid's own failures 500 (INTERNAL_SERVER_ERROR) or 503
 * (PLANNED_MAINTENANCE). Messages are our own wording in Plaid's style, not Plaid's text.
 */

export type PlaidErrorType =
  | 'INVALID_REQUEST' | 'INVALID_RESULT' | 'INVALID_INPUT' | 'INSTITUTION_ERROR' | 'RATE_LIMIT_EXCEEDED'
  | 'API_ERROR' | 'ITEM_ERROR' | 'OAUTH_ERROR' | 'SANDBOX_ERROR' | 'TRANSACTIONS_ERROR' | 'USER_ERROR';

/** The wire shape (PlaidError in the spec). */
export interface PlaidErrorBody {
  error_type: string;
  error_code: string;
  error_code_reason: string | null;
  error_message: string;
  display_message: string | null;
  request_id: string;
  causes: unknown[];
  status: number | null;
  documentation_url: string;
  suggested_action: string | null;
}

interface Entry { type: PlaidErrorType; status: number; message: string; display: string | null }

const e = (type: PlaidErrorType, status: number, message: string, display: string | null = null): Entry =>
  ({ type, status, message, display });

const USER_RETRY = 'Something went wrong connecting to your bank. Please try again later.';

export const ERROR_CATALOGUE: Record<string, Entry> = {
  // Item errors
  ITEM_LOGIN_REQUIRED: e('ITEM_ERROR', 400, 'the login details of this item have changed and a user login is required to update this information; use Link update mode to restore the item', 'To keep using this connection, please log in to your bank again.'),
  INVALID_CREDENTIALS: e('ITEM_ERROR', 400, 'the provided credentials were not correct', 'The username or password you provided is not correct.'),
  INVALID_MFA: e('ITEM_ERROR', 400, 'the provided MFA response was not correct', 'The code or answer you provided is not correct.'),
  INVALID_UPDATED_USERNAME: e('ITEM_ERROR', 400, 'the username entered does not match the username of the item being updated', 'The username you entered does not match this account.'),
  ITEM_LOCKED: e('ITEM_ERROR', 400, 'the account is locked; the user must unlock it at the institution', 'Your account is locked. Please unlock it at your bank and try again.'),
  USER_SETUP_REQUIRED: e('ITEM_ERROR', 400, 'the user must log in to the institution directly to complete an action before the item can be connected', 'Please log in to your bank website to finish setting up your account.'),
  MFA_NOT_SUPPORTED: e('ITEM_ERROR', 400, 'this MFA type is not supported for this institution', 'This kind of verification is not supported for your bank yet.'),
  INSUFFICIENT_CREDENTIALS: e('ITEM_ERROR', 400, 'the user did not provide enough credentials to complete the connection', 'Please finish signing in to your bank.'),
  ITEM_NOT_SUPPORTED: e('ITEM_ERROR', 400, 'this item cannot be connected at this time', 'This account cannot be connected yet.'),
  NO_ACCOUNTS: e('ITEM_ERROR', 400, 'no valid accounts were found for this item', 'No supported accounts were found at this bank.'),
  NO_AUTH_ACCOUNTS: e('ITEM_ERROR', 400, 'no valid checking or savings account(s) were found for this item', 'No checking or savings accounts were found.'),
  ITEM_NOT_FOUND: e('ITEM_ERROR', 400, 'the Item you requested cannot be found; it does not exist or has been removed'),
  PRODUCT_NOT_READY: e('ITEM_ERROR', 400, 'the requested product is not yet ready; please provide a webhook or try the request again later'),
  PRODUCTS_NOT_SUPPORTED: e('ITEM_ERROR', 400, 'the requested product is not supported by this item or institution'),
  ACCESS_NOT_GRANTED: e('ITEM_ERROR', 400, 'access to this product was not granted for the account', 'The user did not grant the permissions this product needs.'),
  USER_PERMISSION_REVOKED: e('ITEM_ERROR', 400, 'the user has revoked access to this item at the institution or through my.plaid.com', 'Access to this account was revoked.'),
  // Institution errors
  INSTITUTION_DOWN: e('INSTITUTION_ERROR', 400, 'this institution is not currently responding to this request; please try again soon', 'This bank is not responding right now. Please try again later.'),
  INSTITUTION_NOT_RESPONDING: e('INSTITUTION_ERROR', 400, 'this institution is failing to respond to some requests; please try again soon', 'This bank is not responding right now. Please try again later.'),
  INSTITUTION_NOT_AVAILABLE: e('INSTITUTION_ERROR', 400, 'this institution is not currently available for new connections', USER_RETRY),
  INSTITUTION_NO_LONGER_SUPPORTED: e('INSTITUTION_ERROR', 400, 'this institution is no longer supported', 'This bank is no longer supported.'),
  INSTITUTION_REGISTRATION_REQUIRED: e('INSTITUTION_ERROR', 400, 'your client must register with this institution before connecting items'),
  INSTITUTION_NOT_FOUND: e('INSTITUTION_ERROR', 400, 'this institution was not found; check the id supplied'),
  UNAUTHORIZED_INSTITUTION: e('INSTITUTION_ERROR', 400, 'your client is not authorized to access this institution'),
  // Plaid's own failures
  INTERNAL_SERVER_ERROR: e('API_ERROR', 500, 'an unexpected error occurred', USER_RETRY),
  PLANNED_MAINTENANCE: e('API_ERROR', 503, 'the Plaid API is temporarily unavailable due to planned maintenance', USER_RETRY),
  // Rate limits
  RATE_LIMIT_EXCEEDED: e('RATE_LIMIT_EXCEEDED', 429, 'rate limit exceeded for this client; slow down requests', USER_RETRY),
  TRANSACTIONS_SYNC_LIMIT: e('RATE_LIMIT_EXCEEDED', 429, 'rate limit exceeded for /transactions/sync on this item'),
  BALANCE_LIMIT: e('RATE_LIMIT_EXCEEDED', 429, 'rate limit exceeded for /accounts/balance/get on this item'),
  ACCOUNTS_LIMIT: e('RATE_LIMIT_EXCEEDED', 429, 'rate limit exceeded for /accounts/get on this item'),
  INSTITUTION_RATE_LIMIT: e('RATE_LIMIT_EXCEEDED', 429, 'rate limit exceeded for this institution', USER_RETRY),
  // Transactions
  TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION: e('TRANSACTIONS_ERROR', 400, 'underlying transaction data changed since the last page was fetched; restart pagination from the first cursor of this update'),
  // Request shape and inputs
  MISSING_FIELDS: e('INVALID_REQUEST', 400, 'the following required fields are missing'),
  UNKNOWN_FIELDS: e('INVALID_REQUEST', 400, 'the following fields are not recognized by this endpoint'),
  INVALID_FIELD: e('INVALID_REQUEST', 400, 'a field has an invalid value'),
  INVALID_BODY: e('INVALID_REQUEST', 400, 'body could not be parsed as JSON'),
  NOT_FOUND: e('INVALID_REQUEST', 404, 'not found'),
  INVALID_API_KEYS: e('INVALID_INPUT', 400, 'invalid client_id or secret provided'),
  INVALID_ACCESS_TOKEN: e('INVALID_INPUT', 400, 'could not find matching access token'),
  INVALID_PUBLIC_TOKEN: e('INVALID_INPUT', 400, 'could not find matching public token; it may have expired or already been exchanged'),
  INVALID_LINK_TOKEN: e('INVALID_INPUT', 400, 'could not find matching link token; it may be invalid or expired'),
  INVALID_INSTITUTION: e('INVALID_INPUT', 400, 'invalid institution_id provided'),
  INVALID_ACCOUNT_ID: e('INVALID_INPUT', 400, 'one or more of the account_ids is invalid'),
  INVALID_PRODUCT: e('INVALID_INPUT', 400, 'one or more of the products is invalid'),
  INVALID_WEBHOOK_VERIFICATION_KEY_ID: e('INVALID_INPUT', 400, 'invalid key_id provided; no webhook verification key with this id'),
  // Sandbox
  SANDBOX_WEBHOOK_INVALID: e('SANDBOX_ERROR', 400, 'the webhook for this item is not set or is invalid'),
  SANDBOX_PRODUCT_NOT_ENABLED: e('SANDBOX_ERROR', 400, 'the product is not enabled for this item'),
};

const DOC_SECTION: Record<string, string> = {
  ITEM_ERROR: 'item', INSTITUTION_ERROR: 'institution', API_ERROR: 'api', RATE_LIMIT_EXCEEDED: 'rate-limit-exceeded',
  TRANSACTIONS_ERROR: 'transactions', INVALID_REQUEST: 'invalid-request', INVALID_INPUT: 'invalid-input',
  INVALID_RESULT: 'invalid-result', SANDBOX_ERROR: 'sandbox', OAUTH_ERROR: 'oauth', USER_ERROR: 'user',
};

export interface ErrorSpec {
  error_type?: string;
  error_code: string;
  error_message?: string;
  display_message?: string | null;
  /** HTTP status; defaults to the catalogue's (400 for unknown codes). */
  http?: number;
  /** A Retry-After header (seconds) on the answer: Plaid sends none itself, a gateway in front of it may. */
  retryAfter?: number;
}

/** Builds a full Plaid error object; unknown codes default to ITEM_ERROR / 400. */
export function plaidError(spec: ErrorSpec, requestId: string): PlaidErrorBody {
  const known = ERROR_CATALOGUE[spec.error_code];
  const type = spec.error_type ?? known?.type ?? 'ITEM_ERROR';
  const status = spec.http ?? known?.status ?? 400;
  return {
    error_type: type,
    error_code: spec.error_code,
    error_code_reason: null,
    error_message: spec.error_message ?? known?.message ?? spec.error_code.toLowerCase().replace(/_/g, ' '),
    display_message: spec.display_message !== undefined ? spec.display_message : (known?.display ?? null),
    request_id: requestId,
    causes: [],
    status,
    documentation_url: `https://plaid.com/docs/errors/${DOC_SECTION[type] ?? 'item'}/#${spec.error_code.toLowerCase()}`,
    suggested_action: null,
  };
}

/** Thrown by handlers; the server turns it into the HTTP answer. */
export class PlaidFail extends Error {
  constructor(readonly spec: ErrorSpec) {
    super(`${spec.error_code}: ${spec.error_message ?? ERROR_CATALOGUE[spec.error_code]?.message ?? ''}`);
  }
}

export const fail = (error_code: string, error_message?: string, extra: Partial<ErrorSpec> = {}): never => {
  throw new PlaidFail({ error_code, ...(error_message ? { error_message } : {}), ...extra });
};
