/**
 * One error type with stable codes (ENGINEERING.md habit 2). Services throw AppError; the HTTP
 * layer maps each code to a status once (src/http/errors.ts). The catalogue is the API contract:
 * codes never change meaning. `fix` says what the caller should do, names in backticks (Markdown);
 * the catalogue page (GET /docs/errors, one section per code) shows it beside the status and title.
 */
import type { ConnectionAction, ConnectionStatus } from './types.js';

export const ERROR_CATALOGUE = {
  validation_failed: { status: 400, title: 'The request is not valid', fix: 'Read `errors`: each names the field (`body.…`, `query.…`, `params.…`) and what is wrong with it. Correct those values and send the request again.' },
  malformed_json: { status: 400, title: 'The request body is not valid JSON', fix: 'Send a body that parses as JSON: check quotes, commas and brackets. Send no body at all when the call takes none.' },
  unsupported_method: { status: 400, title: 'The institution does not support this connection method', fix: 'Use one of the `methods` the institution lists (`GET /v1/institutions/{institutionId}`), or choose another institution.' },
  unsupported_product: { status: 400, title: 'The institution does not offer this product', fix: 'Ask only for products the institution lists in its `products`, or leave `products` out to get all it offers.' },
  credentials_required: { status: 400, title: 'Web connections need credentials', fix: 'Web connections sign in for the user: send `credentials` with `login` and `password`.' },
  credentials_not_allowed: { status: 400, title: 'Openbanking connections take no credentials', fix: 'Leave `credentials` out: the user signs in at the bank, at the `authorizationUrl` in the answer.' },
  setup_token_required: { status: 400, title: 'Token connections need the setup token the user pasted', fix: 'Send `setupToken`: the token the user made at the provider (SimpleFIN) and pasted into your app.' },
  invalid_setup_token: { status: 400, title: 'The provider did not accept the setup token', fix: 'Ask the user for a new setup token (each works once) and send it again; `providerCode` says what the provider answered.' },
  invalid_cursor: { status: 400, title: 'The cursor is not valid', fix: 'Pass the `nextCursor` of the previous page unchanged, with the same filters, or leave `cursor` out to start again.' },
  malformed_url: { status: 400, title: 'The URL is not valid', fix: 'Percent-encode the URL: a `%` must be followed by two hex digits of valid UTF-8.' },
  malformed_request: { status: 400, title: 'The request is not valid HTTP', fix: 'The request line or headers could not be parsed: check the HTTP client or proxy that sent it.' },
  request_timeout: { status: 408, title: 'The request took too long to arrive', fix: 'Send the whole request promptly; check for a slow or stalled network between client and server.' },
  headers_too_large: { status: 431, title: 'The request headers are too large', fix: 'Send smaller headers: look for large cookies or repeated headers added on the way.' },
  bad_request: { status: 400, title: 'The request could not be read', fix: 'Check the request\'s headers and body against the API reference; `detail` names what could not be read.' },
  value_out_of_range: { status: 400, title: 'A value is out of the range this API can store', fix: 'Check dates, numbers and text for values no bank data can have (a year 0, a number too large to store, a NUL character).' },
  uri_too_long: { status: 414, title: 'A part of the URL is too long', fix: 'Ids are at most 64 characters: check the path for a pasted value that is not an id.' },
  webhook_url_not_allowed: { status: 400, title: 'The webhook endpoint URL is not allowed', fix: 'Give an absolute http(s) URL without credentials. A private or loopback address needs the operator to allow it (`CAUSEWAY_ALLOW_PRIVATE_ADDRESSES=true`).' },
  replay_too_large: { status: 400, title: 'Too many events in the replay range', fix: 'Replay a narrower time range (`from`, `to`); several calls can cover a long one.' },
  unauthenticated: { status: 401, title: 'A valid API key is required', fix: 'Send `Authorization: Bearer` with a valid API key (`sk_sandbox_…` or `sk_live_…`) or client token. Create keys with `npx causeway keys create`.' },
  import_not_supported: { status: 400, title: 'The provider cannot import existing connections', fix: 'This provider cannot adopt existing links: create the connection with the user instead (`POST /v1/users/{userId}/connections`).' },
  no_provider: { status: 400, title: 'No provider serves connections for this application', fix: 'Use an application and institution a provider serves: the sandbox provider serves sandbox applications only.' },
  provider_not_configured: { status: 400, title: 'The application has no settings for this provider', fix: 'Give the provider its settings (the deployment\'s `CAUSEWAY_<PROVIDER>_*` variables, or the application\'s provider settings), then try again.' },
  invalid_webhook_signature: { status: 400, title: 'The webhook did not verify', fix: 'The provider\'s webhook did not verify: check the webhook secret configured for the provider.' },
  sandbox_only: { status: 403, title: 'This call is only available to sandbox applications', fix: 'Make this call with a sandbox application\'s API key (`sk_sandbox_…`); live applications have no test clock or simulations.' },
  client_token_not_allowed: { status: 403, title: 'Client tokens cannot make this call', fix: 'Make this call from your server with an API key; a client token reaches only its user\'s connect and manage calls, within its scopes.' },
  invalid_login: { status: 401, title: 'The email or password is not right', fix: 'Check the email and password. An administrator can create an operator with `npx causeway operators create`.' },
  not_found: { status: 404, title: 'Not found', fix: 'Check the id and that it belongs to this application (each API key sees its own application only).' },
  route_not_found: { status: 404, title: 'No such endpoint', fix: 'Check the method and path against the API reference (`/docs`); every API path starts with `/v1`.' },
  invalid_state: { status: 409, title: 'The connection is not in a state that allows this', fix: 'Read `connectionStatus` and `allowedActions` in the problem: take one of those actions, or wait for the running job to end.' },
  external_id_taken: { status: 409, title: 'Another user already has this externalId', fix: 'Use another `externalId`, or find the user that already has it (`GET /v1/users?search=…`).' },
  job_not_awaiting_input: { status: 409, title: 'The job is not waiting for input', fix: 'Read the job again (`GET /v1/jobs/{jobId}`): send an MFA code only while its status is `awaiting_input`.' },
  job_in_progress: { status: 409, title: 'A job is already running for this connection', fix: 'Wait for the running job to end (poll `GET /v1/jobs/{jobId}`, or take the `job.completed` and `job.failed` events), then try again.' },
  conflicting_connection: { status: 409, title: 'The user already has a connection that this one would duplicate', fix: 'Use the connection named in `connectionId` (repair it if it needs the user), or delete it before creating another.' },
  webhook_endpoint_disabled: { status: 409, title: 'The webhook endpoint is disabled', fix: 'Fix the receiver, then enable the endpoint again with `PATCH {"enabled": true}`; missed events can be replayed.' },
  products_already_linked: { status: 409, title: 'The connection already has these products', fix: 'Refresh the connection to fetch those products again; add only products it does not have.' },
  idempotency_key_in_use: { status: 409, title: 'A request with this Idempotency-Key is still being processed', fix: 'Wait for the first request with this `Idempotency-Key` to finish, then retry with the same key to get its answer.' },
  authorization_expired: { status: 410, title: 'This authorisation link has expired', fix: 'Start the link again from the app: repair the connection for a new `authorizationUrl`.' },
  idempotency_key_reused: { status: 422, title: 'This Idempotency-Key was used with a different request', fix: 'Use a new `Idempotency-Key` for a different request; reuse a key only to retry exactly the same request.' },
  payload_too_large: { status: 413, title: 'The request body is too large', fix: 'Send a body under 1 MB; split large imports into several calls.' },
  unsupported_media_type: { status: 415, title: 'Send the body as application/json', fix: 'Send JSON bodies with `Content-Type: application/json`.' },
  refresh_budget_exhausted: { status: 429, title: 'The refresh budget for this connection is spent', fix: 'Wait for the seconds in `Retry-After` (the connection\'s `refreshBudget.nextRefreshAllowedAt`) before refreshing again; background refreshes keep the data current meanwhile.' },
  too_many_requests: { status: 429, title: 'Too many requests with this credential', fix: 'Slow down: wait for the seconds in `Retry-After`, then retry. Spread bulk work over time.' },
  too_many_sign_in_attempts: { status: 429, title: 'Too many failed sign-ins: wait before trying again', fix: 'Wait for the seconds in `Retry-After` before signing in again.' },
  internal_error: { status: 500, title: 'Something went wrong on our side', fix: 'Retry the request; if it keeps failing, give the operator the `requestId` from the problem.' },
  provider_unavailable: { status: 502, title: 'The provider did not answer as it should; try again', fix: 'The provider did not answer as it should: retry later. If it persists, check the provider\'s status and the connection\'s timeline.' },
  try_again: { status: 503, title: 'The database was busy; retry in a moment', fix: 'Retry the same request after `Retry-After` (a second); with an `Idempotency-Key` the retry is safe.' },
  not_ready: { status: 503, title: 'This process cannot serve requests yet: its database does not answer', fix: 'The process cannot reach its database: retry in a while. Operators: check the database; `/health` answers while `/ready` does not.' },
} as const;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

export interface FieldError {
  /** Where the bad value is: `body.institutionId`, `query.limit`, … */
  field: string;
  message: string;
}

export interface ErrorDetails {
  errors?: FieldError[];
  /** The connection's status (named so because `status` is the HTTP status in RFC 9457). */
  connectionStatus?: ConnectionStatus;
  allowedActions?: ConnectionAction[];
  [key: string]: unknown;
}

export class AppError extends Error {
  constructor(readonly code: ErrorCode, message: string, readonly details: ErrorDetails = {}, readonly headers: Record<string, string> = {}) {
    super(message);
    this.name = 'AppError';
  }
}

export const notFound = (what: string, id: string) =>
  new AppError('not_found', `No ${what} with id ${id} exists in this application.`);
