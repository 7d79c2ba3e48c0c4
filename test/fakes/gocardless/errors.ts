/**
 * GoCardless's error answers, as its API and its OpenAPI spec show them: `{ summary, detail,
 * status_code, type? }`, field errors as `{ <field>: { summary, detail } | [...], status_code }`.
 * `DOCUMENTED` names each after its example in the spec, so a test can say
 * `fake.failNext('/api/v2/accounts/{id}/balances/', 'AccessExpiredError')`.
 */

export interface GcErrorAnswer {
  status: number;
  body: Record<string, unknown>;
  headers?: Record<string, string>;
}

/** Thrown by a route; the server answers it. */
export class GcFail extends Error {
  constructor(readonly answer: GcErrorAnswer) {
    super(`GoCardless fake: ${answer.status} ${JSON.stringify(answer.body)}`);
  }
}

export const err = (status: number, summary: string, detail: string, type?: string): GcErrorAnswer =>
  ({ status, body: { summary, detail, status_code: status, ...(type ? { type } : {}) } });

export const fieldError = (status: number, field: string, summary: string, detail: string, list = false): GcErrorAnswer =>
  ({ status, body: { [field]: list ? [{ summary, detail }] : { summary, detail }, status_code: status } });

export const fail = (a: GcErrorAnswer): never => { throw new GcFail(a); };

export const invalidToken = () => err(401, 'Invalid token', 'Token is invalid or expired');
export const noCredentials = () => err(401, 'Authentication credentials were not provided.', 'Authentication credentials were not provided.');
export const authenticationFailed = () => err(401, 'Authentication failed', 'No active account found with the given credentials');
export const notFound = () => err(404, 'Not found.', 'Not found.');
export const invalidUuid = (id: string) => err(400, 'Invalid ID', `${id} is not a valid UUID.`);
export const invalidAccountId = (id: string) => err(400, 'Invalid Account ID', `${id} is not a valid Account UUID. `);
export const accountNotFound = (id: string) => err(404, `Account ID ${id} not found`, 'Please check whether you specified a valid Account ID');
export const euaExpired = (id: string, days: number, on: string) =>
  err(401, `End User Agreement (EUA) ${id} has expired`, `EUA was valid for ${days} days and it expired at ${on}. The end user must connect the account once more with new EUA and Requisition`);
export const accountSuspended = () => err(409, 'Account suspended', 'This account or its requisition was suspended due to numerous errors that occurred while accessing it.');
export const euaScope = (what: string) =>
  err(403, 'End User Agreement (EUA) access scope error', `EUA doesn't allow access to account ${what}. Check EUA access scope. Or create new EUA with correct access scope`);
export const rateLimitExceeded = (times: number, period: string, seconds: number) =>
  err(429, 'Rate limit exceeded', `The rate limit for this resource is ${times}/${period}. Please try again in ${seconds} seconds`);
export const dateRange = (from: string, to: string) =>
  err(400, 'Incorrect date range', `Starting date '${from}' is greater than end date '${to}'. When specifying date range, starting date must precede the end date`);
export const invalidCountry = (c: string) => err(400, 'Invalid country choice.', `${c} is not a valid choice.`);

/** What a metered account endpoint's errors say about ("balances" → "account balances"). */
const what = (scope: string) => (scope === 'details' ? 'details' : scope);
const couldNot = (scope: string) => `Couldn't update account ${what(scope)}`;

/** Every documented error of the account endpoints and the rest, by the spec's example name; scope words where the message has them. */
export function documented(name: string, scope = 'balances'): GcErrorAnswer {
  switch (name) {
    case 'InvalidToken': return invalidToken();
    case 'IPAccessDenied': return err(403, 'IP address access denied', 'Your IP 203.0.113.7 isn\'t whitelisted to perform this action');
    case 'NotFoundError': return notFound();
    case 'AccountNotFoundError': return accountNotFound('3fa85f64-5717-4562-b3fc-2c963f66afa6');
    case 'RateLimitExceeded': return rateLimitExceeded(4, 'day', 85092);
    case 'InvalidID': return invalidAccountId('not-a-uuid');
    case 'EUAExpiredError': return euaExpired('3fa85f64-5717-4562-b3fc-2c963f66afa6', 90, '2025-12-20');
    case 'AccessExpiredError': return err(401, couldNot(scope), 'Access has expired or it has been revoked. To restore access reconnect the account.', 'AccessExpiredError');
    case 'AccountInactiveError': return err(401, couldNot(scope), 'Account has been deactivated or it no longer exists.', 'AccountInactiveError');
    case 'AccountEUAScopeError': return euaScope(scope);
    case 'AccountValidEUAError': return err(403, 'No valid End User Agreement', 'Account exists but there is no valid End User Agreement permitting you to access it');
    case 'AccountAccessForbidden': return err(403, couldNot(scope), 'Access to account is forbidden. The user might not have the necessary permissions.', 'AccountAccessForbidden');
    case 'AccountResourceUnavailable': return err(403, couldNot(scope), 'The requested resource is unavailable for this account. Certain resources may be restricted or unsupported for specific accounts.', 'AccountResourceUnavailable');
    case 'AccountSuspendedError': return accountSuspended();
    case 'RateLimitError': return err(429, couldNot(scope), 'Daily request limit set by the Institution has been exceeded.', 'RateLimitError');
    case 'UnknownRequestError': return err(500, couldNot(scope), 'Request to Institution returned an error', 'UnknownRequestError');
    case 'ServiceError': return err(503, couldNot(scope), 'Institution service unavailable', 'ServiceError');
    case 'ConnectionError': return err(503, couldNot(scope), 'Couldn\'t connect to Institution', 'ConnectionError');
    case 'DateRangeError': return dateRange('2025-12-30', '2025-12-20');
    case 'PaymentRequired': return err(402, 'Payment Required', 'Free usage limit exceeded');
    case 'AuthenticationFailed': return authenticationFailed();
    case 'InsufficientPermissions': return err(403, 'Insufficient permissions', 'Your company doesn\'t have permission to accept EUA. You\'ll have to use our default form for this action.');
    case 'NotAValidChoice': return invalidCountry('GBA');
    case 'UnknownFields': return err(400, 'Unknown fields', 'Unknown fields {color} in {body}');
    case 'ReferenceFieldErrors': return fieldError(400, 'reference', 'Client reference must be unique', 'Client reference: ref-1 already exists');
    case 'InstitutionFieldErrors': return fieldError(400, 'institution_id', 'Unknown Institution ID NOPE_NOPEXX00', 'Get Institution IDs from /institutions/?country={$COUNTRY_CODE}');
    default: throw new Error(`GoCardless fake: no documented error named ${name}`);
  }
}

/** The documented names `documented` knows (for tables in tests). */
export const DOCUMENTED_NAMES = [
  'InvalidToken', 'IPAccessDenied', 'NotFoundError', 'AccountNotFoundError', 'RateLimitExceeded', 'InvalidID', 'EUAExpiredError',
  'AccessExpiredError', 'AccountInactiveError', 'AccountEUAScopeError', 'AccountValidEUAError', 'AccountAccessForbidden',
  'AccountResourceUnavailable', 'AccountSuspendedError', 'RateLimitError', 'UnknownRequestError', 'ServiceError', 'ConnectionError',
  'DateRangeError', 'PaymentRequired', 'AuthenticationFailed', 'InsufficientPermissions', 'NotAValidChoice', 'UnknownFields',
  'ReferenceFieldErrors', 'InstitutionFieldErrors',
] as const;
