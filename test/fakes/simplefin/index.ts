/**
 * A stateful fake of a SimpleFIN bridge, in SimpleFIN's wire format (protocol v1.0.7, with v2's
 * `errlist` on demand), for Causeway's tests.
 *
 *   const fake = await startSimpleFinFake();
 *   const { token } = fake.setupToken();          // base64 of http://127.0.0.1:<port>/simplefin/claim/<code>
 *   POST <claim URL>                              // once: http://<user>:<pass>@127.0.0.1:<port>/simplefin; then 403
 *   GET  <access root>/accounts?start-date=&end-date=&pending=1&balances-only=1   (Basic credentials)
 *
 * As the bridge does: start-date inclusive, end-date exclusive, a range over 90 days capped with a
 * gen.api warning, pending transactions only with pending=1, no transactions with balances-only=1,
 * 403 for unknown or revoked credentials, 402 while the user's subscription has lapsed, and a daily
 * request allowance per app whose overrun answers with an error (or a 429, as chosen). Everything
 * else is the control surface on the returned object.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { BridgeWorld, type FakeAccount, type FakeApp, type FakeErrlistEntry, type FakeTransaction, type FakeUser } from './world.js';

export type { FakeAccount, FakeApp, FakeErrlistEntry, FakeTransaction, FakeUser };
export { EXAMPLE_BANK, EXAMPLE_CARDS } from './world.js';

export interface SimpleFinCall {
  method: string;
  path: string;
  query: Record<string, string>;
  status: number;
  /** The app whose credentials were sent, when they were valid. */
  app: string | null;
  /** The user name the request's Basic credentials named, valid or not (null without credentials). */
  username: string | null;
  /** The range asked for was longer than 90 days and was capped. */
  capped: boolean;
  at: Date;
}

export interface Quota {
  /** Requests to /accounts one app may make per UTC day. */
  perDay: number;
  /** How an overrun answers: the bridge's error list (200, no accounts) or an HTTP 429 with Retry-After. */
  answer: 'errors' | 'status';
  /** Only the app of this access URL has the allowance (the others are unlimited); every app when absent. */
  accessUrl?: string;
}

export const QUOTA_MESSAGE = 'You have exceeded the daily request allowance for this app: please make fewer requests. Data is only refreshed once every 24 hours.';
export const CAPPED_MESSAGE = 'Requested date range exceeds limit of 90 days and was capped.';
const MAX_RANGE = 90 * 86_400;

export interface SimpleFinFake {
  /** The bridge root: http://127.0.0.1:<port>/simplefin */
  url: string;
  stop(): Promise<void>;
  /** A new setup token for a bridge user (a new user unless `user` names one). */
  setupToken(opts?: { user?: string }): { token: string; user: string; claimUrl: string };
  user(id: string): FakeUser;
  /** The access URL an app was given (its credentials inside). */
  accessUrlOf(app: FakeApp): string;
  apps: readonly FakeApp[];
  /** Every request, oldest first. */
  calls: SimpleFinCall[];
  callsTo(path: string): SimpleFinCall[];
  addTransaction(accountId: string, tx: FakeTransaction): void;
  /** A pending transaction posts: same id (bridges keep it), pending cleared, posted set. */
  postPending(accountId: string, txId: string, opts?: { postedAt?: number; amount?: string }): void;
  setBalance(accountId: string, balance: string, available?: string): void;
  /** The bridge's v1 `errors` strings for a user, e.g. "Connection to Example Bank may need attention". */
  setErrors(user: string, errors: string[]): void;
  /** v2 structured errors for a user (sent as `errlist`); null stops sending it. */
  setErrlist(user: string, errlist: FakeErrlistEntry[] | null): void;
  setPaymentRequired(user: string, required: boolean): void;
  /** The user removed the app at the bridge: its access URL answers 403 from now on. */
  revoke(accessUrl: string): void;
  setQuota(quota: Quota | null): void;
  /** The next `times` requests to /accounts answer this status (a 5xx outage, say); with `accessUrl`, only that app's requests. */
  failNext(status: number, times?: number, opts?: { accessUrl?: string }): void;
}

/** The user name of a Basic authorization header. */
function usernameOf(header: string | undefined): string | null {
  const m = /^Basic\s+(.+)$/i.exec(header ?? '');
  return m ? Buffer.from(m[1]!, 'base64').toString('utf8').split(':')[0] ?? null : null;
}

function nowSecOf(now: () => Date): number {
  return Math.floor(now().getTime() / 1000);
}

function send(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': typeof body === 'string' ? 'text/plain' : 'application/json', ...headers }).end(text);
}

/** A user's account as GET /accounts shows it for one query. */
function view(a: FakeAccount, q: { start: number | null; end: number | null; pending: boolean; balancesOnly: boolean }) {
  const { transactions, ...rest } = a;
  if (q.balancesOnly) return rest;
  const shown = transactions.filter((t) => {
    const isPending = t.pending === true || t.posted === 0;
    if (isPending && !q.pending) return false;
    const when = t.posted > 0 ? t.posted : (t.transacted_at ?? 0);
    return (q.start === null || when >= q.start) && (q.end === null || when < q.end);
  }).sort((x, y) => x.posted - y.posted);
  return { ...rest, transactions: shown };
}

export async function startSimpleFinFake(opts: { now?: () => Date } = {}): Promise<SimpleFinFake> {
  const now = opts.now ?? (() => new Date());
  const world = new BridgeWorld(() => nowSecOf(now));
  const calls: SimpleFinCall[] = [];
  let quota: Quota | null = null;
  let failures: { status: number; left: number; app: string | null } | null = null;
  let base = '';

  function accounts(req: http.IncomingMessage, url: URL, call: SimpleFinCall, res: http.ServerResponse): void {
    const app = world.authenticate(req.headers.authorization);
    if (!app) return send(res, 403, 'Forbidden');
    call.app = app.username;
    if (failures && failures.left > 0 && (failures.app === null || failures.app === app.username)) {
      failures.left -= 1;
      return send(res, failures.status, 'Bridge trouble');
    }
    const user = world.user(app.user);
    if (user.paymentRequired) return send(res, 402, 'Payment Required');
    if (quota && (!quota.accessUrl || appOf(quota.accessUrl) === app)) {
      const day = now().toISOString().slice(0, 10);
      const used = calls.filter((c) => c.app === app.username && c.path.endsWith('/accounts') && c.at.toISOString().slice(0, 10) === day).length;
      if (used > quota.perDay) {
        if (quota.answer === 'status') return send(res, 429, 'Too Many Requests', { 'retry-after': '7200' });
        return send(res, 200, { errors: [QUOTA_MESSAGE], accounts: [] });
      }
    }
    const num = (name: string) => (url.searchParams.has(name) && /^\d+$/.test(url.searchParams.get(name)!) ? Number(url.searchParams.get(name)) : null);
    let start = num('start-date');
    let end = num('end-date');
    const errors = [...user.errors];
    if (start !== null && (end ?? nowSecOf(now)) - start > MAX_RANGE) {
      call.capped = true;
      errors.push(CAPPED_MESSAGE);
      end = start + MAX_RANGE;
    }
    if (start === null && end !== null) start = end - MAX_RANGE;
    const q = { start, end, pending: url.searchParams.get('pending') === '1', balancesOnly: url.searchParams.get('balances-only') === '1' };
    send(res, 200, { errors, ...(user.errlist ? { errlist: user.errlist } : {}), accounts: user.accounts.map((a) => view(a, q)) });
  }

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://fake');
    const call: SimpleFinCall = {
      method: req.method ?? 'GET', path: url.pathname, query: Object.fromEntries(url.searchParams), status: 0, app: null, username: usernameOf(req.headers.authorization), capped: false, at: now(),
    };
    calls.push(call);
    const writeHead = res.writeHead.bind(res);
    res.writeHead = ((status: number, ...rest: unknown[]) => { call.status = status; return (writeHead as (...a: unknown[]) => http.ServerResponse)(status, ...rest); }) as typeof res.writeHead;
    req.resume();
    req.on('end', () => {
      const claim = /^\/simplefin\/claim\/([^/]+)$/.exec(url.pathname);
      if (claim && req.method === 'POST') {
        const app = world.claim(decodeURIComponent(claim[1]!));
        return app ? send(res, 200, accessUrlOf(app)) : send(res, 403, 'Forbidden');
      }
      if (url.pathname === '/simplefin/accounts' && req.method === 'GET') return accounts(req, url, call, res);
      if (url.pathname === '/simplefin/info' && req.method === 'GET') return send(res, 200, { versions: ['1.0'] });
      send(res, 404, 'Not Found');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  base = `http://127.0.0.1:${port}/simplefin`;

  /** The app an access URL names (revoked or not). */
  function appOf(accessUrl: string): FakeApp {
    const u = new URL(accessUrl);
    const app = world.apps.find((a) => a.username === decodeURIComponent(u.username) && a.password === decodeURIComponent(u.password));
    if (!app) throw new Error('no app with that access URL');
    return app;
  }

  function accessUrlOf(app: FakeApp): string {
    return `http://${app.username}:${app.password}@127.0.0.1:${port}/simplefin`;
  }

  return {
    url: base,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
    setupToken(o = {}) {
      const user = world.user(o.user).id;
      const claimUrl = `${base}/claim/${world.newClaimCode(user)}`;
      return { token: Buffer.from(claimUrl).toString('base64'), user, claimUrl };
    },
    user: (id) => world.user(id),
    accessUrlOf,
    apps: world.apps,
    calls,
    callsTo: (path) => calls.filter((c) => c.path === `/simplefin${path}`),
    addTransaction(accountId, tx) {
      world.account(accountId).transactions.push(tx);
    },
    postPending(accountId, txId, o = {}) {
      const t = world.account(accountId).transactions.find((x) => x.id === txId);
      if (!t) throw new Error(`no transaction ${txId} in ${accountId}`);
      t.pending = false;
      t.posted = o.postedAt ?? nowSecOf(now);
      if (o.amount) t.amount = o.amount;
    },
    setBalance(accountId, balance, available) {
      const a = world.account(accountId);
      a.balance = balance;
      if (available === undefined) delete a['available-balance'];
      else a['available-balance'] = available;
      a['balance-date'] = nowSecOf(now);
    },
    setErrors(user, errors) {
      world.user(user).errors = [...errors];
    },
    setErrlist(user, errlist) {
      world.user(user).errlist = errlist;
    },
    setPaymentRequired(user, required) {
      world.user(user).paymentRequired = required;
    },
    revoke(accessUrl) {
      appOf(accessUrl).revoked = true;
    },
    setQuota(q) {
      if (q?.accessUrl) appOf(q.accessUrl);
      quota = q;
    },
    failNext(status, times = 1, o = {}) {
      failures = { status, left: times, app: o.accessUrl ? appOf(o.accessUrl).username : null };
    },
  };
}
