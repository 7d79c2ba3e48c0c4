/**
 * The one place errors become HTTP: RFC 9457 problem details with a stable `code`. 5xx answers
 * never carry the internal message (Fastify's default would put SQL in it). `type` is the code's
 * entry in the error catalogue page (`/docs/errors#<code>`, a URI reference resolved against the
 * server); `requestId` is the request's id, also sent as X-Request-Id, to quote when asking why.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors, isResponseSerializationError } from 'fastify-type-provider-zod';
import { AppError, ERROR_CATALOGUE, type ErrorCode, type ErrorDetails, type FieldError } from '../domain/errors.js';
import { allowedActions, InvalidTransitionError } from '../domain/status.js';

/** The problem's `type`: the code's anchor in the error catalogue page. */
export const problemType = (code: string) => `/docs/errors#${code}`;

export function problemBody(code: ErrorCode, detail: string, details: ErrorDetails, requestId: string, instance?: string) {
  const entry = ERROR_CATALOGUE[code];
  return { type: problemType(code), title: entry.title, status: entry.status, detail, ...(instance ? { instance } : {}), code, ...details, requestId };
}

export function sendProblem(reply: FastifyReply, err: AppError) {
  const body = problemBody(err.code, err.message, err.details, reply.request.id, reply.request.url.split('?')[0]);
  // Set here too: a router error (edge.ts frameworkError) is answered before any hook has run.
  reply.header('x-request-id', reply.request.id);
  for (const [k, v] of Object.entries(err.headers)) reply.header(k, v);
  if (err.code === 'unauthenticated') reply.header('www-authenticate', 'Bearer');
  return reply.code(body.status).type('application/problem+json').send(body);
}

function fieldErrors(err: FastifyError & { validation: { instancePath?: string; message?: string; params?: unknown }[]; validationContext?: string }): FieldError[] {
  const context = err.validationContext ?? 'body';
  return err.validation.map((v) => {
    const path = (v.instancePath ?? '').split('/').filter(Boolean).join('.');
    return { field: path ? `${context}.${path}` : context, message: v.message ?? 'is not valid' };
  });
}

/** The SQLSTATE of a database error, whether the driver's own or wrapped by Drizzle as its cause. */
function sqlStateOf(err: unknown): string | null {
  for (let e = err as { code?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 4; e = e.cause as typeof e, depth += 1) {
    if (typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code)) return e.code;
  }
  return null;
}

function toAppError(err: unknown): AppError | null {
  if (err instanceof AppError) return err;
  if (err instanceof InvalidTransitionError) {
    return new AppError('invalid_state', err.message, { connectionStatus: err.from.status, allowedActions: allowedActions(err.from) });
  }
  if (hasZodFastifySchemaValidationErrors(err)) {
    const errors = fieldErrors(err as never);
    return new AppError('validation_failed', `Fix these fields: ${errors.map((e) => `${e.field} ${e.message}`).join('; ')}.`, { errors });
  }
  const fe = err as FastifyError;
  if (fe.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return new AppError('unsupported_media_type', 'Send the body as JSON with Content-Type: application/json.');
  if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return new AppError('payload_too_large', 'The request body is over the 1 MB limit.');
  if (fe.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') return new AppError('malformed_json', 'The body is empty but Content-Type says JSON: send a JSON object, or no Content-Type.');
  if (fe.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || (fe.statusCode === 400 && err instanceof SyntaxError)) {
    return new AppError('malformed_json', 'The body is not valid JSON. Check quotes, commas and brackets.');
  }
  // PostgreSQL's data exceptions (class 22: a value out of range, text it cannot hold) come from a
  // value the request carried past validation. Validation should have caught it: the log says so at
  // error level and the fuzz test fails on this code, but the caller gets a 400 to fix, never a 500.
  const sqlState = sqlStateOf(err);
  if (sqlState?.startsWith('22')) {
    return new AppError('value_out_of_range', 'A value in the request is out of the range this API can store. Check dates, numbers and text for unusual values.');
  }
  // A row this request points at was deleted by a request that committed first (a user deleted while
  // a client token is minted for it, say): what a retry would find is that it no longer exists.
  if (sqlState === '23503') {
    return new AppError('not_found', 'Something this request refers to was deleted while it ran (another request deleted it at the same moment). Fetch it again before retrying.');
  }
  // Deadlocks and serialization failures are retried where transactions run (db/transaction.ts); one
  // that outlasts its retries is a busy moment, not a fault: the caller retries.
  if (sqlState === '40P01' || sqlState === '40001') {
    return new AppError('try_again', 'The database was busy with a conflicting change. Retry the request in a moment.', {}, { 'retry-after': '1' });
  }
  // Any other error Fastify raises for a client's mistake (a bad Content-Length, say) is still a problem document, never a 500.
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500 && typeof fe.code === 'string' && fe.code.startsWith('FST_')) {
    if (fe.statusCode === 413) return new AppError('payload_too_large', 'The request body is too large.');
    if (fe.statusCode === 415) return new AppError('unsupported_media_type', 'Send the body as JSON with Content-Type: application/json.');
    return new AppError('bad_request', `The request could not be read (${fe.code}). Check its headers and body.`);
  }
  return null;
}

export function errorHandler(err: unknown, request: FastifyRequest, reply: FastifyReply) {
  const app = toAppError(err);
  if (app) {
    if (ERROR_CATALOGUE[app.code].status >= 500 || sqlStateOf(err)?.startsWith('22')) request.log.error({ err }, 'request failed');
    else if (sqlStateOf(err)) request.log.warn({ err }, 'request lost a race with another');
    return sendProblem(reply, app);
  }
  if (isResponseSerializationError(err)) request.log.error({ err: { message: err.message, cause: err.cause.issues } }, 'response did not match its schema');
  else request.log.error({ err }, 'request failed');
  return sendProblem(reply, new AppError('internal_error', `Something went wrong on our side. Retry the request; if it keeps failing, quote request id ${request.id}.`));
}

export function notFoundHandler(request: FastifyRequest, reply: FastifyReply) {
  return sendProblem(reply, new AppError('route_not_found', `There is no ${request.method} ${request.url.split('?')[0]}. The API is described at /openapi.json.`));
}
