/**
 * Every answer of 400 and above becomes a CausewayError carrying the RFC 9457 problem document
 * Causeway sent: `code` is stable (switch on it), `detail` is for people, `requestId` is what to
 * quote when asking the operator about it. Network failures that outlast the retries are thrown
 * as the fetch implementation threw them.
 */
import type { ErrorCode } from './types.js';

/** An RFC 9457 problem document as Causeway sends it (application/problem+json). */
export interface Problem {
  /** A URI reference naming the problem type (its entry in the error catalogue). */
  type: string;
  title: string;
  status: number;
  detail: string;
  /** Stable and machine-readable: `validation_failed`, `not_found`, `idempotency_key_reused`… */
  code: ErrorCode | (string & {});
  instance?: string;
  requestId?: string;
  /** validation_failed: each field in error (`body.email`, `query.limit`…) and what is wrong with it. */
  errors?: { field: string; message: string }[];
  [extension: string]: unknown;
}

export class CausewayError extends Error {
  override readonly name = 'CausewayError';
  readonly status: number;
  /** Stable: switch on it. The codes the document lists autocomplete; one added to the server later is still a string. */
  readonly code: ErrorCode | (string & {});
  readonly detail: string;
  readonly type: string;
  /** The request's id: the problem's `requestId`, else the X-Request-Id header; null when neither came. */
  readonly requestId: string | null;
  /** Seconds the server asked to wait before trying again (Retry-After), when it did. */
  readonly retryAfter: number | null;
  /** The whole problem document (extensions such as `errors`, `connectionStatus`, `allowedActions` included). */
  readonly problem: Problem;

  constructor(problem: Problem, opts: { requestId?: string | null; retryAfter?: number | null } = {}) {
    super(`${problem.status} ${problem.code}: ${problem.detail}`);
    this.problem = problem;
    this.status = problem.status;
    this.code = problem.code;
    this.detail = problem.detail;
    this.type = problem.type;
    this.requestId = problem.requestId ?? opts.requestId ?? null;
    this.retryAfter = opts.retryAfter ?? null;
  }
}

function isProblem(body: unknown): body is Problem {
  const b = body as Partial<Problem> | null;
  return typeof b === 'object' && b !== null && typeof b.code === 'string' && typeof b.status === 'number';
}

/** The error for a failed answer, from its parsed body (a problem document, or whatever a proxy in between sent). */
export function errorFromResponse(response: Response, body: unknown): CausewayError {
  const requestId = response.headers.get('x-request-id');
  const retryAfter = retryAfterMs(response);
  const problem: Problem = isProblem(body) ? body : {
    type: 'about:blank', title: response.statusText || `HTTP ${response.status}`, status: response.status,
    detail: typeof body === 'string' && body.length > 0 ? body.slice(0, 500) : `The server answered ${response.status} without a problem document.`,
    code: `http_${response.status}`,
  };
  return new CausewayError(problem, { requestId, retryAfter: retryAfter === null ? null : Math.ceil(retryAfter / 1000) });
}

/** Retry-After in milliseconds (delay-seconds or an HTTP date), or null when absent or unreadable. */
export function retryAfterMs(response: Response): number | null {
  const value = response.headers.get('retry-after');
  if (!value) return null;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, at - Date.now());
}
