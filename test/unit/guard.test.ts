/**
 * The shared guard for requests to user-supplied addresses (src/net/guard.ts), against a real
 * local server: refused ranges, a name resolving to loopback refused where the socket connects,
 * literal addresses refused before any connection, redirects not followed, the time limit, the size
 * cap, and the operator's switch with its earlier name.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadConfig } from '../../src/config.js';
import { checkedLookup, guardedRequest, GuardedRequestError, isBlockedAddress } from '../../src/net/guard.js';

let server: http.Server;
let port: number;
const seen: { method: string; path: string; auth: string | undefined; host?: string }[] = [];
const hanging: http.ServerResponse[] = [];

before(async () => {
  server = http.createServer((req, res) => {
    seen.push({ method: req.method ?? '', path: req.url ?? '', auth: req.headers.authorization, host: req.headers.host });
    req.resume();
    const path = (req.url ?? '').split('?')[0];
    if (path === '/ok') return res.writeHead(200, { 'retry-after': '30' }).end('fine');
    if (path === '/redirect') return res.writeHead(302, { location: '/ok' }).end();
    if (path === '/big') return res.writeHead(200).end('x'.repeat(5000));
    hanging.push(res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});
after(async () => {
  for (const h of hanging) h.destroy();
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

async function refused(p: Promise<unknown>): Promise<GuardedRequestError> {
  const err = await p.then(() => null, (e: unknown) => e);
  assert.ok(err instanceof GuardedRequestError, `refused, not ${String(err)}`);
  return err;
}

const base = { method: 'GET' as const, timeoutMs: 2000, maxBodyBytes: 1024 };

describe('refused address ranges', () => {
  it('knows the private, loopback, link-local, reserved and IPv4-carrying IPv6 ranges', () => {
    for (const a of [
      '127.0.0.1', '10.1.2.3', '172.16.0.1', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '192.88.99.1', '255.255.255.255',
      '::1', '::', 'fe80::1', 'fd00::1', 'fec0::1', '::ffff:127.0.0.1', '::ffff:10.0.0.1', '[::1]',
      '64:ff9b::a9fe:a9fe', '2002:a9fe:a9fe::', '2001:0:4136:e378::1', 'not an address',
    ]) assert.ok(isBlockedAddress(a), a);
    for (const a of ['8.8.8.8', '1.1.1.1', '172.32.0.1', '2606:4700:4700::1111', '2a00:1450:4001::1']) assert.ok(!isBlockedAddress(a), a);
  });

  it('the socket lookup refuses every answer in a refused range, and passes them when allowed', async () => {
    const lookup = (allow: boolean) => new Promise<{ err: Error | null; address: string }>((resolve) => {
      checkedLookup(allow)('localhost', { family: 4 }, (err, address) => resolve({ err, address: address as string }));
    });
    assert.match((await lookup(false)).err?.message ?? '', /127\.0\.0\.1 is a private, loopback or reserved address.*CAUSEWAY_ALLOW_PRIVATE_ADDRESSES=true/);
    assert.deepEqual(await lookup(true), { err: null, address: '127.0.0.1' });
  });
});

describe('guarded requests', () => {
  it('refuses a name that resolves to loopback at connect time, and a loopback address before connecting', async () => {
    const count = seen.length;
    const byName = await refused(guardedRequest(`http://localhost:${port}/ok`, { ...base, allowPrivate: false }));
    assert.equal(byName.kind, 'blocked_address');
    for (const host of ['127.0.0.1', '[::1]', '[::ffff:127.0.0.1]']) {
      assert.equal((await refused(guardedRequest(`http://${host}:${port}/ok`, { ...base, allowPrivate: false }))).kind, 'blocked_address', host);
    }
    assert.equal(seen.length, count, 'nothing reached the server');
    const allowed = await guardedRequest(`http://localhost:${port}/ok`, { ...base, allowPrivate: true });
    assert.deepEqual([allowed.status, allowed.body.toString(), allowed.retryAfterSeconds], [200, 'fine', 30]);
  });

  it('takes only absolute http(s) URLs without credentials in them', async () => {
    for (const [url, kind] of [['not a url', 'invalid_url'], ['ftp://example.com/x', 'unsupported_scheme'], ['file:///etc/passwd', 'unsupported_scheme'], [`http://u:p@127.0.0.1:${port}/ok`, 'invalid_url']] as const) {
      assert.equal((await refused(guardedRequest(url, { ...base, allowPrivate: true }))).kind, kind, url);
    }
  });

  it('answers a redirect as it is, without following it', async () => {
    const count = seen.length;
    const res = await guardedRequest(`http://127.0.0.1:${port}/redirect`, { ...base, allowPrivate: true });
    assert.deepEqual([res.status, res.headers.location, seen.length - count], [302, '/ok', 1]);
  });

  it('gives up after the time limit', async () => {
    const err = await refused(guardedRequest(`http://127.0.0.1:${port}/hang`, { ...base, timeoutMs: 200, allowPrivate: true }));
    assert.deepEqual([err.kind, err.message], ['timeout', 'no answer within 200 ms']);
  });

  it('caps the answer: too large fails, or is cut when asked to truncate', async () => {
    const err = await refused(guardedRequest(`http://127.0.0.1:${port}/big`, { ...base, allowPrivate: true }));
    assert.deepEqual([err.kind, err.status], ['too_large', 200]);
    const cut = await guardedRequest(`http://127.0.0.1:${port}/big`, { ...base, overflow: 'truncate', allowPrivate: true });
    assert.deepEqual([cut.body.length, cut.truncated], [1024, true]);
  });

  it('sends the headers and body it is given, with a Content-Length for a POST', async () => {
    await guardedRequest(`http://127.0.0.1:${port}/ok`, { ...base, method: 'POST', headers: { authorization: 'Basic eDp5' }, allowPrivate: true });
    assert.deepEqual(seen.at(-1), { method: 'POST', path: '/ok', auth: 'Basic eDp5', host: `127.0.0.1:${port}` });
  });

  it('asks for the path with its query (never the fragment), and reaches an IPv6 address written in the URL', async () => {
    await guardedRequest(`http://127.0.0.1:${port}/ok?a=1&b=%20#frag`, { ...base, allowPrivate: true });
    assert.deepEqual(seen.at(-1), { method: 'GET', path: '/ok?a=1&b=%20', auth: undefined, host: `127.0.0.1:${port}` });
    const v6 = http.createServer((req, res) => res.writeHead(200).end(`${req.url} ${req.headers.host}`));
    await new Promise<void>((r) => v6.listen(0, '::1', r));
    try {
      const v6port = (v6.address() as AddressInfo).port;
      const res = await guardedRequest(`http://[::1]:${v6port}/six?x=1`, { ...base, allowPrivate: true });
      assert.deepEqual([res.status, res.body.toString()], [200, `/six?x=1 [::1]:${v6port}`]);
    } finally {
      v6.closeAllConnections();
      await new Promise<void>((r) => v6.close(() => r()));
    }
  });
});

describe('the operator switch', () => {
  it('CAUSEWAY_ALLOW_PRIVATE_ADDRESSES, or its earlier name CAUSEWAY_ALLOW_PRIVATE_WEBHOOKS when it is unset', () => {
    assert.equal(loadConfig({}).allowPrivateAddresses, false);
    assert.equal(loadConfig({ CAUSEWAY_ALLOW_PRIVATE_ADDRESSES: 'true' }).allowPrivateAddresses, true);
    assert.equal(loadConfig({ CAUSEWAY_ALLOW_PRIVATE_WEBHOOKS: 'true' }).allowPrivateAddresses, true);
    assert.equal(loadConfig({ CAUSEWAY_ALLOW_PRIVATE_ADDRESSES: 'false', CAUSEWAY_ALLOW_PRIVATE_WEBHOOKS: 'true' }).allowPrivateAddresses, false, 'the new name wins');
  });
});
