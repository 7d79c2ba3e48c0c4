/**
 * What reaches a log line, decided once for every logger (the Fastify request logger and the core
 * logger): secrets by path (`redact`), request lines without one-time secrets in the URL, and errors
 * without the values a failing query carried. Drizzle puts a query's parameters into the error's
 * message (`Failed query: …\nparams: <values>`) and PostgreSQL puts row values into `detail`
 * ("Key (email)=(jo@example.com) already exists"): a user's email or name must not reach the log.
 */
import pino, { type LoggerOptions } from 'pino';

/** Secrets that must never reach a log line, wherever they appear. */
export const LOG_REDACT = ['req.headers.authorization', 'req.headers.cookie', '*.password', '*.credentials', '*.code', '*.token', '*.accessEnc'];

/** Request lines for the log, with the consent page's one-time `state` and the pages' `?token=` taken out of the URL. */
export function requestForLog(req: { method: string; url: string; id?: string; ip?: string }) {
  const url = req.url.replace(/\/sandbox\/consent\/[^/?#]+/, '/sandbox/consent/[redacted]').replace(/([?&]token=)[^&#]*/g, '$1[redacted]');
  return { method: req.method, url, remoteAddress: req.ip };
}

const PARAMS_MARK = '\nparams: ';
/** Fields of database errors that hold row or parameter values. */
const VALUE_FIELDS = new Set(['params', 'parameters', 'detail', 'where', 'internalQuery']);

/** The message up to its parameter list, if it has one. */
function withoutParams(text: string): string {
  const at = text.indexOf(PARAMS_MARK);
  return at < 0 ? text : `${text.slice(0, at)}${PARAMS_MARK}[redacted]`;
}

/** Messages (with parameters) of the error and its causes, to take out of stacks too. */
function rawMessages(err: unknown, seen = new Set<unknown>()): string[] {
  if (!err || typeof err !== 'object' || seen.has(err)) return [];
  seen.add(err);
  const message = (err as { message?: unknown }).message;
  const own = typeof message === 'string' && message.includes(PARAMS_MARK) ? [message] : [];
  return [...own, ...rawMessages((err as { cause?: unknown }).cause, seen)];
}

/**
 * PostgreSQL quotes the offending value in some messages (`invalid input syntax for type uuid:
 * "<value>"`, `value too long …`): keep the message, drop the quoted value.
 */
const QUOTED_VALUE = /(: )"(?:[^"\\]|\\.)*"/g;

function scrub(value: unknown, messages: string[], depth = 0): unknown {
  if (typeof value === 'string') {
    let s = value.replace(QUOTED_VALUE, '$1"[redacted]"');
    for (const m of messages) s = s.split(m).join(withoutParams(m));
    // A message copied into a plain object ({ message: err.message }) ends with its parameters.
    return s.includes(PARAMS_MARK) && !/\n\s+at /.test(s) ? withoutParams(s) : s;
  }
  if (!value || typeof value !== 'object' || depth > 6) return value;
  if (Array.isArray(value)) return value.map((v) => scrub(v, messages, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = VALUE_FIELDS.has(k) && v != null ? '[redacted]' : scrub(v, messages, depth + 1);
  return out;
}

/** pino's error serializer, then the values of failed queries taken out of every field, the causes' too. */
export function errForLog(err: unknown): unknown {
  if (!(err instanceof Error)) return scrub(err, []);
  // The cause (the driver's error, with its SQLSTATE) as its own object, scrubbed the same way.
  const cause = err.cause instanceof Error ? { cause: errForLog(err.cause) } : {};
  const serialized = { ...pino.stdSerializers.err(err), ...cause };
  return scrub(serialized, rawMessages(err));
}

export const LOG_SERIALIZERS = { err: errForLog, error: errForLog };

/** Options for every logger the process makes; `serializers` adds to the error ones (the request logger's `req`). */
export function loggerOptions(level: LoggerOptions['level'], serializers: LoggerOptions['serializers'] = {}): LoggerOptions {
  return { level, redact: LOG_REDACT, serializers: { ...LOG_SERIALIZERS, ...serializers } };
}
