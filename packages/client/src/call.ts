/** What the resource helpers share: the typed openapi-fetch client, and turning its answers into data or a CausewayError. */
import type { Client } from 'openapi-fetch';
import { errorFromResponse } from './errors.js';
import type { paths } from './generated/schema.js';
import type { MutationOptions, RequestOptions } from './types.js';

export type Api = Client<paths>;

/** The answer's data; a CausewayError for an answer of 400 and above. */
export async function unwrap<T>(call: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  const { data, error, response } = await call;
  if (!response.ok) throw errorFromResponse(response, error);
  return data as T;
}

/** The per-call part of a request: its abort signal and, for a change, the caller's Idempotency-Key. */
export function callInit(opts: RequestOptions & Partial<MutationOptions> = {}) {
  return { signal: opts.signal, headers: { 'idempotency-key': opts.idempotencyKey } };
}
