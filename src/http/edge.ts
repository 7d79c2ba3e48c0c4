/**
 * What every request and answer passes through at the edge, whatever route serves it:
 *
 *   - NUL (U+0000) or half a surrogate pair anywhere in a path parameter, the query string or a JSON
 *     or form body is refused with a 400 naming the field: PostgreSQL text cannot hold the one nor
 *     jsonb the other, so neither may reach a query.
 *   - Errors the router raises before any route runs (bad percent-encoding, an over-long path
 *     segment) are problem documents like every other error.
 *   - Answers under /v1 carry bank data: never cached, never sniffed. HTML pages that set no policy
 *     of their own (the sandbox bank's consent page) may not be framed, so their buttons cannot be
 *     clickjacked.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, type FieldError } from '../domain/errors.js';
import { problemType, sendProblem } from './errors.js';
import { newRequestId } from './observability.js';

const NUL = '\u0000';
/** Half a UTF-16 surrogate pair: JSON can spell it (`"\udfff"`) but it is no character, and PostgreSQL's jsonb refuses it. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
/** Nested deeper than this, a body is refused by its schema anyway; the scan stops there. */
const MAX_DEPTH = 32;

/** Where in `value` a NUL or a lone surrogate appears (in a string or a key), as `prefix.path`; at most a few. */
export function findUnstorable(value: unknown, prefix: string, out: FieldError[] = [], depth = 0): FieldError[] {
  if (out.length >= 5 || depth > MAX_DEPTH) return out;
  if (typeof value === 'string') {
    if (value.includes(NUL)) out.push({ field: prefix, message: 'must not contain the NUL character (U+0000)' });
    else if (LONE_SURROGATE.test(value)) out.push({ field: prefix, message: 'must be valid Unicode (it has half of a surrogate pair, such as \\udfff alone)' });
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => findUnstorable(v, `${prefix}.${i}`, out, depth + 1));
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k.includes(NUL) || LONE_SURROGATE.test(k)) {
        out.push({ field: `${prefix}.${JSON.stringify(k).slice(1, -1)}`, message: 'a key must be valid Unicode without the NUL character (U+0000)' });
      } else {
        findUnstorable(v, `${prefix}.${k}`, out, depth + 1);
      }
    }
  }
  return out;
}

/** Fastify's router errors (no route has run yet), as problem documents. */
export function frameworkError(err: Error & { code?: string }, _request: FastifyRequest, reply: FastifyReply) {
  if (err.code === 'FST_ERR_MAX_PARAM_LENGTH') {
    return sendProblem(reply, new AppError('uri_too_long', 'A part of the path is over 100 characters. Ids are at most 64: check the URL.'));
  }
  return sendProblem(reply, new AppError('malformed_url', 'The URL is not valid: check its percent-encoding (a % must be followed by two hex digits of valid UTF-8).'));
}

/**
 * A request the HTTP parser itself refuses (malformed request line or headers, headers too large)
 * never reaches a route: answer it as a problem document too, then close.
 */
export function clientError(err: Error & { code?: string }, socket: import('node:net').Socket) {
  if (!socket.writable) return socket.destroy(err);
  const [status, reason, code, title, detail] = err.code === 'HPE_HEADER_OVERFLOW'
    ? [431, 'Request Header Fields Too Large', 'headers_too_large', 'The request headers are too large', 'Send smaller headers.']
    : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [408, 'Request Timeout', 'request_timeout', 'The request took too long to arrive', 'Send the whole request promptly, then retry.']
      : [400, 'Bad Request', 'malformed_request', 'The request is not valid HTTP', 'The request line or headers could not be parsed.'];
  // No request was read, so none of its headers either: a new id, for the log and the caller alike.
  const requestId = newRequestId();
  const body = JSON.stringify({ type: problemType(code), title, status, detail, code, requestId });
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/problem+json\r\nX-Request-Id: ${requestId}\r\n`
    + `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}

const STRICT_PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

export function registerEdge(app: FastifyInstance) {
  app.addHook('preValidation', async (request) => {
    const errors = [
      ...findUnstorable(request.params, 'params'),
      ...findUnstorable(request.query, 'querystring'),
      ...findUnstorable(request.body, 'body'),
    ];
    if (errors.length > 0) {
      throw new AppError('validation_failed', `Fix these fields: ${errors.map((e) => `${e.field} ${e.message}`).join('; ')}.`, { errors });
    }
  });
  app.addHook('onSend', async (request, reply, payload) => {
    reply.header('x-content-type-options', 'nosniff');
    if (request.url.startsWith('/v1/')) reply.header('cache-control', 'no-store');
    const type = String(reply.getHeader('content-type') ?? '');
    if (type.startsWith('text/html') && !reply.hasHeader('content-security-policy')) {
      reply.header('content-security-policy', STRICT_PAGE_CSP);
      reply.header('x-frame-options', 'DENY');
      reply.header('referrer-policy', 'no-referrer');
      reply.header('cache-control', 'no-store');
    }
    return payload;
  });
}
