/**
 * A stateful fake of GoCardless Bank Account Data (API v2), in its wire format, for Causeway's tests.
 *
 *   const fake = await startGoCardlessFake({ now: new Date('2026-03-02T09:00:00Z') });
 *   provider settings: { secretId: fake.secretId, secretKey: fake.secretKey, baseUrl: fake.url }
 *
 * HTTP: the endpoints in routes.ts (GoCardless's paths, bodies, errors), each answer with the
 * HTTP_X_RATELIMIT_* headers (and HTTP_X_RATELIMIT_ACCOUNT_SUCCESS_* on details, balances and
 * transactions; limits.ts), and the requisition page at each requisition's `link` (page.ts).
 * Everything else is the control surface on the returned object: the fake's clock, bank data
 * (transactions added, pending booked, balances), requisition and account states, spent budgets,
 * revoked tokens, and the next answers of any path (failNext). Every request is in `requests`.
 *
 * Checked against GoCardless's OpenAPI spec by scripts/check-gocardless-fake-spec.ts.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { IdSource, rng } from '../plaid/random.js';
import { TokenStore, type TokenLifetimes } from './auth.js';
import { makeTx, TxIds, type BankAccount, type BankTx, type GcBalanceJson } from './data.js';
import { documented, err, GcFail, invalidToken, noCredentials, notFound, type GcErrorAnswer } from './errors.js';
import { AccountLimits, GeneralLimits } from './limits.js';
import { requisitionPage } from './page.js';
import { ROUTES, type RouteCtx } from './routes.js';
import { GcWorld, type AccountStatus, type FakeAccount, type Requisition, type RequisitionStatus } from './world.js';

export type { BankAccount, BankTx, FakeAccount, GcBalanceJson, GcErrorAnswer, Requisition, RequisitionStatus, AccountStatus };
export { DOCUMENTED_NAMES, documented } from './errors.js';

export interface GoCardlessFakeOptions {
  port?: number;
  secretId?: string;
  secretKey?: string;
  /** Makes ids and data reproducible across runs. */
  seed?: string;
  /** Where the fake's clock starts (it then runs with real time). Default: now. */
  now?: Date;
  /** The fake's clock itself (following Causeway's test clock, say); setNow and advance then move it on from there. */
  clock?: () => Date;
  /** Successful calls a day per account and scope (default 4, GoCardless's limit since 2025-03). */
  accountLimit?: number;
  tokenLifetimes?: Partial<TokenLifetimes>;
}

export interface RequestLogEntry {
  method: string;
  path: string;
  query: Record<string, string>;
  body: Record<string, unknown>;
  headers: http.IncomingHttpHeaders;
  status?: number;
  response?: unknown;
  responseHeaders?: Record<string, string>;
  at: string;
}

export interface FailureOptions { times?: number; method?: string; accountId?: string }
interface Injected extends Required<Omit<FailureOptions, 'accountId'>> { pattern: RegExp; answer: GcErrorAnswer | string; accountId?: string }

export interface GoCardlessFake {
  url: string;
  secretId: string;
  secretKey: string;
  /** Provider settings that reach this fake. */
  settings: { secretId: string; secretKey: string; baseUrl: string };
  stop(): Promise<void>;
  world: GcWorld;
  tokens: TokenStore;
  now(): Date;
  setNow(at: Date): void;
  advance(seconds: number): void;
  requests: RequestLogEntry[];
  /** Requests whose path matches `template` (`/api/v2/accounts/{id}/balances/`, or a literal path). */
  requestsTo(template: string, method?: string): RequestLogEntry[];
  /** The next `times` (default 1) calls matching `template` answer this error (a documented name or an answer). */
  failNext(template: string, answer: GcErrorAnswer | string, opts?: FailureOptions): void;
  clearFailures(): void;
  requisition(id: string): Requisition | undefined;
  accountsOf(requisitionId: string): FakeAccount[];
  /** A requisition made and linked elsewhere (for imports). */
  linkedRequisition(opts: Parameters<GcWorld['linkedRequisition']>[0]): Requisition;
  approve(requisitionId: string, login?: string): void;
  setRequisitionStatus(requisitionId: string, status: RequisitionStatus): void;
  setAccountStatus(accountId: string, status: AccountStatus): void;
  bankAccounts(institutionId: string, login?: string): BankAccount[];
  /** Adds generated (a count) or given transactions to a bank account (by IBAN or ref). */
  addTransactions(iban: string, what: number | Array<Partial<BankTx>>, opts?: { pending?: boolean }): BankTx[];
  /** The bank books a pending transaction: booked today under a new id, or none (`id: null`). */
  bookPending(iban: string, opts?: { index?: number; id?: string | null }): { pending: BankTx; booked: BankTx };
  setBalances(iban: string, balances: GcBalanceJson[] | null): void;
  /** Uses up `used` (default: all) of an account's successful calls for a scope, from now. */
  spendBudget(accountId: string, scope: string, used?: number): void;
  resetBudgets(): void;
  setAccountLimit(n: number): void;
  /** Lowers a per-company limit group (accounts, institutions, token-new, token-refresh, create, read, delete, accept). */
  setGeneralLimit(group: string, n: number): void;
  /** Every access token refused from now on (and refresh tokens too with 'all'). */
  revokeTokens(kind?: 'access' | 'all'): void;
}

const JSON_TYPE = 'application/json';

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export const templatePattern = (template: string) =>
  new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[a-z_]+\}/g, '([^/]+)')}$`);

const METERED = /^\/api\/v2\/accounts\/([^/]+)\/(details|balances|transactions)\/$/;

export async function startGoCardlessFake(opts: GoCardlessFakeOptions = {}): Promise<GoCardlessFake> {
  const secretId = opts.secretId ?? 'fake-secret-id-0001';
  const secretKey = opts.secretKey ?? 'fake-secret-key-0123456789abcdef';
  const seed = opts.seed ?? randomUUID();
  const source = opts.clock ?? (() => new Date());
  let base = (opts.now ?? source()).getTime();
  let anchor = source().getTime();
  const now = () => new Date(base + (source().getTime() - anchor));
  const ids = new IdSource(seed);
  let baseUrl = '';
  const world = new GcWorld({ now, ids, seed, baseUrl: () => baseUrl });
  const tokens = new TokenStore(now, { access: 86_400, refresh: 2_592_000, ...opts.tokenLifetimes }, seed);
  const limits = new AccountLimits(opts.accountLimit ?? 4, () => now().getTime());
  const general = new GeneralLimits(() => now().getTime());
  const requests: RequestLogEntry[] = [];
  let injected: Injected[] = [];
  const txIds = new TxIds('ADD');
  const txRng = rng(`${seed}:added`);

  function takeInjected(method: string, path: string, accountId: string | undefined): GcErrorAnswer | null {
    const i = injected.findIndex((q) => q.pattern.test(path) && (q.method === '*' || q.method === method) && (!q.accountId || q.accountId === accountId));
    if (i < 0) return null;
    const q = injected[i]!;
    q.times -= 1;
    if (q.times <= 0) injected.splice(i, 1);
    return typeof q.answer === 'string' ? documented(q.answer, METERED.exec(path)?.[2] ?? 'balances') : q.answer;
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', baseUrl);
    const path = url.pathname;
    const method = req.method ?? 'GET';
    const raw = await readBody(req);
    const form = raw && !String(req.headers['content-type']).includes('json') ? Object.fromEntries(new URLSearchParams(raw)) : {};
    const entry: RequestLogEntry = { method, path, query: Object.fromEntries(url.searchParams), body: form, headers: req.headers, at: now().toISOString() };
    requests.push(entry);

    const page = /^\/psd2\/start\/([^/]+)\/([^/]+)$/.exec(path);
    if (page) {
      const a = requisitionPage(world, method, page[1]!, page[2]!, form);
      entry.status = a.status;
      res.writeHead(a.status, a.location ? { location: a.location } : { 'content-type': 'text/html; charset=utf-8' });
      res.end(a.html ?? '');
      return;
    }

    const { headers: rateHeaders, refused } = general.take(method, path);
    const headers: Record<string, string> = { 'content-type': JSON_TYPE, 'x-request-id': ids.uuid('request'), ...rateHeaders };
    const metered = METERED.exec(path);
    let status = 200;
    let body: unknown;
    try {
      if (refused) throw new GcFail(refused);
      let route: (typeof ROUTES)[number] | undefined;
      let params: string[] = [];
      for (const r of ROUTES) {
        const m = r.method === method ? r.pattern.exec(path) : null;
        if (m) { route = r; params = m.slice(1); break; }
      }
      if (!route) {
        if (ROUTES.some((r) => r.pattern.test(path))) throw new GcFail(err(405, 'Method not allowed', `Method "${method}" not allowed.`));
        throw new GcFail(notFound());
      }
      let parsed: Record<string, unknown> = form;
      if (raw && String(req.headers['content-type']).includes('json')) {
        try { parsed = JSON.parse(raw) as Record<string, unknown>; } catch { throw new GcFail(err(400, 'JSON parse error', 'The request body is not valid JSON.')); }
        if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new GcFail(err(400, 'Invalid data', 'Expected a JSON object.'));
      }
      entry.body = parsed;
      if (route.auth) {
        const auth = String(req.headers.authorization ?? '');
        if (!auth.startsWith('Bearer ')) throw new GcFail(noCredentials());
        if (!tokens.valid(auth.slice('Bearer '.length))) throw new GcFail(invalidToken());
      }
      const fault = takeInjected(method, path, metered?.[1] ?? (path.startsWith('/api/v2/accounts/') ? path.split('/')[4] : undefined));
      if (fault) throw new GcFail(fault);
      const ctx: RouteCtx = { world, tokens, limits, secret: { id: secretId, key: secretKey }, query: url.searchParams, body: parsed, baseUrl };
      const answer = route.handler(ctx, ...params);
      status = answer.status ?? 200;
      body = answer.body;
      if (metered && status < 300) limits.success(metered[1]!, metered[2]!);
    } catch (e) {
      if (!(e instanceof GcFail)) throw e;
      status = e.answer.status;
      body = e.answer.body;
      Object.assign(headers, e.answer.headers ?? {});
    }
    if (metered && world.accounts.has(metered[1]!)) Object.assign(headers, limits.headers(metered[1]!, metered[2]!));
    entry.status = status;
    entry.response = body;
    entry.responseHeaders = headers;
    res.writeHead(status, headers);
    res.end(JSON.stringify(body));
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((e) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': JSON_TYPE });
      res.end(JSON.stringify({ summary: 'Internal error', detail: String((e as Error)?.stack ?? e), status_code: 500 }));
    });
  });
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const requisition = (id: string) => world.requisitions.get(id) ?? (() => { throw new Error(`GoCardless fake: no requisition ${id}`); })();
  const bank = (iban: string) => world.bankAccount(iban);

  return {
    url: baseUrl, secretId, secretKey, settings: { secretId, secretKey, baseUrl },
    stop: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
    world, tokens, now,
    setNow(at) { base = at.getTime(); anchor = source().getTime(); },
    advance(seconds) { base += seconds * 1000; },
    requests,
    requestsTo(template, method) {
      const p = templatePattern(template);
      return requests.filter((r) => p.test(r.path) && (!method || r.method === method));
    },
    failNext(template, answer, o = {}) {
      injected.push({ pattern: templatePattern(template), answer, times: o.times ?? 1, method: o.method ?? '*', ...(o.accountId ? { accountId: o.accountId } : {}) });
    },
    clearFailures() { injected = []; },
    requisition: (id) => world.requisitions.get(id),
    accountsOf: (id) => requisition(id).accounts.map((a) => world.accounts.get(a)!).filter(Boolean),
    linkedRequisition: (o) => world.linkedRequisition(o),
    approve(id, login) { world.approve(requisition(id), login); },
    setRequisitionStatus(id, status) { world.setStatus(requisition(id), status); },
    setAccountStatus(accountId, status) {
      const a = world.accounts.get(accountId);
      if (!a) throw new Error(`GoCardless fake: no account ${accountId}`);
      a.status = status;
    },
    bankAccounts: (institutionId, login) => world.login(institutionId, login).accounts,
    addTransactions(iban, what, o = {}) {
      const a = bank(iban);
      const today = world.today();
      const list = typeof what === 'number'
        ? Array.from({ length: what }, (_, i) => makeTx(txRng, txIds, today, i + 1, !o.pending))
        : what.map((p) => ({ valueDate: today, ...(o.pending ? {} : { bookingDate: p.bookingDate ?? today }), amount: -1000, remittance: 'Payment', transactionId: txIds.next('bank'), ...p }));
      (o.pending ? a.pending : a.booked).push(...list);
      return list;
    },
    bookPending(iban, o = {}) {
      const a = bank(iban);
      const index = o.index ?? 0;
      const pending = a.pending[index];
      if (!pending) throw new Error(`GoCardless fake: no pending transaction ${index} on ${iban}`);
      a.pending.splice(index, 1);
      const booked: BankTx = { ...pending, bookingDate: world.today() };
      delete booked.transactionId;
      delete booked.internalTransactionId;
      if (o.id !== null) booked.transactionId = o.id ?? txIds.next('bank');
      a.booked.push(booked);
      return { pending, booked };
    },
    setBalances(iban, balances) { bank(iban).balancesOverride = balances; },
    spendBudget(accountId, scope, used) { limits.set(accountId, scope, used ?? limits.limit); },
    resetBudgets() { limits.clear(); },
    setAccountLimit(n) { limits.limit = n; },
    setGeneralLimit(group, n) { general.overrides.set(group, n); },
    revokeTokens(kind = 'access') { if (kind === 'all') tokens.revokeAll(); else tokens.revokeAccess(); },
  };
}
