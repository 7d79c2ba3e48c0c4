/**
 * Requests to addresses that users supply (webhook endpoints, SimpleFIN claim and access URLs),
 * made safely: http(s) only, redirects never followed (a 3xx comes back as the answer), a hard time
 * limit, a cap on the answer's size, and the address checked where it is connected to. The check
 * runs inside the socket's own DNS lookup, so the address that passed is the address used: a name
 * that resolves to a public address when it is saved and to 127.0.0.1 later (DNS rebinding) is
 * still refused. An address written in the URL is never looked up, so it is checked before the
 * request. Private, loopback, link-local and other special ranges are refused unless the operator
 * allows them (CAUSEWAY_ALLOW_PRIVATE_ADDRESSES=true, for self-hosted set-ups and tests).
 *
 *   guardedRequest(url, opts) ─► URL checks ─► literal IP checked ─► socket lookup: checkedLookup ─► answer ≤ cap
 */
import dns from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';

/** The operator's switch (config.ts): it covers every user-supplied address. */
export const ALLOW_PRIVATE_SWITCH = 'CAUSEWAY_ALLOW_PRIVATE_ADDRESSES';

/**
 * Addresses a user-supplied URL may not reach unless allowed: the RFC 6890 special-purpose ranges
 * of both families, plus the IPv6 forms that carry an IPv4 address inside (NAT64, 6to4, Teredo),
 * which could otherwise reach a private IPv4 address through a translator.
 */
const BLOCKED = new net.BlockList();
for (const [addr, prefix] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.88.99.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['198.51.100.0', 24],
  ['203.0.113.0', 24], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) BLOCKED.addSubnet(addr, prefix, 'ipv4');
for (const [addr, prefix] of [
  ['::', 96], ['::1', 128], ['::ffff:0:0:0', 96], ['fc00::', 7], ['fe80::', 10], ['fec0::', 10], ['ff00::', 8],
  ['64:ff9b::', 96], ['64:ff9b:1::', 48], ['2001::', 32], ['2001:db8::', 32], ['2002::', 16], ['100::', 64],
] as const) BLOCKED.addSubnet(addr, prefix, 'ipv6');

/** Whether an IP address (either family; IPv4-mapped IPv6 as its IPv4) is in a refused range. Not an address at all: refused. */
export function isBlockedAddress(address: string): boolean {
  const bare = address.replace(/^\[|\]$/g, '');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(bare);
  if (mapped) return BLOCKED.check(mapped[1]!, 'ipv4');
  const family = net.isIP(bare);
  if (family === 0) return true;
  return BLOCKED.check(bare, family === 4 ? 'ipv4' : 'ipv6');
}

export class BlockedAddressError extends Error {
  constructor(readonly address: string) {
    super(`${address} is a private, loopback or reserved address; the operator can allow these with ${ALLOW_PRIVATE_SWITCH}=true`);
    this.name = 'BlockedAddressError';
  }
}

/** dns.lookup with the check: every address the name resolves to must be allowed, or the connection is refused. */
export function checkedLookup(allowPrivate: boolean): net.LookupFunction {
  return allowPrivate ? lookups.open : lookups.strict;
}

function makeLookup(allowPrivate: boolean): net.LookupFunction {
  return (hostname, options, callback) => {
    dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, '', 0);
      const list = addresses as dns.LookupAddress[];
      const bad = allowPrivate ? undefined : list.find((a) => isBlockedAddress(a.address));
      if (bad) return callback(new BlockedAddressError(bad.address) as NodeJS.ErrnoException, '', 0);
      if ((options as dns.LookupOptions).all) return (callback as unknown as (e: null, a: dns.LookupAddress[]) => void)(null, list);
      const first = list[0];
      if (!first) return callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), '', 0);
      callback(null, first.address, first.family);
    });
  };
}

const lookups = { strict: makeLookup(false), open: makeLookup(true) };

/** Why a guarded request got no answer. */
export type GuardFailure = 'invalid_url' | 'unsupported_scheme' | 'blocked_address' | 'timeout' | 'too_large' | 'network';

/** A request that got no (whole) answer. The message names no URL: paths and user info may hold secrets. */
export class GuardedRequestError extends Error {
  constructor(readonly kind: GuardFailure, message: string, readonly status: number | null = null) {
    super(message);
    this.name = 'GuardedRequestError';
  }
}

export interface GuardedRequestOptions {
  method: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  timeoutMs: number;
  /** Bytes of the answer kept. */
  maxBodyBytes: number;
  /** `error` (the default): a longer answer fails as too_large. `truncate`: the rest is read and dropped. */
  overflow?: 'error' | 'truncate';
  allowPrivate: boolean;
}

export interface GuardedResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** The answer was longer than maxBodyBytes (overflow: truncate). */
  truncated: boolean;
  retryAfterSeconds: number | null;
  durationMs: number;
}

/** Seconds a Retry-After header asks for (delta-seconds or an HTTP date), or null. */
export function parseRetryAfter(value: string | string[] | undefined, nowMs: number): number | null {
  if (typeof value !== 'string') return null;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - nowMs) / 1000));
}

// No socket cap per host: callers bound how many requests run at once, and a capped pool would make
// requests that share a host wait behind a slow one (the wait would count against their time). One
// pool per setting of the switch, so a socket opened while private addresses were allowed is never
// reused by a request that does not allow them.
const agents = {
  strict: { http: new http.Agent({ keepAlive: true }), https: new https.Agent({ keepAlive: true }) },
  open: { http: new http.Agent({ keepAlive: true }), https: new https.Agent({ keepAlive: true }) },
};

/** The URL's host as a socket takes it: an IPv6 address without its brackets. */
const bareHost = (target: URL) => target.hostname.replace(/^\[|\]$/g, '');

/** The URL, checked: absolute, http(s), no user info (credentials travel in headers), and a literal address allowed. */
export function checkTarget(url: string | URL, allowPrivate: boolean): URL {
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    throw new GuardedRequestError('invalid_url', 'the URL is not valid');
  }
  if (target.protocol !== 'http:' && target.protocol !== 'https:') throw new GuardedRequestError('unsupported_scheme', 'only http and https URLs are called');
  if (target.username || target.password) throw new GuardedRequestError('invalid_url', 'credentials must travel in a header, not in the URL');
  const host = bareHost(target);
  if (!allowPrivate && net.isIP(host) !== 0 && isBlockedAddress(host)) throw new GuardedRequestError('blocked_address', new BlockedAddressError(host).message);
  return target;
}

/** One request to a user-supplied URL. Resolves with any answer (a 3xx included, never followed); rejects with GuardedRequestError. */
export function guardedRequest(url: string | URL, opts: GuardedRequestOptions): Promise<GuardedResponse> {
  const started = Date.now();
  let target: URL;
  try {
    target = checkTarget(url, opts.allowPrivate);
  } catch (err) {
    return Promise.reject(err);
  }
  const secure = target.protocol === 'https:';
  const pool = opts.allowPrivate ? agents.open : agents.strict;
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.body !== undefined || opts.method === 'POST') headers['content-length'] = String(Buffer.byteLength(opts.body ?? ''));
  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (err: GuardedRequestError) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(err);
    };
    const req = (secure ? https : http).request({
      protocol: target.protocol, hostname: bareHost(target), port: target.port || undefined, path: target.pathname + target.search,
      method: opts.method, agent: secure ? pool.https : pool.http, lookup: checkedLookup(opts.allowPrivate), headers,
    }, (res) => {
      const chunks: Buffer[] = [];
      let kept = 0;
      let truncated = false;
      res.on('data', (chunk: Buffer) => {
        if (settled) return;
        if (kept + chunk.length <= opts.maxBodyBytes) {
          chunks.push(chunk);
          kept += chunk.length;
          return;
        }
        if (opts.overflow === 'truncate') {
          if (kept < opts.maxBodyBytes) chunks.push(chunk.subarray(0, opts.maxBodyBytes - kept));
          kept = opts.maxBodyBytes;
          truncated = true;
          return;
        }
        fail(new GuardedRequestError('too_large', `the answer is larger than ${opts.maxBodyBytes} bytes`, res.statusCode ?? null));
        res.destroy();
      });
      res.on('end', () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve({
          status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), truncated,
          retryAfterSeconds: parseRetryAfter(res.headers['retry-after'], Date.now()), durationMs: Date.now() - started,
        });
      });
      res.on('error', (err) => fail(asGuardError(err, res.statusCode ?? null)));
    });
    const timer = setTimeout(() => {
      req.destroy(new GuardedRequestError('timeout', `no answer within ${opts.timeoutMs >= 1000 ? `${Math.round(opts.timeoutMs / 1000)} s` : `${opts.timeoutMs} ms`}`));
    }, opts.timeoutMs);
    req.on('error', (err) => fail(asGuardError(err, null)));
    req.end(opts.body);
  });
}

function asGuardError(err: unknown, status: number | null): GuardedRequestError {
  if (err instanceof GuardedRequestError) return err;
  if (err instanceof BlockedAddressError) return new GuardedRequestError('blocked_address', err.message, status);
  return new GuardedRequestError('network', err instanceof Error && err.message ? err.message : String(err), status);
}
