/**
 * A stateful fake of Plaid, in Plaid's wire format, for Causeway's tests.
 *
 *   const fake = await startPlaidFake();
 *   const plaid = new PlaidApi(new Configuration({ basePath: fake.url,
 *     baseOptions: { headers: { 'PLAID-CLIENT-ID': fake.clientId, 'PLAID-SECRET': fake.secret } } }));
 *
 * HTTP: POST endpoints listed in routes.ts (Plaid's paths, bodies, errors), the Hosted Link page
 * at GET/POST /hl/:link_token (hosted-page.ts). Webhooks go out signed as Plaid signs them
 * (webhooks.ts). Everything else is the control surface on the returned object: plain methods a
 * test calls to shape the world (item errors, new transactions, pending → posted, injected
 * failures, slow endpoints, webhooks on demand).
 *
 * Checked against Plaid's OpenAPI spec by scripts/check-plaid-fake-spec.ts.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import type { PlaidAccount, PlaidBalances, PlaidTransaction } from './data.js';
import { plaidError, PlaidFail, type ErrorSpec, type PlaidErrorBody } from './errors.js';
import { linkPage, messagePage } from './hosted-page.js';
import { institutionCatalogue, type AccountTemplate, type ProductHealth } from './institutions.js';
import { PlaidWorld, type CreateItemOptions, type FakeItem, type TransactionsUpdateStatus } from './items.js';
import { LinkTokens, type LinkAction, type LinkToken } from './link.js';
import { IdSource } from './random.js';
import { ROUTES, type RouteCtx } from './routes.js';
import { webhookPayload, type WebhookEvent } from './shapes.js';
import { validateBody } from './validate.js';
import { deliver, sha256Hex, webhookBody, WebhookKeys, type Delivery, type PlaidJwk, type SignOptions } from './webhooks.js';

export type { PlaidAccount, PlaidTransaction, PlaidErrorBody, FakeItem, CreateItemOptions, Delivery, SignOptions, WebhookEvent, PlaidJwk };
export { sha256Hex };

export interface PlaidFakeOptions {
  port?: number;
  clientId?: string;
  secret?: string;
  /** Makes ids reproducible across runs (content is always deterministic). Default: random ids. */
  seed?: string;
  /** Transactions a new Item starts with (default 180, about six months). */
  initialTransactions?: number;
  /** Upper bound of a /transactions/sync page (default 100; a smaller request `count` wins). */
  pageSize?: number;
  /** Send the webhooks Plaid sends on its own: SYNC_UPDATES_AVAILABLE after data changes (once the Item has been synced), NEW_ACCOUNTS_AVAILABLE on addAccount. Default false. */
  autoWebhooks?: boolean;
  /** The fake's clock (default: the real one). */
  now?: () => Date;
}

export interface RequestLogEntry {
  method: string;
  path: string;
  body: Record<string, unknown>;
  headers: http.IncomingHttpHeaders;
  status?: number;
  response?: unknown;
  at: string;
}

export interface InjectedError extends ErrorSpec {
  /** How many calls fail (default 1). */
  times?: number;
  /** Only calls for this Item fail. */
  itemId?: string;
}

export interface PlaidFake {
  url: string;
  clientId: string;
  secret: string;
  close(): Promise<void>;

  /** Every request, oldest first, with the answer. */
  requests: RequestLogEntry[];
  /** Requests to one path. */
  requestsTo(path: string): RequestLogEntry[];
  /** Runs before each request is handled; may be async (e.g. to kill a worker mid-pagination). */
  onRequest: ((entry: RequestLogEntry) => void | Promise<void>) | null;
  /** Makes an endpoint answer `ms` later (the next `times` calls, default all); ms 0 clears. */
  delay(path: string, ms: number, times?: number): void;
  /** The next `times` calls to `path` fail with this Plaid error. */
  injectError(path: string, error: InjectedError): void;
  clearInjectedErrors(): void;
  setPageSize(n: number): void;

  items(): FakeItem[];
  item(itemId: string): FakeItem;
  /** Current transactions of an Item, newest first. */
  transactions(itemId: string): PlaidTransaction[];
  createItem(opts?: CreateItemOptions): { itemId: string; accessToken: string };
  setItemError(itemId: string, error: string | ErrorSpec | null): void;
  setUpdateStatus(itemId: string, status: TransactionsUpdateStatus): void;
  setBalance(itemId: string, accountId: string, balances: Partial<PlaidBalances>): void;
  setInstitutionHealth(institutionId: string, health: ProductHealth): void;
  addTransactions(itemId: string, what: number | Array<Partial<PlaidTransaction>>, opts?: { pending?: boolean }): PlaidTransaction[];
  modifyTransaction(itemId: string, transactionId: string, patch: Partial<PlaidTransaction>): PlaidTransaction;
  removeTransaction(itemId: string, transactionId: string): void;
  postPending(itemId: string, transactionId?: string): Array<{ pending: PlaidTransaction; posted: PlaidTransaction }>;
  addAccount(itemId: string, opts?: { visible?: boolean; template?: Partial<AccountTemplate> }): PlaidAccount;
  /** The Link token's state (sessions, outcome), for assertions. */
  linkToken(token: string): LinkToken | undefined;

  /** Signs and POSTs a webhook about an Item to its webhook URL (or `opts.url`); resolves when the receiver answered. */
  fireWebhook(itemId: string, event: WebhookEvent, opts?: { url?: string; sign?: SignOptions }): Promise<Delivery>;
  /** The JWT for a Plaid-Verification header over `body`. */
  signWebhook(body: string, opts?: SignOptions): Promise<string>;
  /** POSTs an exact body with an exact Plaid-Verification value (for tampering tests); resolves with the status. */
  sendWebhook(url: string, body: string, jwt: string): Promise<number | null>;
  /** The current signing key's public half, as /webhook_verification_key/get returns it. */
  readonly webhookKey: PlaidJwk;
  rotateWebhookKey(): Promise<PlaidJwk>;
  /** Every webhook delivery, oldest first. */
  webhooks: Delivery[];
  /** Resolves once every webhook sent so far has been answered. */
  flushWebhooks(): Promise<void>;
}

const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8' };

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startPlaidFake(opts: PlaidFakeOptions = {}): Promise<PlaidFake> {
  const clientId = opts.clientId ?? 'fake_client_id';
  const secret = opts.secret ?? 'fake_secret';
  const now = opts.now ?? (() => new Date());
  const ids = new IdSource(opts.seed ?? randomUUID());
  const keys = await WebhookKeys.create(() => Math.floor(now().getTime() / 1000));
  const requestId = () => ids.alnum('request', 15);
  const makeError = (code: string) => plaidError({ error_code: code }, requestId());

  const webhooks: Delivery[] = [];
  /** close() abandons webhooks still waiting on a slow receiver. */
  const stopping = new AbortController();
  const inFlight = new Set<Promise<unknown>>();
  // One queue per receiver URL, so webhooks arrive in the order they were sent.
  const queues = new Map<string, Promise<unknown>>();
  function send(url: string, payload: Record<string, unknown>, sign: SignOptions = {}): Promise<Delivery> {
    const p = (queues.get(url) ?? Promise.resolve()).then(() => sendNow(url, payload, sign));
    queues.set(url, p.catch(() => undefined));
    return p;
  }
  async function sendNow(url: string, payload: Record<string, unknown>, sign: SignOptions): Promise<Delivery> {
    const body = webhookBody(payload);
    const jwt = await keys.sign(body, sign);
    const result = await deliver(url, body, jwt, stopping.signal);
    const d: Delivery = { url, body, payload, jwt, ...result, at: now().toISOString() };
    webhooks.push(d);
    return d;
  }
  const track = <T>(p: Promise<T>): Promise<T> => {
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
    return p;
  };
  async function itemWebhook(item: FakeItem, event: WebhookEvent, url = item.webhook, sign?: SignOptions): Promise<Delivery> {
    if (!url) throw new Error(`plaid fake: item ${item.itemId} has no webhook URL`);
    const payload = webhookPayload(item, event, now(), makeError);
    item.lastWebhook = { sent_at: now().toISOString(), code_sent: event.webhook_code };
    return track(send(url, payload, sign));
  }

  const world = new PlaidWorld({
    now, ids, seed: opts.seed ?? 'plaid-fake', initialTransactions: opts.initialTransactions ?? 180,
    autoWebhooks: opts.autoWebhooks ?? false,
    emit: (item, event) => { if (item.webhook) void itemWebhook(item, event); },
  });
  const links = new LinkTokens(world, ids, now);
  let pageSize = opts.pageSize ?? 100;
  const injected = new Map<string, InjectedError[]>();
  const delays = new Map<string, { ms: number; times: number }>();
  const requests: RequestLogEntry[] = [];

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err) => {
      if (!res.headersSent) res.writeHead(500, JSON_HEADERS);
      res.end(JSON.stringify(plaidError({ error_code: 'INTERNAL_SERVER_ERROR', error_message: String((err as Error)?.stack ?? err) }, requestId())));
    });
  });
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, '127.0.0.1', resolve));
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const cursorSecret = randomUUID();

  const ctx = (): RouteCtx => ({
    world, links, keys, ids, now, baseUrl, pageSize, cursorSecret, makeError,
    emit: (item, event) => { if (item.webhook) void itemWebhook(item, event); },
    emitTo: (url, payload) => { void track(send(url, payload)); },
  });

  async function before(entry: RequestLogEntry): Promise<void> {
    await fake.onRequest?.(entry);
    const d = delays.get(entry.path);
    if (d && d.times > 0) {
      d.times -= 1;
      await sleep(d.ms);
    }
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', baseUrl).pathname;
    const raw = await readBody(req);
    if (path.startsWith('/hl/')) return hosted(req, res, path.slice('/hl/'.length), raw);
    const entry: RequestLogEntry = { method: req.method ?? 'GET', path, body: {}, headers: req.headers, at: now().toISOString() };
    requests.push(entry);
    const rid = requestId();
    const answer = (status: number, body: Record<string, unknown>, headers: Record<string, string> = {}) => {
      entry.status = status;
      entry.response = body;
      res.writeHead(status, { ...JSON_HEADERS, ...headers });
      res.end(JSON.stringify(body));
    };
    try {
      let body: Record<string, unknown>;
      try { body = raw ? JSON.parse(raw) : {}; } catch { throw new PlaidFail({ error_code: 'INVALID_BODY' }); }
      if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new PlaidFail({ error_code: 'INVALID_BODY', error_message: 'body must be a JSON object' });
      entry.body = body;
      await before(entry);
      const handler = req.method === 'POST' ? ROUTES[path] : undefined;
      if (!handler) throw new PlaidFail({ error_code: 'NOT_FOUND', error_message: `no endpoint ${req.method} ${path}` });
      const id = (body.client_id ?? req.headers['plaid-client-id']) as string | undefined;
      const sec = (body.secret ?? req.headers['plaid-secret']) as string | undefined;
      if (!id || !sec) throw new PlaidFail({ error_code: 'MISSING_FIELDS', error_message: `the following required fields are missing: ${[!id && 'client_id', !sec && 'secret'].filter(Boolean).join(', ')}` });
      if (id !== clientId || sec !== secret) throw new PlaidFail({ error_code: 'INVALID_API_KEYS' });
      validateBody(path, body);
      takeInjected(path, body);
      answer(200, { ...(await handler(body, ctx())), request_id: rid });
    } catch (err) {
      if (!(err instanceof PlaidFail)) throw err;
      const e = plaidError(err.spec, rid);
      answer(e.status ?? 400, e as unknown as Record<string, unknown>, err.spec.retryAfter !== undefined ? { 'retry-after': String(err.spec.retryAfter) } : {});
    }
  }

  function takeInjected(path: string, body: Record<string, unknown>): void {
    const queue = injected.get(path);
    if (!queue?.length) return;
    const token = typeof body.access_token === 'string' ? body.access_token : undefined;
    const itemId = token ? [...world.items.values()].find((i) => i.accessToken === token)?.itemId : undefined;
    const i = queue.findIndex((q) => !q.itemId || q.itemId === itemId);
    if (i < 0) return;
    const q = queue[i]!;
    q.times = (q.times ?? 1) - 1;
    if (q.times <= 0) queue.splice(i, 1);
    throw new PlaidFail(q);
  }

  async function hosted(req: http.IncomingMessage, res: http.ServerResponse, token: string, raw: string): Promise<void> {
    const form = req.method === 'POST'
      ? (String(req.headers['content-type']).includes('json') ? JSON.parse(raw || '{}') as Record<string, string> : Object.fromEntries(new URLSearchParams(raw)))
      : {};
    const entry: RequestLogEntry = { method: req.method ?? 'GET', path: `/hl/${token}`, body: form, headers: req.headers, at: now().toISOString() };
    requests.push(entry);
    await before(entry);
    const html = (status: number, page: string) => {
      entry.status = status;
      res.writeHead(status, { 'content-type': 'text/html; charset=utf-8' });
      res.end(page);
    };
    const t = links.get(token);
    if (!t) return html(404, messagePage('Link not found', 'This link is not valid.'));
    if (links.expired(t)) return html(410, messagePage('Link expired', 'This link has expired. Ask the app for a new one.'));
    if (t.sessions.some((s) => s.finishedAt)) return html(410, messagePage('Link already used', 'This link has already been used.'));
    const fixed = links.institutionFor(t);
    const choices = () => institutionCatalogue().filter((i) => i.country_codes.some((c) => t.request.country_codes.includes(c)) && t.request.products.every((p) => i.products.includes(p))).slice(0, 50);
    if (req.method !== 'POST') {
      links.open(t);
      return html(200, linkPage({ token: t, fixed, choices: fixed ? [] : choices() }));
    }
    const action = form.action as LinkAction;
    if (!['success', 'exit', 'error'].includes(action)) return html(400, linkPage({ token: t, fixed, choices: fixed ? [] : choices(), problem: 'action must be success, exit or error.' }));
    const result = links.submit(t, { action, institutionId: form.institution_id, username: form.username, password: form.password, errorCode: form.error_code });
    if (!result.done) return html(422, linkPage({ token: t, fixed, choices: fixed ? [] : choices(), problem: result.problem, chosen: form.institution_id }));
    linkWebhooks(t, result.session.id);
    const target = t.request.completion_redirect_uri;
    if (!target) return html(200, messagePage('Done', 'You can close this window.'));
    entry.status = 303;
    res.writeHead(303, { location: target, 'content-type': 'text/plain' });
    res.end();
  }

  /** Hosted Link tells the client through LINK webhooks, since there is no onSuccess callback. */
  function linkWebhooks(t: LinkToken, sessionId: string): void {
    const url = t.request.webhook;
    const s = t.sessions.find((x) => x.id === sessionId);
    if (!url || !t.request.hosted || !s?.outcome) return;
    const base = { link_session_id: s.id, link_token: t.token };
    if (s.outcome.kind === 'success') {
      const pt = s.outcome.publicToken;
      if (!s.outcome.update) void track(send(url, { webhook_type: 'LINK', webhook_code: 'ITEM_ADD_RESULT', ...base, public_token: pt, environment: 'sandbox' }));
      void track(send(url, { webhook_type: 'LINK', webhook_code: 'SESSION_FINISHED', status: 'SUCCESS', ...base, public_token: pt, public_tokens: [pt], environment: 'sandbox' }));
    } else {
      void track(send(url, { webhook_type: 'LINK', webhook_code: 'SESSION_FINISHED', status: 'EXITED', ...base, public_tokens: [], environment: 'sandbox' }));
    }
  }

  const item = (itemId: string) => world.get(itemId);

  const fake: PlaidFake = {
    url: baseUrl,
    clientId,
    secret,
    async close() {
      stopping.abort();
      await Promise.allSettled([...inFlight]);
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
    },
    requests,
    requestsTo: (path) => requests.filter((r) => r.path === path),
    onRequest: null,
    delay(path, ms, times = Infinity) {
      if (ms <= 0) delays.delete(path);
      else delays.set(path, { ms, times });
    },
    injectError(path, error) {
      if (!ROUTES[path]) throw new Error(`plaid fake: no endpoint ${path}`);
      injected.set(path, [...(injected.get(path) ?? []), { ...error }]);
    },
    clearInjectedErrors: () => injected.clear(),
    setPageSize(n) {
      if (!Number.isInteger(n) || n < 1) throw new Error('plaid fake: page size must be a positive integer');
      pageSize = n;
    },
    items: () => [...world.items.values()],
    item,
    transactions: (itemId) => world.currentTransactions(item(itemId)),
    createItem(o) {
      const it = world.createItem(o);
      return { itemId: it.itemId, accessToken: it.accessToken };
    },
    setItemError(itemId, error) {
      world.setError(item(itemId), typeof error === 'string' ? { error_code: error } : error);
    },
    setUpdateStatus(itemId, status) { item(itemId).updateStatus = status; },
    setBalance(itemId, accountId, balances) {
      const account = item(itemId).accounts.find((a) => a.account_id === accountId);
      if (!account) throw new Error(`plaid fake: no account ${accountId} on item ${itemId}`);
      Object.assign(account.balances, balances);
    },
    setInstitutionHealth(institutionId, health) {
      world.institutionHealth.set(institutionId, { health, since: now().toISOString() });
    },
    addTransactions: (itemId, what, o) => world.addTransactions(item(itemId), what, o),
    modifyTransaction: (itemId, txId, patch) => world.modifyTransaction(item(itemId), txId, patch),
    removeTransaction: (itemId, txId) => world.removeTransaction(item(itemId), txId),
    postPending: (itemId, txId) => world.postPending(item(itemId), txId),
    addAccount: (itemId, o) => world.addAccount(item(itemId), o),
    linkToken: (token) => links.get(token),
    fireWebhook: async (itemId, event, o = {}) => itemWebhook(item(itemId), event, o.url ?? item(itemId).webhook, o.sign),
    signWebhook: (body, o) => keys.sign(body, o),
    sendWebhook: async (url, body, jwt) => (await deliver(url, body, jwt, stopping.signal)).status,
    get webhookKey() { return keys.jwk(keys.currentKey.kid)!; },
    async rotateWebhookKey() { return keys.jwk((await keys.rotate()).kid)!; },
    webhooks,
    async flushWebhooks() {
      while (inFlight.size) await Promise.allSettled([...inFlight]);
    },
  };
  return fake;
}
