/**
 * GoCardless Bank Account Data's failures, normalised once (ENGINEERING.md habit 3).
 *
 * GoCardless answers errors as `{ summary, detail, status_code, type? }` (field errors as
 * `{ <field>: { summary, detail } | [...], status_code }`) and has no stable error code field, so
 * `classify` names each documented error after its example in GoCardless's OpenAPI spec
 * (EUAExpiredError, AccountSuspendedError, RateLimitExceeded…), from its `type` where it has one and
 * otherwise from the status and the wording. That name is the providerCode the journal keeps; the
 * table maps it to Causeway's code, whether a retry can help, and what the end user should do.
 *
 * An expired end-user agreement is reported as 400, 401 or 403 depending on the endpoint and the
 * year (actualbudget/actual#1290, opencollective#8538), so it is recognised by its wording first,
 * whatever the status.
 */
import { ProviderError, type ProviderErrorCode } from '../types.js';

export interface GoCardlessErrorMapping {
  code: ProviderErrorCode;
  /** A retry later can succeed without anyone doing anything. */
  transient: boolean;
  /** Plain words for the end user. */
  userAction: string;
}

const m = (code: ProviderErrorCode, transient: boolean, userAction: string): GoCardlessErrorMapping => ({ code, transient, userAction });

const RENEW = 'Your permission to share this bank\'s data has ended. Connect again to renew it.';
const REVOKED = 'Access to this account was stopped. Connect your bank again to share it.';
const ALLOW_ACCESS = 'Connect again and allow access to the information this app needs.';
const BANK_DOWN = 'Your bank is not responding right now. Nothing to do: it will be tried again.';
const BANK_GONE = 'GoCardless can no longer connect to this bank.';
const DAILY_LIMIT = 'Your bank allows only a few updates a day and today\'s are used. Nothing to do: it will be tried again once the limit resets.';
const SLOW_DOWN = 'Too many requests right now. Nothing to do: it will be tried again later.';
const GOCARDLESS_TROUBLE = 'A temporary problem at GoCardless. Nothing to do: it will be tried again.';
const STILL_PROCESSING = 'Your bank is still preparing this account\'s data. Nothing to do: it will be tried again.';
const OPERATOR = 'A set-up problem on this service\'s side. Nothing for you to do: the service\'s operator has to fix it.';

/** Every documented error, by the name of its example in GoCardless's spec (and the account statuses that stop data calls). */
export const GOCARDLESS_ERRORS: Readonly<Record<string, GoCardlessErrorMapping>> = {
  // Consent: the end-user agreement ran out, or the bank ended the access.
  EUAExpiredError: m('consent_expired', false, RENEW),
  AccessExpiredError: m('consent_expired', false, RENEW),
  AccountValidEUAError: m('consent_expired', false, RENEW),
  // The bank refuses the access it granted (the user changed something at the bank): sign in again.
  AccountAccessForbidden: m('invalid_credentials', false, 'Your bank no longer accepts this app\'s access. Connect again and sign in to your bank.'),
  AccountInactiveError: m('user_action_required', false, 'Your bank says this account is closed or deactivated. Connect again to choose the accounts to share.'),
  AccountEUAScopeError: m('user_action_required', false, ALLOW_ACCESS),
  AccountResourceUnavailable: m('provider_error', false, 'Your bank does not offer this information for this account.'),
  // Suspended after repeated failures, or gone from GoCardless (the requisition deleted elsewhere).
  AccountSuspendedError: m('consent_revoked', false, REVOKED),
  AccountNotFoundError: m('consent_revoked', false, REVOKED),

  // Rate limits. RateLimitError is the bank's daily limit; RateLimitExceeded GoCardless's own counters
  // (4 successful calls a day per account and scope, and per-minute limits per company). Neither is
  // retried at once: the engine waits the Retry-After out.
  RateLimitError: m('rate_limited', false, DAILY_LIMIT),
  RateLimitExceeded: m('rate_limited', false, SLOW_DOWN),
  // A plan cap (free usage limit exceeded): waiting does not lift it, the operator's plan does.
  PaymentRequired: m('rate_limited', false, OPERATOR),

  // The institution behind GoCardless.
  UnknownRequestError: m('institution_unavailable', true, BANK_DOWN),
  ServiceError: m('institution_unavailable', true, BANK_DOWN),
  ConnectionError: m('institution_unavailable', true, BANK_DOWN),
  InstitutionFieldErrors: m('institution_unavailable', false, BANK_GONE),

  // Account statuses (GET /accounts/{id}/, or a 409 AccountStateError carrying the account).
  ACCOUNT_PROCESSING: m('provider_error', true, STILL_PROCESSING),
  ACCOUNT_ERROR: m('institution_unavailable', true, BANK_DOWN),
  ACCOUNT_EXPIRED: m('consent_expired', false, RENEW),
  ACCOUNT_SUSPENDED: m('consent_revoked', false, REVOKED),

  // Authentication: ours to fix.
  AuthenticationFailed: m('provider_error', false, OPERATOR),
  InvalidToken: m('provider_error', true, GOCARDLESS_TROUBLE),
  IPAccessDenied: m('provider_error', false, OPERATOR),
  InsufficientPermissions: m('provider_error', false, OPERATOR),

  // Requests we built wrong.
  NotFoundError: m('provider_error', false, OPERATOR),
  InvalidID: m('provider_error', false, OPERATOR),
  DateRangeError: m('provider_error', false, OPERATOR),
  UnknownFields: m('provider_error', false, OPERATOR),
  NotAValidChoice: m('provider_error', false, OPERATOR),
  FieldErrors: m('provider_error', false, OPERATOR),
  ReferenceFieldErrors: m('provider_error', false, OPERATOR),
  AgreementFieldErrors: m('provider_error', false, OPERATOR),
  AccessScopeFieldErrors: m('provider_error', false, OPERATOR),
  MaxHistoricalDaysFieldErrors: m('provider_error', false, OPERATOR),
  AccessValidForDaysFieldErrors: m('provider_error', false, OPERATOR),
  RedirectFieldErrors: m('provider_error', false, OPERATOR),
  EUAAccepted: m('provider_error', false, OPERATOR),
  EUANeedsToBeAccepted: m('provider_error', false, OPERATOR),

  // No documented shape: by status.
  HTTP_5XX: m('provider_error', true, GOCARDLESS_TROUBLE),
  HTTP_409: m('provider_error', true, GOCARDLESS_TROUBLE),
  HTTP_4XX: m('provider_error', false, OPERATOR),
};

/** An error answer as GoCardless sends it (field errors carry their field as a key). */
export interface GoCardlessErrorBody {
  summary?: unknown;
  detail?: unknown;
  type?: unknown;
  status_code?: unknown;
  status?: unknown;
  [field: string]: unknown;
}

const text = (v: unknown): string => (typeof v === 'string' ? v : '');

/** `{ field: {summary, detail} | [{summary, detail}] | ['msg'] }` entries of a field-error body. */
function fieldErrors(body: GoCardlessErrorBody): Array<{ field: string; summary: string; detail: string }> {
  const out: Array<{ field: string; summary: string; detail: string }> = [];
  for (const [field, value] of Object.entries(body)) {
    if (['summary', 'detail', 'type', 'status_code'].includes(field)) continue;
    for (const v of Array.isArray(value) ? value : [value]) {
      if (typeof v === 'string') out.push({ field, summary: v, detail: '' });
      else if (v && typeof v === 'object') out.push({ field, summary: text((v as GoCardlessErrorBody).summary), detail: text((v as GoCardlessErrorBody).detail) });
    }
  }
  return out;
}

const FIELD_NAMES: Readonly<Record<string, string>> = {
  reference: 'ReferenceFieldErrors', institution_id: 'InstitutionFieldErrors', agreement: 'AgreementFieldErrors',
  access_scope: 'AccessScopeFieldErrors', max_historical_days: 'MaxHistoricalDaysFieldErrors',
  access_valid_for_days: 'AccessValidForDaysFieldErrors', redirect: 'RedirectFieldErrors',
};

/** The spec's name for an error answer: the documented example it is an instance of. */
export function classify(status: number, body: GoCardlessErrorBody): string {
  const summary = text(body.summary);
  const detail = text(body.detail);
  const words = `${summary} ${detail}`;
  const type = text(body.type);
  if (/end user agreement.*expired|EUA was valid for/i.test(words)) return 'EUAExpiredError';
  if (type && GOCARDLESS_ERRORS[type]) return type;
  // AccountStateError: a 409 that carries the account, whose status says why.
  if (status === 409 && typeof body.status === 'string' && GOCARDLESS_ERRORS[`ACCOUNT_${body.status.toUpperCase()}`]) return `ACCOUNT_${body.status.toUpperCase()}`;
  switch (status) {
    case 400:
      if (/date range/i.test(summary)) return 'DateRangeError';
      if (/^invalid .*id$/i.test(summary)) return 'InvalidID';
      if (/unknown fields/i.test(summary)) return 'UnknownFields';
      if (/not a valid choice/i.test(words)) return 'NotAValidChoice';
      if (/needs to be accepted/i.test(summary)) return 'EUANeedsToBeAccepted';
      break;
    case 401:
      if (/authentication failed|no active account/i.test(words)) return 'AuthenticationFailed';
      // Any other 401 without a type of its own is about our token (invalid, expired, not sent).
      return 'InvalidToken';
    case 402:
      return 'PaymentRequired';
    case 403:
      if (/no valid end user agreement/i.test(words)) return 'AccountValidEUAError';
      if (/access scope/i.test(words)) return 'AccountEUAScopeError';
      if (/ip address/i.test(words)) return 'IPAccessDenied';
      if (/permission/i.test(words)) return 'InsufficientPermissions';
      break;
    case 404:
      return /account id/i.test(summary) ? 'AccountNotFoundError' : 'NotFoundError';
    case 405:
      return 'EUAAccepted';
    case 409:
      if (/suspended/i.test(words)) return 'AccountSuspendedError';
      return 'HTTP_409';
    case 429:
      return 'RateLimitExceeded';
    default:
      break;
  }
  if (!summary) {
    const fields = fieldErrors(body);
    if (fields.length > 0) return FIELD_NAMES[fields[0]!.field] ?? 'FieldErrors';
  }
  return status >= 500 ? 'HTTP_5XX' : 'HTTP_4XX';
}

/** What a documented error means for Causeway. A 5xx on an account endpoint is the bank's (GoCardless reads it live). */
export function mapGoCardlessError(providerCode: string, opts: { accountEndpoint?: boolean } = {}): GoCardlessErrorMapping {
  if (providerCode === 'HTTP_5XX' && opts.accountEndpoint) return GOCARDLESS_ERRORS.ServiceError!;
  return GOCARDLESS_ERRORS[providerCode] ?? GOCARDLESS_ERRORS.HTTP_4XX!;
}

/** The ProviderError for an account whose status stops data calls (GET /accounts/{id}/), or null when data can be read. */
export function accountStatusError(status: string | undefined, operation: string): ProviderError | null {
  const code = `ACCOUNT_${(status ?? '').toUpperCase()}`;
  const mapping = GOCARDLESS_ERRORS[code];
  if (!mapping) return null;
  return new ProviderError(mapping.code, `${mapping.userAction} (GoCardless account status ${status} on ${operation})`, mapping.transient, code);
}

export function scrub(message: string, secrets: readonly string[]): string {
  let out = message;
  for (const s of secrets) if (s && s.length >= 4) out = out.split(s).join('[redacted]');
  return out;
}

/** "Please try again in 85092 seconds" (RateLimitExceeded's detail). */
export function secondsFromDetail(detail: string): number | null {
  const match = /try again in (\d+) seconds?/i.exec(detail);
  return match ? Number(match[1]) : null;
}

export interface ErrorAnswer {
  status: number;
  body: GoCardlessErrorBody;
  operation: string;
  accountEndpoint: boolean;
  /** From the rate-limit headers, when the answer carried them (client.ts). */
  retryAfterSeconds: number | null;
  requestId: string | null;
  secrets: readonly string[];
  /** What a 429 limits: this link's account (its daily calls) or every call of the application (GoCardless's per-minute limits). */
  limitScope?: 'institution' | 'link';
}

/** An error answer as a ProviderError: Causeway's code, GoCardless's own words (secrets scrubbed), the spec's name as providerCode. */
export function errorFromAnswer(a: ErrorAnswer): ProviderError {
  const providerCode = classify(a.status, a.body);
  const mapping = mapGoCardlessError(providerCode, { accountEndpoint: a.accountEndpoint });
  const fields = text(a.body.summary) ? [] : fieldErrors(a.body);
  const said = text(a.body.summary)
    ? [text(a.body.summary), text(a.body.detail)].filter(Boolean).join(': ')
    : fields.map((f) => `${f.field}: ${[f.summary, f.detail].filter(Boolean).join(' ')}`).join('; ');
  const message = scrub(`${mapping.userAction} (GoCardless ${providerCode}, HTTP ${a.status} on ${a.operation}${said ? `: ${said}` : ''})`, a.secrets);
  const fromDetail = a.status === 429 ? secondsFromDetail(text(a.body.detail)) : null;
  return new ProviderError(mapping.code, message, mapping.transient, providerCode, fromDetail ?? a.retryAfterSeconds, a.requestId, false, a.limitScope ?? 'institution');
}

/** No answer at all (refused, reset, timed out): GoCardless may well answer the next try. */
export function errorFromFailure(err: unknown, operation: string, secrets: readonly string[]): ProviderError {
  if (err instanceof ProviderError) return err;
  const e = err as { name?: string; message?: string; cause?: { code?: string } };
  const timedOut = e?.name === 'TimeoutError' || e?.name === 'AbortError';
  const what = timedOut ? 'did not answer in time' : `could not be reached (${e?.cause?.code ?? e?.message ?? 'no response'})`;
  return new ProviderError('provider_error', scrub(`GoCardless ${what} for ${operation}.`, secrets), true, timedOut ? 'TIMEOUT' : 'NETWORK_ERROR');
}
