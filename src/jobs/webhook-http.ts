/**
 * One webhook POST, safely: http(s) only, redirects not followed, a hard time limit, at most the
 * first 1 KB of the answer kept, and the address checked where it is connected to. The check runs
 * inside the socket's own DNS lookup, so the address that passed is the address used (a name that
 * resolves to a public address when the endpoint is saved and to 127.0.0.1 later is still refused).
 * Private, loopback, link-local and other special ranges are refused unless the operator allows
 * them (CAUSEWAY_ALLOW_PRIVATE_WEBHOOKS=true, for self-hosted set-ups and tests).
 */
import dns from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';

/** Addresses a webhook may not reach unless allowed: RFC 6890 special-purpose ranges, both families. */
const BLOCKED = new net.BlockList();
for (const [addr, prefix] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['198.51.100.0', 24], ['203.0.113.0', 24],
  ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) BLOCKED.addSubnet(addr, prefix, 'ipv4');
for (const [addr, prefix] of [
  ['::', 96], ['::1', 128], ['::ffff:0:0:0', 96], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8],
  ['64:ff9b::', 96], ['64:ff9b:1::', 48], ['2001:db8::', 32], ['100::', 64],
] as const) BLOCKED.addSubnet(addr, prefix, 'ipv6');

/** Whether an IP address (either family; IPv4-mapped IPv6 as its IPv4) is in a refused range. */
export function isBlockedAddress(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return BLOCKED.check(mapped[1]!, 'ipv4');
  const family = net.isIP(address);
  if (family === 0) return true;
  return BLOCKED.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

export class BlockedAddressError extends Error {
  constructor(readonly address: string) {
    super(`the endpoint resolves to ${address}, a private, loopback or reserved address (allow with CAUSEWAY_ALLOW_PRIVATE_WEBHOOKS=true)`);
    this.name = 'BlockedAddressError';
  }
}

/** dns.lookup with the check: every address the name resolves to must be allowed. */
function checkedLookup(allowPrivate: boolean): net.LookupFunction {
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

export interface SendResult {
  statusCode: number | null;
  durationMs: number;
  /** Why it failed when no status says so (timeout, refused, blocked address, redirect). */
  error: string | null;
  /** The first 1 KB of the body. */
  body: string | null;
  retryAfterSeconds: number | null;
}

const BODY_KEEP = 1024;
// No socket cap per host: the worker bounds how many attempts run at once, and a capped pool would
// make endpoints that share a host wait behind a slow one (the wait would count against their time).
const agents = { http: new http.Agent({ keepAlive: true }), https: new https.Agent({ keepAlive: true }) };

function parseRetryAfter(value: string | string[] | undefined, nowMs: number): number | null {
  if (typeof value !== 'string') return null;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - nowMs) / 1000));
}

export function sendWebhook(
  url: string, headers: Record<string, string>, payload: string, opts: { timeoutMs: number; allowPrivate: boolean },
): Promise<SendResult> {
  const started = Date.now();
  const done = (r: Partial<SendResult>): SendResult => ({
    statusCode: null, error: null, body: null, retryAfterSeconds: null, ...r, durationMs: Date.now() - started,
  });
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    return Promise.resolve(done({ error: 'the endpoint URL is not valid' }));
  }
  if (target.protocol !== 'http:' && target.protocol !== 'https:') return Promise.resolve(done({ error: 'only http and https endpoints are called' }));
  const host = target.hostname.replace(/^\[|\]$/g, '');
  // An address in the URL itself is never looked up, so it is checked here.
  if (!opts.allowPrivate && net.isIP(host) !== 0 && isBlockedAddress(host)) return Promise.resolve(done({ error: new BlockedAddressError(host).message }));
  const lib = target.protocol === 'https:' ? https : http;
  return new Promise((resolve) => {
    let settled = false;
    const finish = (r: Partial<SendResult>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(done(r));
    };
    const req = lib.request(target, {
      method: 'POST',
      agent: target.protocol === 'https:' ? agents.https : agents.http,
      lookup: checkedLookup(opts.allowPrivate),
      headers: { ...headers, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)), 'user-agent': 'Causeway-Webhooks/1' },
    }, (res) => {
      const chunks: Buffer[] = [];
      let kept = 0;
      res.on('data', (chunk: Buffer) => {
        if (kept < BODY_KEEP) { chunks.push(chunk); kept += chunk.length; }
      });
      res.on('end', () => {
        const status = res.statusCode ?? null;
        const redirect = status !== null && status >= 300 && status < 400;
        finish({
          // PostgreSQL text cannot hold NUL: a binary answer is kept without it.
          statusCode: status, body: Buffer.concat(chunks).subarray(0, BODY_KEEP).toString('utf8').replace(/\u0000/g, ''),
          retryAfterSeconds: parseRetryAfter(res.headers['retry-after'], Date.now()),
          error: redirect ? `redirect to ${res.headers.location ?? '(no location)'} not followed` : null,
        });
      });
      res.on('error', (err) => finish({ statusCode: res.statusCode ?? null, error: err.message }));
    });
    const timer = setTimeout(() => {
      req.destroy(new Error(`no answer within ${Math.round(opts.timeoutMs / 1000)} s`));
    }, opts.timeoutMs);
    req.on('error', (err) => finish({ error: err instanceof BlockedAddressError ? err.message : err.message || String(err) }));
    req.end(payload);
  });
}
