/**
 * The Causeway client: the typed openapi-fetch client (`client.api`, every route of the document)
 * behind an API key and the retrying fetch, and a helper per resource over it.
 *
 *   const causeway = new Causeway({ apiKey: process.env.CAUSEWAY_API_KEY!, baseUrl: 'http://127.0.0.1:3000' });
 *   const user = await causeway.users.create({ externalId: 'me' });
 */
import createClient from 'openapi-fetch';
import type { Api } from './call.js';
import type { paths } from './generated/schema.js';
import { Connections } from './resources/connections.js';
import { Accounts, Transactions } from './resources/data.js';
import { Jobs } from './resources/jobs.js';
import { Users } from './resources/users.js';
import { WebhookEndpoints } from './resources/webhook-endpoints.js';
import { retryingFetch, type Fetch } from './retry.js';

export interface CausewayOptions {
  /** sk_sandbox_… or sk_live_…, sent as `Authorization: Bearer`. */
  apiKey: string;
  /** Where Causeway listens, without /v1 (default http://127.0.0.1:3000). */
  baseUrl?: string;
  /** A fetch of your own (a proxy agent, a test double); it is called with a Request. Default: the global fetch. */
  fetch?: Fetch;
  /** Retries after a network failure, a 429 or a 5xx (default 2; 0 turns them off). */
  maxRetries?: number;
  /** Headers sent with every request (X-Request-Id is set per call by Causeway when absent). */
  headers?: Record<string, string>;
}

export class Causeway {
  /** Every route of the API, typed from its OpenAPI document: `client.api.GET('/v1/institutions', …)`. */
  readonly api: Api;
  readonly users: Users;
  readonly connections: Connections;
  readonly jobs: Jobs;
  readonly accounts: Accounts;
  readonly transactions: Transactions;
  readonly webhookEndpoints: WebhookEndpoints;

  constructor(opts: CausewayOptions) {
    if (!opts.apiKey) throw new TypeError('Causeway: apiKey is required');
    const maxRetries = opts.maxRetries ?? 2;
    if (!Number.isInteger(maxRetries) || maxRetries < 0) throw new TypeError('Causeway: maxRetries must be a whole number, 0 or more');
    const inner: Fetch = opts.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.api = createClient<paths>({
      baseUrl: (opts.baseUrl ?? 'http://127.0.0.1:3000').replace(/\/+$/, ''),
      fetch: retryingFetch(inner, maxRetries),
      headers: { ...opts.headers, authorization: `Bearer ${opts.apiKey}` },
    });
    this.users = new Users(this.api);
    this.connections = new Connections(this.api);
    this.jobs = new Jobs(this.api);
    this.accounts = new Accounts(this.api);
    this.transactions = new Transactions(this.api);
    this.webhookEndpoints = new WebhookEndpoints(this.api);
  }
}
