/**
 * Checks the Plaid fake (test/fakes/plaid) against Plaid's own OpenAPI spec.
 *
 *   node --import tsx scripts/check-plaid-fake-spec.ts [path-to-spec]
 *   (default ../shared/specs/plaid-2020-09-14.yml; the spec is Plaid's work and stays outside the repo)
 *
 * Drives a full flow against the fake with the official `plaid` client, then validates every
 * request and response body the fake saw against the operation's schemas (openapi-backend,
 * quick mode), every webhook body against Plaid's webhook schema, and reports fields the fake
 * sends that the schema does not declare (the schemas allow extra fields, so Ajv alone would not
 * catch a misspelt one). It also compares the fake's accepted request fields with the spec's.
 * Exits non-zero on any violation. Not part of `npm test`.
 */
import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { OpenAPIBackend } from 'openapi-backend';
import { decodeProtectedHeader, importJWK, jwtVerify } from 'jose';
import { Configuration, CountryCode, PlaidApi, Products, type SandboxItemFireWebhookRequestWebhookCodeEnum } from 'plaid';
import { sha256Hex, startPlaidFake, type RequestLogEntry } from '../test/fakes/plaid/index.js';
import { ROUTES } from '../test/fakes/plaid/routes.js';
import { SHAPES } from '../test/fakes/plaid/validate.js';

type Json = Record<string, any>;

const specPath = path.resolve(process.cwd(), process.argv[2] ?? '../shared/specs/plaid-2020-09-14.yml');
const EXPECT_INVALID = 'x-check-expect-invalid';

/** Plaid's spec trips Ajv in a few places (providers.md §2): boolean exclusiveMinimum (an OpenAPI 3.0 form Ajv 8 rejects) and `nullable` without a `type`. */
function normalise(node: unknown): void {
  if (Array.isArray(node)) { node.forEach(normalise); return; }
  if (!node || typeof node !== 'object') return;
  const o = node as Json;
  for (const k of ['exclusiveMinimum', 'exclusiveMaximum']) if (typeof o[k] === 'boolean') delete o[k];
  if ('nullable' in o && !('type' in o)) delete o.nullable;
  Object.values(o).forEach(normalise);
}

const WEBHOOK_SCHEMAS: Record<string, string> = {
  'TRANSACTIONS/SYNC_UPDATES_AVAILABLE': 'SyncUpdatesAvailableWebhook',
  'ITEM/ERROR': 'ItemErrorWebhook',
  'ITEM/PENDING_EXPIRATION': 'PendingExpirationWebhook',
  'ITEM/PENDING_DISCONNECT': 'PendingDisconnectWebhook',
  'ITEM/USER_PERMISSION_REVOKED': 'UserPermissionRevokedWebhook',
  'ITEM/USER_ACCOUNT_REVOKED': 'UserAccountRevokedWebhook',
  'ITEM/LOGIN_REPAIRED': 'ItemLoginRepairedWebhook',
  'ITEM/NEW_ACCOUNTS_AVAILABLE': 'NewAccountsAvailableWebhook',
  'ITEM/WEBHOOK_UPDATE_ACKNOWLEDGED': 'WebhookUpdateAcknowledgedWebhook',
  'LINK/ITEM_ADD_RESULT': 'ItemAddResultWebhook',
  'LINK/SESSION_FINISHED': 'LinkSessionFinishedWebhook',
};

const isoFormat = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

async function loadApi() {
  const raw = await new OpenAPIBackend({ definition: specPath }).loadDocument() as Json;
  normalise(raw);
  for (const name of Object.values(WEBHOOK_SCHEMAS)) {
    raw.paths[`/__webhook/${name}`] = { post: { operationId: `webhook_${name}`, requestBody: { required: true, content: { 'application/json': { schema: { $ref: `#/components/schemas/${name}` } } } }, responses: { 200: { description: 'ok' } } } };
  }
  const api = new OpenAPIBackend({
    definition: raw as any, quick: true, validate: true,
    customizeAjv: (ajv) => {
      ajv.addFormat('date-time', isoFormat);
      ajv.addFormat('date', /^\d{4}-\d{2}-\d{2}$/);
      for (const f of ['url', 'uri']) ajv.addFormat(f, (s: string) => { try { new URL(s); return true; } catch { return false; } });
      for (const f of ['double', 'float']) ajv.addFormat(f, { type: 'number', validate: () => true });
      for (const f of ['binary', 'uuid', 'email', 'cognito_id', 'uri-reference']) ajv.addFormat(f, true);
      return ajv;
    },
  });
  await api.init();
  return { api, raw };
}

/** Merged view of a (dereferenced) schema: allOf flattened; oneOf/anyOf left alone (null). */
function objectShape(schema: Json | undefined): { props: Json } | null {
  if (!schema || schema.oneOf || schema.anyOf) return null;
  const props: Json = { ...(schema.properties ?? {}) };
  for (const part of schema.allOf ?? []) {
    const m = objectShape(part);
    if (!m) return null;
    Object.assign(props, m.props);
  }
  return Object.keys(props).length ? { props } : null;
}

/** Fields present in `value` that its schema does not declare. */
function undeclared(value: unknown, schema: Json | undefined, at: string, out: Set<string>): void {
  if (!schema || value === null || typeof value !== 'object') return;
  if (Array.isArray(value)) {
    value.forEach((v) => undeclared(v, schema.items, `${at}[]`, out));
    return;
  }
  const shape = objectShape(schema);
  if (!shape) return;
  for (const [k, v] of Object.entries(value)) {
    if (!(k in shape.props)) out.add(`${at}/${k}`);
    else undeclared(v, shape.props[k], `${at}/${k}`, out);
  }
}

async function receiver() {
  const got: Array<{ headers: http.IncomingHttpHeaders; body: string }> = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => { got.push({ headers: req.headers, body }); res.writeHead(200).end('ok'); });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/plaid`, got, close: () => new Promise((r) => server.close(r)) };
}

async function drive(fakeUrl: string, fake: Awaited<ReturnType<typeof startPlaidFake>>, hookUrl: string): Promise<void> {
  const plaid = new PlaidApi(new Configuration({ basePath: fakeUrl, baseOptions: { headers: { 'PLAID-CLIENT-ID': fake.clientId, 'PLAID-SECRET': fake.secret } } }));
  const expectError = async (p: Promise<unknown>, code: string) => {
    try { await p; } catch (e: any) {
      if (e.response?.data?.error_code !== code) throw new Error(`expected ${code}, got ${JSON.stringify(e.response?.data ?? String(e))}`);
      return;
    }
    throw new Error(`expected ${code}, got success`);
  };
  const raw = (p: string, body: Json) => fetch(`${fakeUrl}${p}`, { method: 'POST', headers: { 'content-type': 'application/json', 'plaid-client-id': fake.clientId, 'plaid-secret': fake.secret, [EXPECT_INVALID]: '1' }, body: JSON.stringify(body) });
  const completeHosted = async (url: string, fields: Record<string, string>) => {
    await fetch(url);
    const r = await fetch(url, { method: 'POST', body: new URLSearchParams(fields), redirect: 'manual' });
    if (r.status !== 303) throw new Error(`hosted link answered ${r.status}`);
  };

  // Link with Hosted Link, at the institution with a JPY account.
  const lt = await plaid.linkTokenCreate({ user: { client_user_id: 'check-user' }, client_name: 'Causeway', products: [Products.Transactions], country_codes: [CountryCode.Us], language: 'en', webhook: hookUrl, hosted_link: { completion_redirect_uri: 'https://app.example/done?conn=1' } });
  await completeHosted(lt.data.hosted_link_url!, { action: 'success', institution_id: 'ins_109512' });
  const got = await plaid.linkTokenGet({ link_token: lt.data.link_token });
  const publicToken = got.data.link_sessions![0]!.results!.item_add_results[0]!.public_token;
  const ex = await plaid.itemPublicTokenExchange({ public_token: publicToken });
  await expectError(plaid.itemPublicTokenExchange({ public_token: publicToken }), 'INVALID_PUBLIC_TOKEN');
  const access = ex.data.access_token;
  await plaid.itemGet({ access_token: access });
  await plaid.accountsGet({ access_token: access });
  await plaid.accountsBalanceGet({ access_token: access });
  await plaid.identityGet({ access_token: access });

  // Sync in pages of 50, then a pending transaction posts.
  let cursor: string | undefined;
  for (let more = true; more;) {
    const r = await plaid.transactionsSync({ access_token: access, count: 50, ...(cursor ? { cursor } : {}) });
    cursor = r.data.next_cursor;
    more = r.data.has_more;
  }
  fake.postPending(ex.data.item_id);
  await plaid.transactionsSync({ access_token: access, cursor: cursor!, options: { include_original_description: true } });
  await plaid.transactionsSync({ access_token: access, cursor: 'now' });

  // Institutions.
  await plaid.institutionsGet({ count: 500, offset: 0, country_codes: [CountryCode.Us, CountryCode.Gb], options: { include_optional_metadata: true } });
  await plaid.institutionsGet({ count: 10, offset: 500, country_codes: [CountryCode.Ca], options: { products: [Products.Identity], oauth: false } });
  await plaid.institutionsGetById({ institution_id: 'ins_109508', country_codes: [CountryCode.Us], options: { include_optional_metadata: true, include_status: true } });
  await expectError(plaid.institutionsGetById({ institution_id: 'ins_nope', country_codes: [CountryCode.Us] }), 'INVALID_INSTITUTION');

  // Sandbox: a UK Item with a webhook; every webhook code the sandbox can fire.
  const pt = await plaid.sandboxPublicTokenCreate({ institution_id: 'ins_117650', initial_products: [Products.Transactions], options: { webhook: hookUrl } });
  const uk = await plaid.itemPublicTokenExchange({ public_token: pt.data.public_token });
  for (const code of ['SYNC_UPDATES_AVAILABLE', 'NEW_ACCOUNTS_AVAILABLE', 'LOGIN_REPAIRED', 'PENDING_DISCONNECT', 'USER_PERMISSION_REVOKED', 'USER_ACCOUNT_REVOKED', 'ERROR']) {
    await plaid.sandboxItemFireWebhook({ access_token: uk.data.access_token, webhook_code: code as SandboxItemFireWebhookRequestWebhookCodeEnum });
  }
  await fake.fireWebhook(uk.data.item_id, { webhook_code: 'PENDING_EXPIRATION' });
  await plaid.sandboxItemResetLogin({ access_token: uk.data.access_token });
  await expectError(plaid.accountsGet({ access_token: uk.data.access_token }), 'ITEM_LOGIN_REQUIRED');
  await plaid.itemGet({ access_token: uk.data.access_token });
  const upd = await plaid.linkTokenCreate({ user: { client_user_id: 'check-user' }, client_name: 'Causeway', access_token: uk.data.access_token, country_codes: [CountryCode.Gb], language: 'en', webhook: hookUrl, hosted_link: { completion_redirect_uri: 'https://app.example/done' }, update: { account_selection_enabled: true } });
  await completeHosted(upd.data.hosted_link_url!, { action: 'success' });
  await plaid.linkTokenGet({ link_token: upd.data.link_token });
  await plaid.accountsGet({ access_token: uk.data.access_token });

  // A Link session that ends in an institution error, and one the user leaves.
  const bad = await plaid.linkTokenCreate({ user: { client_user_id: 'check-user' }, client_name: 'Causeway', products: [Products.Transactions], country_codes: [CountryCode.Us], language: 'en', institution_id: 'ins_109508', webhook: hookUrl, hosted_link: {} });
  await fetch(bad.data.hosted_link_url!, { method: 'POST', body: new URLSearchParams({ action: 'error' }) });
  await plaid.linkTokenGet({ link_token: bad.data.link_token });
  const left = await plaid.linkTokenCreate({ user: { client_user_id: 'check-user' }, client_name: 'Causeway', products: [Products.Transactions], country_codes: [CountryCode.Us], language: 'en', hosted_link: {} });
  await fetch(left.data.hosted_link_url!, { method: 'POST', body: new URLSearchParams({ action: 'exit' }) });
  await plaid.linkTokenGet({ link_token: left.data.link_token });

  // Injected failures.
  fake.injectError('/transactions/sync', { error_type: 'TRANSACTIONS_ERROR', error_code: 'TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION' });
  await expectError(plaid.transactionsSync({ access_token: access }), 'TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION');
  fake.injectError('/transactions/sync', { error_type: 'RATE_LIMIT_EXCEEDED', error_code: 'RATE_LIMIT_EXCEEDED', http: 429 });
  await expectError(plaid.transactionsSync({ access_token: access }), 'RATE_LIMIT_EXCEEDED');
  fake.injectError('/accounts/get', { error_type: 'INSTITUTION_ERROR', error_code: 'INSTITUTION_DOWN' });
  await expectError(plaid.accountsGet({ access_token: access }), 'INSTITUTION_DOWN');
  fake.injectError('/item/get', { error_type: 'API_ERROR', error_code: 'INTERNAL_SERVER_ERROR', http: 500 });
  await expectError(plaid.itemGet({ access_token: access }), 'INTERNAL_SERVER_ERROR');
  fake.injectError('/transactions/sync', { error_type: 'ITEM_ERROR', error_code: 'PRODUCT_NOT_READY' });
  await expectError(plaid.transactionsSync({ access_token: access }), 'PRODUCT_NOT_READY');

  // Webhook key, webhook update, removal, malformed requests.
  await fake.flushWebhooks();
  const kid = decodeProtectedHeader(fake.webhooks[0]!.jwt).kid!;
  await plaid.webhookVerificationKeyGet({ key_id: kid });
  await expectError(plaid.webhookVerificationKeyGet({ key_id: 'no-such-kid' }), 'INVALID_WEBHOOK_VERIFICATION_KEY_ID');
  await plaid.itemWebhookUpdate({ access_token: access, webhook: `${hookUrl}?v=2` });
  await expectError(plaid.accountsGet({ access_token: 'access-sandbox-00000000-0000-4000-a000-000000000000' }), 'INVALID_ACCESS_TOKEN');
  await raw('/accounts/get', {});
  await raw('/transactions/sync', { access_token: access, count: 501 });
  await raw('/institutions/get', { count: 10, offset: 0 });
  await plaid.itemRemove({ access_token: access });
  await expectError(plaid.itemGet({ access_token: access }), 'ITEM_NOT_FOUND');
  await fake.flushWebhooks();
}

async function main() {
  const t0 = Date.now();
  const { api, raw } = await loadApi();
  const fake = await startPlaidFake({ seed: 'spec-check' });
  const hook = await receiver();
  const problems: string[] = [];
  const perOp = new Map<string, { requests: number; violations: string[] }>();
  const note = (op: string, violation?: string) => {
    const e = perOp.get(op) ?? { requests: 0, violations: [] };
    if (violation === undefined) e.requests += 1;
    else if (!e.violations.includes(violation)) e.violations.push(violation);
    perOp.set(op, e);
  };
  try {
    await drive(fake.url, fake, hook.url);
  } catch (err) {
    problems.push(`flow failed: ${(err as Error).stack}`);
  }

  const opByPath = new Map<string, string>();
  for (const [p, item] of Object.entries(raw.paths as Json)) if (item.post?.operationId) opByPath.set(p, item.post.operationId);
  const fmt = (errors: any[] | null | undefined) => (errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}${e.params?.additionalProperty ? ` (${e.params.additionalProperty})` : ''}`);

  for (const entry of fake.requests as RequestLogEntry[]) {
    if (entry.path.startsWith('/hl/')) continue;
    const op = opByPath.get(entry.path);
    if (!op) { problems.push(`${entry.path}: not in the spec`); continue; }
    note(op);
    const expectInvalid = entry.headers[EXPECT_INVALID] === '1';
    const req = api.validateRequest({ method: 'POST', path: entry.path, body: entry.body, headers: { 'content-type': 'application/json', ...entry.headers } as any }, op);
    if (expectInvalid) {
      if (req.valid) note(op, `request ${JSON.stringify(entry.body)} was meant to be invalid but the spec accepts it`);
      if (entry.status !== 400 || (entry.response as Json)?.error_type !== 'INVALID_REQUEST') note(op, `the fake answered ${entry.status} ${JSON.stringify(entry.response)} to an invalid request`);
    } else {
      for (const v of fmt(req.errors)) note(op, `request ${v}`);
    }
    const status = entry.status ?? 0;
    const validators = (api.validator as any).getStatusBasedResponseValidatorForOperation(op) as Json | undefined;
    if (!validators?.[status] && !validators?.[`${Math.floor(status / 100)}XX`] && !validators?.default) note(op, `no response schema for ${status}`);
    const res = api.validateResponse(entry.response, op, status);
    for (const v of fmt(res.errors)) note(op, `response ${status} ${v}`);
    const schema = status === 200
      ? (api.definition.paths as Json)[entry.path].post.responses['200'].content['application/json'].schema
      : (api.definition.paths as Json)[entry.path].post.responses.default.content['application/json'].schema;
    const extra = new Set<string>();
    undeclared(entry.response, schema, '', extra);
    for (const f of extra) note(op, `response ${status} has a field the schema does not declare: ${f}`);
  }

  // Webhooks: schema, undeclared fields, signature and body hash.
  const key = new Map<string, Json>();
  for (const d of fake.webhooks) {
    const p = d.payload as Json;
    const name = WEBHOOK_SCHEMAS[`${p.webhook_type}/${p.webhook_code}`];
    const op = `webhook ${p.webhook_type}/${p.webhook_code}`;
    note(op);
    if (!name) { note(op, 'no schema mapped'); continue; }
    const v = api.validateRequest({ method: 'POST', path: `/__webhook/${name}`, body: p, headers: { 'content-type': 'application/json' } }, `webhook_${name}`);
    for (const m of fmt(v.errors)) note(op, m);
    const extra = new Set<string>();
    undeclared(p, (api.definition.paths as Json)[`/__webhook/${name}`].post.requestBody.content['application/json'].schema, '', extra);
    for (const f of extra) note(op, `field the schema does not declare: ${f}`);
    const { kid } = decodeProtectedHeader(d.jwt);
    if (!key.has(kid!)) {
      const res = await fetch(`${fake.url}/webhook_verification_key/get`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ client_id: fake.clientId, secret: fake.secret, key_id: kid }) });
      key.set(kid!, ((await res.json()) as Json).key);
    }
    try {
      const { payload } = await jwtVerify(d.jwt, await importJWK(key.get(kid!)!, 'ES256'), { algorithms: ['ES256'] });
      if (payload.request_body_sha256 !== sha256Hex(d.body)) note(op, 'request_body_sha256 does not match the body');
    } catch (err) {
      note(op, `signature does not verify: ${(err as Error).message}`);
    }
    if (d.status !== 200) note(op, `receiver answered ${d.status}`);
  }
  const received = hook.got.length;

  // The fake's accepted request fields against the spec's request schemas.
  for (const [p, shape] of Object.entries(SHAPES)) {
    const op = opByPath.get(p);
    if (!op) { problems.push(`${p}: the fake accepts it but the spec has no such POST`); continue; }
    const schema = (api.definition.paths as Json)[p].post.requestBody.content['application/json'].schema;
    const specFields = Object.keys(objectShape(schema)?.props ?? {});
    const ours = Object.keys(shape.fields);
    const missing = specFields.filter((f) => !ours.includes(f));
    const unknown = ours.filter((f) => !specFields.includes(f));
    const required = (schema.required ?? []) as string[];
    if (missing.length) note(op, `fake would reject spec fields as UNKNOWN_FIELDS: ${missing.join(', ')}`);
    if (unknown.length) note(op, `fake accepts fields the spec does not have: ${unknown.join(', ')}`);
    if (required.sort().join() !== [...shape.required].sort().join()) note(op, `required fields differ: spec [${required.join(', ')}], fake [${shape.required.join(', ')}]`);
  }
  for (const p of Object.keys(ROUTES)) if (!SHAPES[p]) problems.push(`${p}: no request shape in validate.ts`);

  await fake.close();
  await hook.close();

  let bad = problems.length;
  for (const [op, e] of [...perOp.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    if (!e.violations.length) console.log(`OK    ${op} (${e.requests} checked)`);
    else {
      bad += e.violations.length;
      console.log(`FAIL  ${op} (${e.requests} checked)`);
      for (const v of e.violations) console.log(`      - ${v}`);
    }
  }
  for (const p of problems) console.log(`FAIL  ${p}`);
  console.log(`\n${perOp.size} operations and webhook kinds, ${fake.requests.filter((r) => !r.path.startsWith('/hl/')).length} requests, ${fake.webhooks.length} webhooks (${received} received), ${bad} violations, ${Date.now() - t0} ms`);
  process.exitCode = bad ? 1 : 0;
}

await main();
