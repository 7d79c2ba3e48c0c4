import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { createPlaidProvider } from '../../src/providers/plaid/index.js';
import { ProviderError, ProviderWebhookRefused, type ProviderSettings, type ProviderWebhookKind } from '../../src/providers/types.js';

const NOW = new Date('2026-05-01T12:00:00Z');
const NOW_S = Math.floor(NOW.getTime() / 1000);
const KID = 'key-1';
const ITEM = 'item_abc';

/** A stand-in for Plaid's /webhook_verification_key/get: the keys it knows, and the requests it saw. */
const plaidKeys = new Map<string, JWK & { expired_at: number | null }>();
const keyRequests: { kid: string; clientId: string | undefined; secret: string | undefined }[] = [];
let server: http.Server;
let settings: ProviderSettings;
let signingKey: CryptoKey;
let otherKey: CryptoKey;

before(async () => {
  const pair = await generateKeyPair('ES256');
  signingKey = pair.privateKey;
  otherKey = (await generateKeyPair('ES256')).privateKey;
  plaidKeys.set(KID, { ...(await exportJWK(pair.publicKey)), alg: 'ES256', kid: KID, use: 'sig', expired_at: null });
  server = http.createServer((req, res) => {
    let text = '';
    req.on('data', (c: Buffer) => { text += c.toString('utf8'); });
    req.on('end', () => {
      const body = JSON.parse(text || '{}') as { key_id?: string };
      if (req.url !== '/webhook_verification_key/get' || req.method !== 'POST') {
        res.writeHead(404).end();
        return;
      }
      keyRequests.push({ kid: body.key_id ?? '', clientId: req.headers['plaid-client-id'] as string, secret: req.headers['plaid-secret'] as string });
      const key = plaidKeys.get(body.key_id ?? '');
      res.setHeader('content-type', 'application/json');
      if (!key) {
        res.writeHead(400).end(JSON.stringify({
          error_type: 'INVALID_INPUT', error_code: 'INVALID_WEBHOOK_VERIFICATION_KEY_ID', error_message: 'invalid key_id', request_id: 'req_k',
        }));
        return;
      }
      res.writeHead(200).end(JSON.stringify({ key: { ...key, created_at: NOW_S - 86_400 }, request_id: 'req_k' }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  settings = { clientId: 'client_1', secret: 'secret_1', environment: 'sandbox', baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
});

after(() => new Promise<void>((resolve) => server.close(() => resolve())));

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

async function sign(body: string, opts: { key?: CryptoKey; kid?: string; iat?: number; hash?: string } = {}): Promise<string> {
  return new SignJWT({ request_body_sha256: opts.hash ?? sha256(body) })
    .setProtectedHeader({ alg: 'ES256', kid: opts.kid ?? KID, typ: 'JWT' })
    .setIssuedAt(opts.iat ?? NOW_S)
    .sign(opts.key ?? signingKey);
}

function webhook(fields: Record<string, unknown>): string {
  // Plaid's bodies are pretty-printed; the hash is over the exact bytes.
  return JSON.stringify({ item_id: ITEM, environment: 'sandbox', ...fields }, null, 2);
}

const provider = createPlaidProvider();

function parse(rawBody: string, jwt: string | undefined, opts: { headerName?: string; known?: boolean; now?: Date } = {}) {
  const headers: Record<string, string | undefined> = { 'content-type': 'application/json' };
  if (jwt !== undefined) headers[opts.headerName ?? 'plaid-verification'] = jwt;
  return provider.parseWebhook!({
    headers, rawBody, now: opts.now ?? NOW,
    settingsFor: async (itemId) => (opts.known === false || itemId !== ITEM ? null : settings),
  });
}

async function refused(promise: Promise<unknown>, why: RegExp): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof ProviderWebhookRefused, `expected a refusal, got ${String(err)}`);
    assert.match(err.message, why);
    return true;
  });
}

const base64url = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');

describe('Plaid webhook verification', () => {
  const body = webhook({ webhook_type: 'TRANSACTIONS', webhook_code: 'SYNC_UPDATES_AVAILABLE', initial_update_complete: true, historical_update_complete: false });

  it('accepts a webhook signed by Plaid\'s key, whatever the header\'s case', async () => {
    const jwt = await sign(body);
    for (const headerName of ['Plaid-Verification', 'plaid-verification', 'PLAID-VERIFICATION']) {
      const got = await parse(body, jwt, { headerName });
      assert.deepEqual(got, { itemId: ITEM, type: 'TRANSACTIONS:SYNC_UPDATES_AVAILABLE', meaning: { kind: 'sync_available' } });
    }
  });

  it('fetches the key with the application\'s keys, once per key', async () => {
    const before = keyRequests.length;
    await parse(body, await sign(body));
    await parse(body, await sign(body));
    assert.ok(keyRequests.length - before <= 1, 'the key is cached');
    assert.ok(keyRequests.length >= 1);
    assert.deepEqual(keyRequests[0], { kid: KID, clientId: 'client_1', secret: 'secret_1' });
  });

  it('refuses a token signed by another key under the same kid', async () => {
    await refused(parse(body, await sign(body, { key: otherKey })), /signature does not verify/);
  });

  it('refuses a token issued six minutes ago, or from the future', async () => {
    await refused(parse(body, await sign(body, { iat: NOW_S - 6 * 60 })), /issued 360 s ago/);
    await refused(parse(body, await sign(body, { iat: NOW_S + 10 * 60 })), /future/);
    // Just inside the window is fine.
    await parse(body, await sign(body, { iat: NOW_S - 4 * 60 }));
  });

  it('refuses a body changed after signing', async () => {
    const jwt = await sign(body);
    await refused(parse(body.replace('SYNC_UPDATES_AVAILABLE', 'DEFAULT_UPDATE'), jwt), /body does not match/);
    await refused(parse(`${body} `, jwt), /body does not match/);
  });

  it('refuses alg none and HS256', async () => {
    const none = `${base64url({ alg: 'none', kid: KID })}.${base64url({ iat: NOW_S, request_body_sha256: sha256(body) })}.`;
    await refused(parse(body, none), /"none", not ES256/);
    const hs = await new SignJWT({ request_body_sha256: sha256(body) })
      .setProtectedHeader({ alg: 'HS256', kid: KID }).setIssuedAt(NOW_S).sign(new TextEncoder().encode('a shared secret of thirty-two bytes!'));
    await refused(parse(body, hs), /"HS256", not ES256/);
  });

  it('refuses a missing or malformed header, an unknown key and an unknown item', async () => {
    await refused(parse(body, undefined), /no Plaid-Verification header/);
    await refused(parse(body, 'not a jwt'), /not a JWT/);
    await refused(parse(body, await sign(body, { kid: 'key-unknown' })), /no verification key "key-unknown"/);
    await refused(parse(body, await sign(body), { known: false }), /no connection holds item "item_abc"/);
    await refused(parse('{not json', await sign('{not json')), /not JSON/);
    const link = JSON.stringify({ webhook_type: 'LINK', webhook_code: 'SESSION_FINISHED', link_token: 'link-sandbox-1' });
    // Hosted Link's session events name no Item: answered as ignored (nothing acts on them), never verified.
    assert.deepEqual((await parse(link, await sign(link))).meaning.kind, 'ignored');
    const noItem = JSON.stringify({ webhook_type: 'TRANSACTIONS', webhook_code: 'SYNC_UPDATES_AVAILABLE' });
    await refused(parse(noItem, await sign(noItem)), /no item_id/);
  });

  it('refuses a token signed by a key Plaid has expired', async () => {
    const pair = await generateKeyPair('ES256');
    plaidKeys.set('key-old', { ...(await exportJWK(pair.publicKey)), alg: 'ES256', kid: 'key-old', use: 'sig', expired_at: NOW_S - 60 });
    await refused(parse(body, await sign(body, { key: pair.privateKey, kid: 'key-old' })), /key "key-old" has expired/);
  });

  it('answers a transient failure, not a refusal, when Plaid cannot be reached for the key', async () => {
    const unreachable = createPlaidProvider({ fetchTimeoutMs: 2_000 });
    await assert.rejects(unreachable.parseWebhook!({
      headers: { 'Plaid-Verification': await sign(body) }, rawBody: body, now: NOW,
      settingsFor: async () => ({ ...settings, baseUrl: 'http://127.0.0.1:9' }),
    }), (err: unknown) => err instanceof ProviderError && err.transient);
  });
});

describe('Plaid webhook meanings', () => {
  const CASES: [Record<string, unknown>, ProviderWebhookKind][] = [
    [{ webhook_type: 'TRANSACTIONS', webhook_code: 'SYNC_UPDATES_AVAILABLE' }, { kind: 'sync_available' }],
    [{ webhook_type: 'TRANSACTIONS', webhook_code: 'DEFAULT_UPDATE', new_transactions: 3 }, { kind: 'sync_available' }],
    [{ webhook_type: 'TRANSACTIONS', webhook_code: 'INITIAL_UPDATE' }, { kind: 'sync_available' }],
    [{ webhook_type: 'TRANSACTIONS', webhook_code: 'HISTORICAL_UPDATE' }, { kind: 'sync_available' }],
    [{ webhook_type: 'TRANSACTIONS', webhook_code: 'RECURRING_TRANSACTIONS_UPDATE' }, { kind: 'ignored', why: 'TRANSACTIONS:RECURRING_TRANSACTIONS_UPDATE needs nothing from Causeway' }],
    [
      { webhook_type: 'ITEM', webhook_code: 'ERROR', error: { error_type: 'ITEM_ERROR', error_code: 'ITEM_LOGIN_REQUIRED', error_message: 'the login details of this item have changed' } },
      { kind: 'login_required', code: 'invalid_credentials', providerCode: 'ITEM_LOGIN_REQUIRED', message: 'Sign in to your bank again: your login details or security settings have changed.' },
    ],
    [
      { webhook_type: 'ITEM', webhook_code: 'ERROR', error: { error_type: 'ITEM_ERROR', error_code: 'ITEM_LOGIN_REQUIRED', error_code_reason: 'OAUTH_CONSENT_EXPIRED' } },
      { kind: 'login_required', code: 'consent_expired', providerCode: 'ITEM_LOGIN_REQUIRED', message: 'Your permission to share this bank\'s data has ended. Connect again to renew it.' },
    ],
    [
      { webhook_type: 'ITEM', webhook_code: 'ERROR', error: { error_type: 'ITEM_ERROR', error_code: 'ITEM_LOCKED' } },
      { kind: 'login_required', code: 'account_locked', providerCode: 'ITEM_LOCKED', message: 'Your bank has locked your online account. Unlock it on your bank\'s website, then connect again.' },
    ],
    [
      { webhook_type: 'ITEM', webhook_code: 'ERROR', error: { error_type: 'INSTITUTION_ERROR', error_code: 'INSTITUTION_DOWN' } },
      { kind: 'ignored', why: 'ITEM:ERROR INSTITUTION_DOWN is not for the user to fix; the next sync meets it' },
    ],
    [{ webhook_type: 'ITEM', webhook_code: 'ERROR', error: null }, { kind: 'ignored', why: 'ITEM:ERROR without an error' }],
    [{ webhook_type: 'ITEM', webhook_code: 'LOGIN_REPAIRED' }, { kind: 'repaired' }],
    [
      { webhook_type: 'ITEM', webhook_code: 'PENDING_EXPIRATION', consent_expiration_time: '2026-05-08T12:00:00Z' },
      { kind: 'expiring', expiresAt: new Date('2026-05-08T12:00:00Z') },
    ],
    [
      { webhook_type: 'ITEM', webhook_code: 'PENDING_DISCONNECT', reason: 'INSTITUTION_TOKEN_EXPIRATION', disconnect_time: '2026-05-08T00:00:00Z' },
      { kind: 'expiring', expiresAt: new Date('2026-05-08T00:00:00Z') },
    ],
    [{ webhook_type: 'ITEM', webhook_code: 'PENDING_DISCONNECT', reason: 'INSTITUTION_MIGRATION' }, { kind: 'expiring', expiresAt: null }],
    [{ webhook_type: 'ITEM', webhook_code: 'USER_PERMISSION_REVOKED', error: { error_code: 'USER_PERMISSION_REVOKED' } }, { kind: 'revoked' }],
    [{ webhook_type: 'ITEM', webhook_code: 'USER_ACCOUNT_REVOKED', account_id: 'acc_1' }, { kind: 'revoked' }],
    [{ webhook_type: 'ITEM', webhook_code: 'NEW_ACCOUNTS_AVAILABLE' }, { kind: 'new_accounts' }],
    [{ webhook_type: 'ITEM', webhook_code: 'WEBHOOK_UPDATE_ACKNOWLEDGED', new_webhook_url: 'https://x' }, { kind: 'ignored', why: 'ITEM:WEBHOOK_UPDATE_ACKNOWLEDGED needs nothing from Causeway' }],
    [{ webhook_type: 'HOLDINGS', webhook_code: 'DEFAULT_UPDATE' }, { kind: 'ignored', why: 'HOLDINGS:DEFAULT_UPDATE needs nothing from Causeway' }],
  ];

  for (const [fields, meaning] of CASES) {
    it(`${String(fields.webhook_type)}:${String(fields.webhook_code)}${fields.error ? ` (${String((fields.error as { error_code?: string }).error_code)})` : ''} means ${meaning.kind}`, async () => {
      const body = webhook(fields);
      const got = await parse(body, await sign(body));
      assert.deepEqual(got, { itemId: ITEM, type: `${String(fields.webhook_type)}:${String(fields.webhook_code)}`, meaning });
    });
  }
});
