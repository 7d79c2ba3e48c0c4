import { callInit, unwrap, type Api } from '../call.js';
import { List } from '../pagination.js';
import type {
  CreateWebhookEndpointParams, MutationOptions, RequestOptions, UpdateWebhookEndpointParams, WebhookDelivery, WebhookEndpoint,
} from '../types.js';

/** Where Causeway sends events (Standard Webhooks); verify what arrives with `verifyWebhook`. */
export class WebhookEndpoints {
  constructor(private readonly api: Api) {}

  /** Answers the endpoint with its signing secret (`whsec_…`), shown this once: keep it. */
  create(params: CreateWebhookEndpointParams, opts?: MutationOptions): Promise<WebhookEndpoint> {
    return unwrap(this.api.POST('/v1/webhook-endpoints', { body: params, ...callInit(opts) }));
  }

  get(endpointId: string, opts?: RequestOptions): Promise<WebhookEndpoint> {
    return unwrap(this.api.GET('/v1/webhook-endpoints/{endpointId}', { params: { path: { endpointId } }, ...callInit(opts) }));
  }

  list(params: { limit?: number } = {}, opts?: RequestOptions): List<WebhookEndpoint> {
    return new List((cursor) => unwrap(this.api.GET('/v1/webhook-endpoints', { params: { query: { ...params, cursor } }, ...callInit(opts) })));
  }

  update(endpointId: string, params: UpdateWebhookEndpointParams, opts?: MutationOptions): Promise<WebhookEndpoint> {
    return unwrap(this.api.PATCH('/v1/webhook-endpoints/{endpointId}', { params: { path: { endpointId } }, body: params, ...callInit(opts) }));
  }

  delete(endpointId: string, opts?: MutationOptions): Promise<{ id: string; deleted: true }> {
    return unwrap(this.api.DELETE('/v1/webhook-endpoints/{endpointId}', { params: { path: { endpointId } }, ...callInit(opts) }));
  }

  /** A new secret, shown this once; for `graceSeconds` (default 24 h) deliveries are signed with both. */
  rotateSecret(endpointId: string, params: { graceSeconds?: number } = {}, opts?: MutationOptions): Promise<WebhookEndpoint> {
    return unwrap(this.api.POST('/v1/webhook-endpoints/{endpointId}/rotate-secret', { params: { path: { endpointId } }, body: params, ...callInit(opts) }));
  }

  /** Sends a `webhook_endpoint.test` event to the endpoint now. */
  test(endpointId: string, opts?: MutationOptions): Promise<WebhookDelivery> {
    return unwrap(this.api.POST('/v1/webhook-endpoints/{endpointId}/test', { params: { path: { endpointId } }, ...callInit(opts) }));
  }

  /** The endpoint's delivery log, newest first, each with its attempts. */
  deliveries(endpointId: string, params: { limit?: number } = {}, opts?: RequestOptions): List<WebhookDelivery> {
    return new List((cursor) => unwrap(this.api.GET('/v1/webhook-endpoints/{endpointId}/deliveries', {
      params: { path: { endpointId }, query: { ...params, cursor } }, ...callInit(opts),
    })));
  }
}
