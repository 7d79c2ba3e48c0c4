/**
 * One error type with stable codes (ENGINEERING.md habit 2). Services throw AppError; the HTTP
 * layer maps each code to a status once (src/http/errors.ts). The catalogue is the API contract:
 * codes never change meaning.
 */
import type { ConnectionAction, ConnectionStatus } from './types.js';

export const ERROR_CATALOGUE = {
  validation_failed: { status: 400, title: 'The request is not valid' },
  malformed_json: { status: 400, title: 'The request body is not valid JSON' },
  unsupported_method: { status: 400, title: 'The institution does not support this connection method' },
  unsupported_product: { status: 400, title: 'The institution does not offer this product' },
  credentials_required: { status: 400, title: 'Web connections need credentials' },
  credentials_not_allowed: { status: 400, title: 'Openbanking connections take no credentials' },
  setup_token_required: { status: 400, title: 'Token connections need the setup token the user pasted' },
  invalid_setup_token: { status: 400, title: 'The provider did not accept the setup token' },
  invalid_cursor: { status: 400, title: 'The cursor is not valid' },
  malformed_url: { status: 400, title: 'The URL is not valid' },
  malformed_request: { status: 400, title: 'The request is not valid HTTP' },
  request_timeout: { status: 408, title: 'The request took too long to arrive' },
  headers_too_large: { status: 431, title: 'The request headers are too large' },
  bad_request: { status: 400, title: 'The request could not be read' },
  value_out_of_range: { status: 400, title: 'A value is out of the range this API can store' },
  uri_too_long: { status: 414, title: 'A part of the URL is too long' },
  webhook_url_not_allowed: { status: 400, title: 'The webhook endpoint URL is not allowed' },
  replay_too_large: { status: 400, title: 'Too many events in the replay range' },
  unauthenticated: { status: 401, title: 'A valid API key is required' },
  import_not_supported: { status: 400, title: 'The provider cannot import existing connections' },
  no_provider: { status: 400, title: 'No provider serves connections for this application' },
  provider_not_configured: { status: 400, title: 'The application has no settings for this provider' },
  invalid_webhook_signature: { status: 400, title: 'The webhook did not verify' },
  sandbox_only: { status: 403, title: 'This call is only available to sandbox applications' },
  client_token_not_allowed: { status: 403, title: 'Client tokens cannot make this call' },
  invalid_login: { status: 401, title: 'The email or password is not right' },
  not_found: { status: 404, title: 'Not found' },
  route_not_found: { status: 404, title: 'No such endpoint' },
  invalid_state: { status: 409, title: 'The connection is not in a state that allows this' },
  external_id_taken: { status: 409, title: 'Another user already has this externalId' },
  job_not_awaiting_input: { status: 409, title: 'The job is not waiting for input' },
  job_in_progress: { status: 409, title: 'A job is already running for this connection' },
  conflicting_connection: { status: 409, title: 'The user already has a connection that this one would duplicate' },
  webhook_endpoint_disabled: { status: 409, title: 'The webhook endpoint is disabled' },
  products_already_linked: { status: 409, title: 'The connection already has these products' },
  idempotency_key_in_use: { status: 409, title: 'A request with this Idempotency-Key is still being processed' },
  authorization_expired: { status: 410, title: 'This authorisation link has expired' },
  idempotency_key_reused: { status: 422, title: 'This Idempotency-Key was used with a different request' },
  payload_too_large: { status: 413, title: 'The request body is too large' },
  unsupported_media_type: { status: 415, title: 'Send the body as application/json' },
  refresh_budget_exhausted: { status: 429, title: 'The refresh budget for this connection is spent' },
  too_many_requests: { status: 429, title: 'Too many requests with this credential' },
  too_many_sign_in_attempts: { status: 429, title: 'Too many failed sign-ins: wait before trying again' },
  internal_error: { status: 500, title: 'Something went wrong on our side' },
  provider_unavailable: { status: 502, title: 'The provider did not answer as it should; try again' },
  try_again: { status: 503, title: 'The database was busy; retry in a moment' },
  not_ready: { status: 503, title: 'This process cannot serve requests yet: its database does not answer' },
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
