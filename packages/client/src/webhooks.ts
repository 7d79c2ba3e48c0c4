/**
 * Verifying what arrives at a webhook endpoint: Causeway signs each delivery as Standard Webhooks
 * says (webhook-id, webhook-timestamp, webhook-signature; HMAC-SHA256 with the endpoint's whsec_
 * secret). Verify the raw body exactly as received, before parsing it: re-serialised JSON no
 * longer matches its signature.
 */
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import type { WebhookEvent } from './types.js';

export { WebhookVerificationError };

/** Request headers as a framework hands them over: a fetch Headers, Node's IncomingHttpHeaders, or a plain record. */
export type WebhookHeaders = Headers | Record<string, string | string[] | undefined>;

function header(headers: WebhookHeaders, name: string): string {
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? '';
  const record = headers as Record<string, string | string[] | undefined>;
  const key = Object.keys(record).find((k) => k.toLowerCase() === name);
  const value = key === undefined ? undefined : record[key];
  return (Array.isArray(value) ? value.join(' ') : value) ?? '';
}

/**
 * The event a delivery carries, once its signature (by `secret`, or by any of them while a secret
 * rotates) and its timestamp (within five minutes) check out; throws WebhookVerificationError otherwise.
 */
export function verifyWebhook(payload: string | Uint8Array, headers: WebhookHeaders, secret: string | string[]): WebhookEvent {
  const body = typeof payload === 'string' ? payload : new TextDecoder().decode(payload);
  const signed = {
    'webhook-id': header(headers, 'webhook-id'),
    'webhook-timestamp': header(headers, 'webhook-timestamp'),
    'webhook-signature': header(headers, 'webhook-signature'),
  };
  const secrets = Array.isArray(secret) ? secret : [secret];
  let failure: unknown = new WebhookVerificationError('No secret to verify with');
  for (const s of secrets) {
    try {
      return new Webhook(s).verify(body, signed) as WebhookEvent;
    } catch (err) {
      failure = err;
    }
  }
  throw failure;
}
