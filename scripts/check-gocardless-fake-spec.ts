/**
 * Checks the GoCardless fake (test/fakes/gocardless) against GoCardless's own OpenAPI spec.
 *
 *   node --import tsx scripts/check-gocardless-fake-spec.ts [path-to-spec]
 *   (default ../shared/specs/gocardless-bank-account-data-v2.json; the spec is GoCardless's work and stays outside the repo)
 *
 * Drives every endpoint the fake serves, through the adapter (so its requests are checked too) and
 * by hand for the rest and for every documented error, then validates each request and answer the
 * fake logged against the operation's schemas (openapi-backend), lists fields an answer carries that
 * its schema does not declare, checks the rate-limit headers, and compares the fields the fake accepts
 * with the spec's. Error answers GoCardless documents in a shape its own ErrorResponse schema does not
 * fit (field errors such as `{ reference: {summary, detail}, status_code }`) pass when they match one
 * of the spec's examples for that operation and status, and are listed as the spec's inconsistency.
 * Exits non-zero on any violation. Not part of `npm test`.
 */
import path from 'node:path';
import { OpenAPIBackend } from 'openapi-backend';
import { createGoCardlessProvider } from '../src/providers/gocardless/index.js';
import { startGoCardlessFake, templatePattern, DOCUMENTED_NAMES, type GoCardlessFake, type RequestLogEntry } from '../test/fakes/gocardless/index.js';
import { harness, linkOf, linkThrough } from '../test/fakes/gocardless/harness.js';
import { ACCEPTED } from '../test/fakes/gocardless/routes.js';

type Json = Record<string, any>;
const specPath = path.resolve(process.cwd(), process.argv[2] ?? '../shared/specs/gocardless-bank-account-data-v2.json');
const EXPECT_INVALID = 'x-check-expect-invalid';
const isoFormat = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

async function loadApi() {
  const api = new OpenAPIBackend({
    // GoCardless's paths end in a slash, which openapi-backend would otherwise strip from requests only.
    definition: specPath, quick: false, validate: true, ignoreTrailingSlashes: false,
    customizeAjv: (ajv) => {
      ajv.addFormat('date-time', isoFormat);
      ajv.addFormat('date', /^\d{4}-\d{2}-\d{2}$/);
      ajv.addFormat('uuid', /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i);
      ajv.addFormat('uri', (s: string) => { try { new URL(s); return true; } catch { return false; } });
      return ajv;
    },
  });
  await api.init();
  return api;
}

/** Fields present in `value` that its (dereferenced) schema does not declare. */
function undeclared(value: unknown, schema: Json | undefined, at: string, out: Set<string>): void {
  if (!schema || value === null || typeof value !== 'object') return;
  if (Array.isArray(value)) { value.forEach((v) => undeclared(v, schema.items, `${at}[]`, out)); return; }
  const props: Json = { ...(schema.properties ?? {}) };
  for (const part of schema.allOf ?? []) Object.assign(props, part.properties ?? {}, ...(part.allOf ?? []).map((p: Json) => p.properties ?? {}));
  if (!Object.keys(props).length) return;
  for (const [k, v] of Object.entries(value)) {
    if (!(k in props)) out.add(`${at}/${k}`);
    else undeclared(v, props[k].allOf?.[0] ?? props[k], `${at}/${k}`, out);
  }
}

const raw = (fake: GoCardlessFake, token: string | null) => async (method: string, p: string, body?: unknown, opts: { invalid?: boolean } = {}) => {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (opts.invalid) headers[EXPECT_INVALID] = '1';
  const res = await fetch(fake.url + p, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  return { status: res.status, body: await res.json().catch(() => null) as Json };
};

/** The names of the error examples the spec gives for an operation that the fake can answer (errors.ts `documented`). */
function documentedFor(spec: Json, p: string, method: string): string[] {
  const names = new Set<string>();
  for (const [status, r] of Object.entries((spec.paths[p][method].responses ?? {}) as Json)) {
    if (Number(status) < 400) continue;
    for (const name of Object.keys((Object.values((r as Json).content ?? {})[0] as Json | undefined)?.examples ?? {})) {
      if ((DOCUMENTED_NAMES as readonly string[]).includes(name)) names.add(name);
    }
  }
  return [...names];
}

async function drive(fake: GoCardlessFake, spec: Json): Promise<void> {
  const gc = createGoCardlessProvider();
  const h = harness(fake, { countries: 'GB,DE,FR' });
  const expect = (what: string, got: number, want: number) => { if (got !== want) throw new Error(`${what}: expected ${want}, got ${got}`); };

  // Catalogue, link, data, repair, revoke, import: through the adapter.
  for (let cursor: string | null = null, first = true; first || cursor !== null; first = false) cursor = (await gc.listInstitutions(h.ctx(), cursor)).next;
  await gc.getInstitution('NOVA_NOVADEB1', h.ctx());
  await gc.getInstitution('NOPE_NOPEXX00', h.ctx());
  const linked = await linkThrough(gc, h, { institutionId: 'HARBOUR_HRBRGB2L', login: 'spec' });
  const link = linkOf(linked.result, 'HARBOUR_HRBRGB2L');
  await gc.fetchAccounts(link, h.ctx());
  await gc.fetchTransactions!(link, { from: '2025-12-01', to: fake.now().toISOString().slice(0, 10) }, h.ctx());
  await linkThrough(gc, h, { institutionId: 'HARBOUR_HRBRGB2L', action: 'deny' });
  await linkThrough(gc, h, { institutionId: 'HARBOUR_HRBRGB2L', action: 'error' });
  const waiting = await linkThrough(gc, h, { institutionId: 'ALPENBANK_ALPNDEFF', action: 'none' });
  const repaired = await linkThrough(gc, h, { institutionId: 'HARBOUR_HRBRGB2L', login: 'spec', update: link });
  const repairedLink = linkOf(repaired.result, 'HARBOUR_HRBRGB2L');
  const imported = fake.linkedRequisition({ institutionId: 'POLDER_PLDRNL2A' });
  await gc.importAccess!({ institutionId: null, token: imported.id }, h.ctx());
  await gc.importAccess!({ institutionId: null, token: waiting.requisitionId }, h.ctx()).catch(() => undefined);

  // Every other endpoint, and the errors, by hand.
  const pair = (await raw(fake, null)('POST', '/api/v2/token/new/', { secret_id: fake.secretId, secret_key: fake.secretKey })).body;
  let call = raw(fake, pair.access);
  expect('token/refresh', (await raw(fake, null)('POST', '/api/v2/token/refresh/', { refresh: pair.refresh })).status, 200);
  expect('token/new with a wrong key', (await raw(fake, null)('POST', '/api/v2/token/new/', { secret_id: fake.secretId, secret_key: 'nope' })).status, 401);
  expect('token/refresh with a bad token', (await raw(fake, null)('POST', '/api/v2/token/refresh/', { refresh: 'nope' })).status, 401);
  expect('no token', (await raw(fake, null)('GET', '/api/v2/institutions/?country=GB')).status, 401);
  expect('a bad token', (await raw(fake, 'nope')('GET', '/api/v2/requisitions/')).status, 401);
  expect('institutions, bad country', (await call('GET', '/api/v2/institutions/?country=GBA', undefined, { invalid: true })).status, 400);
  expect('institutions, unknown parameter', (await call('GET', '/api/v2/institutions/?country=GB&colour=red', undefined, { invalid: true })).status, 400);
  expect('agreements list', (await call('GET', '/api/v2/agreements/enduser/?limit=2&offset=1')).status, 200);
  expect('requisitions list', (await call('GET', '/api/v2/requisitions/?limit=2&offset=0')).status, 200);
  const eua = (await call('POST', '/api/v2/agreements/enduser/', { institution_id: 'RHEIN_RHNSDE33' })).body;
  expect('agreement by id', (await call('GET', `/api/v2/agreements/enduser/${eua.id}/`)).status, 200);
  expect('agreement, invalid id', (await call('GET', '/api/v2/agreements/enduser/not-a-uuid/', undefined, { invalid: true })).status, 400);
  expect('agreement, unknown', (await call('GET', '/api/v2/agreements/enduser/0b8c4a04-64f8-4e11-a8e6-1e0b1b4a1d2c/')).status, 404);
  expect('agreement accept', (await call('PUT', `/api/v2/agreements/enduser/${eua.id}/accept/`, { user_agent: 'check', ip_address: '203.0.113.7' })).status, 403);
  for (const [body, want] of [
    [{ institution_id: 'NOPE_NOPEXX00' }, 400], [{ institution_id: 'MERIDIAN_MRDNGB21', max_historical_days: 31 }, 400],
    [{ institution_id: 'MERIDIAN_MRDNGB21', access_valid_for_days: 31 }, 400], [{ institution_id: 'MERIDIAN_MRDNGB21', access_scope: ['everything'] }, 400],
    [{ institution_id: 'MERIDIAN_MRDNGB21', colour: 'red' }, 400],
  ] as const) expect(`agreement ${JSON.stringify(body)}`, (await call('POST', '/api/v2/agreements/enduser/', body, { invalid: true })).status, want);
  const eua2 = (await call('POST', '/api/v2/agreements/enduser/', { institution_id: 'RHEIN_RHNSDE33', max_historical_days: 30, access_valid_for_days: 30, access_scope: ['balances'] })).body;
  const req = (await call('POST', '/api/v2/requisitions/', { redirect: 'https://app.example/back', institution_id: 'RHEIN_RHNSDE33', agreement: eua2.id, reference: 'check-1', user_language: 'DE' })).body;
  expect('requisition without an agreement', (await call('POST', '/api/v2/requisitions/', { redirect: 'https://app.example/back', institution_id: 'RHEIN_RHNSDE33' })).status, 201);
  for (const [body, want] of [
    [{ institution_id: 'RHEIN_RHNSDE33' }, 400], [{ redirect: 'https://app.example/back', institution_id: 'RHEIN_RHNSDE33', reference: 'check-1' }, 400],
    [{ redirect: 'https://app.example/back', institution_id: 'RHEIN_RHNSDE33', agreement: 'nope' }, 400],
    [{ redirect: 'https://app.example/back', institution_id: 'RHEIN_RHNSDE33', agreement: '0b8c4a04-64f8-4e11-a8e6-1e0b1b4a1d2c' }, 404],
    [{ redirect: 'https://app.example/back', institution_id: 'SOLBANK_SOLBESMM', agreement: eua.id }, 400],
    [{ redirect: 'https://app.example/back', institution_id: 'RHEIN_RHNSDE33', agreement: eua2.id }, 400],
    [{ redirect: 'not a url', institution_id: 'RHEIN_RHNSDE33' }, 400], [{ redirect: 'https://app.example/back', institution_id: 'NOPE_NOPEXX00' }, 400],
    [{ redirect: 'https://app.example/back', institution_id: 'RHEIN_RHNSDE33', user_language: 'klingon' }, 400],
  ] as const) expect(`requisition ${JSON.stringify(body)}`, (await call('POST', '/api/v2/requisitions/', body, { invalid: true })).status, want);
  expect('requisition, unknown', (await call('GET', '/api/v2/requisitions/0b8c4a04-64f8-4e11-a8e6-1e0b1b4a1d2c/')).status, 404);
  expect('requisition, invalid id', (await call('DELETE', '/api/v2/requisitions/nope/', undefined, { invalid: true })).status, 400);
  expect('agreement delete', (await call('DELETE', `/api/v2/agreements/enduser/${eua.id}/`)).status, 200);
  expect('requisition delete', (await call('DELETE', `/api/v2/requisitions/${req.id}/`)).status, 200);

  // Account endpoints: scope, ids, dates, status, the daily limit, every documented error.
  const [acc, acc2] = fake.requisition(repaired.requisitionId)!.accounts as [string, string];
  const scoped = fake.linkedRequisition({ institutionId: 'THAMES_THMSGB21' });
  fake.world.agreements.get(scoped.agreement)!.access_scope = ['details'];
  expect('no transactions scope', (await call('GET', `/api/v2/accounts/${scoped.accounts[0]}/transactions/`)).status, 403);
  expect('metadata, unknown', (await call('GET', '/api/v2/accounts/0b8c4a04-64f8-4e11-a8e6-1e0b1b4a1d2c/')).status, 404);
  expect('balances, invalid id', (await call('GET', '/api/v2/accounts/nope/balances/', undefined, { invalid: true })).status, 400);
  expect('date range', (await call('GET', `/api/v2/accounts/${acc}/transactions/?date_from=2026-02-10&date_to=2026-02-01`)).status, 400);
  expect('details', (await call('GET', `/api/v2/accounts/${acc2}/details/`)).status, 200);
  for (let i = 0; i < 4; i++) await call('GET', `/api/v2/accounts/${acc2}/balances/`);
  expect('the fifth balances call of the day', (await call('GET', `/api/v2/accounts/${acc2}/balances/`)).status, 429);
  fake.setAccountStatus(acc, 'PROCESSING');
  expect('processing', (await call('GET', `/api/v2/accounts/${acc}/details/`)).status, 409);
  fake.setAccountStatus(acc, 'READY');
  // Each error the spec documents for each account endpoint (by its example's name), as the fake answers it.
  for (const scope of ['details', 'balances', 'transactions']) {
    for (const name of documentedFor(spec, `/api/v2/accounts/{id}/${scope}/`, 'get')) {
      fake.advance(61); // a new minute: GoCardless's per-minute company limit is not the subject here
      fake.failNext(`/api/v2/accounts/{id}/${scope}/`, name);
      await call('GET', `/api/v2/accounts/${acc}/${scope}/`);
    }
  }
  fake.setGeneralLimit('institutions', 1);
  fake.advance(60);
  await call('GET', '/api/v2/institutions/HARBOUR_HRBRGB2L/');
  expect('institutions past the per-minute limit', (await call('GET', '/api/v2/institutions/HARBOUR_HRBRGB2L/')).status, 429);
  fake.setGeneralLimit('institutions', 300);
  fake.setRequisitionStatus(imported.id, 'SU');
  expect('suspended', (await call('GET', `/api/v2/accounts/${imported.accounts[0]}/balances/`)).status, 409);
  fake.advance(181 * 86_400);
  expect('an access token a day old', (await call('GET', '/api/v2/requisitions/')).status, 401);
  call = raw(fake, (await raw(fake, null)('POST', '/api/v2/token/new/', { secret_id: fake.secretId, secret_key: fake.secretKey })).body.access);
  expect('expired agreement: metadata', (await call('GET', `/api/v2/accounts/${acc}/`)).status, 200);
  expect('expired agreement: data', (await call('GET', `/api/v2/accounts/${acc}/transactions/`)).status, 401);
  expect('expired requisition', (await call('GET', `/api/v2/requisitions/${repaired.requisitionId}/`)).status, 200);
  await gc.revoke(repairedLink, h.ctx()).catch(() => undefined);
  await gc.revoke(repairedLink, h.ctx());
}

async function main() {
  const t0 = Date.now();
  const api = await loadApi();
  const ops = api.getOperations().map((o) => ({ ...o, pattern: templatePattern(o.path) }));
  const fake = await startGoCardlessFake({ seed: 'spec-check', now: new Date('2026-03-02T09:00:00Z') });
  const problems: string[] = [];
  const notes = new Set<string>();
  const perOp = new Map<string, { requests: number; statuses: Set<number>; violations: Set<string> }>();
  try {
    await drive(fake, api.definition as Json);
  } catch (err) {
    problems.push(`flow failed: ${(err as Error).stack}`);
  }
  const fmt = (errors: any[] | null | undefined) => (errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}`);

  for (const entry of fake.requests as RequestLogEntry[]) {
    if (entry.path.startsWith('/psd2/start/')) continue;
    const op = ops.find((o) => o.method === entry.method.toLowerCase() && o.pattern.test(entry.path));
    if (!op) { problems.push(`${entry.method} ${entry.path}: not in the spec`); continue; }
    const key = `${op.method.toUpperCase()} ${op.path}`;
    const e = perOp.get(key) ?? { requests: 0, statuses: new Set<number>(), violations: new Set<string>() };
    perOp.set(key, e);
    e.requests += 1;
    const status = entry.status ?? 0;
    e.statuses.add(status);
    const expectInvalid = entry.headers[EXPECT_INVALID] === '1';
    if (!expectInvalid) {
      const req = api.validateRequest({ method: op.method, path: entry.path, query: entry.query, body: entry.body, headers: { 'content-type': 'application/json', ...entry.headers } as any }, op.operationId!);
      for (const v of fmt(req.errors)) e.violations.add(`request ${v}`);
    } else if (status < 400 || status >= 500) e.violations.add(`a request meant to be refused was answered ${status}`);
    const declared = (op.responses ?? {}) as Json;
    if (!declared[String(status)]) { e.violations.add(`answered ${status}, which the spec does not declare`); continue; }
    const res = api.validateResponse(entry.response, op.operationId!, status as any);
    if (res.errors?.length) {
      const examples = (Object.values(declared[String(status)].content ?? {})[0] as Json | undefined)?.examples ?? {};
      const keys = Object.keys((entry.response ?? {}) as Json).sort().join();
      const like = Object.entries(examples).find(([, ex]) => Object.keys((ex as Json).value ?? {}).sort().join() === keys);
      if (like && status >= 400) notes.add(`${key} ${status}: answered like the spec's example "${like[0]}", which its own ErrorResponse schema does not fit (${fmt(res.errors).join('; ')})`);
      else for (const v of fmt(res.errors)) e.violations.add(`response ${status} ${v}`);
    }
    const schema = (Object.values(declared[String(status)].content ?? {})[0] as Json | undefined)?.schema;
    const extra = new Set<string>();
    undeclared(entry.response, schema, '', extra);
    for (const f of extra) {
      const examples = JSON.stringify(declared[String(status)].content ?? {});
      if (examples.includes(`"${f.split('/').pop()}"`)) notes.add(`${key} ${status}: ${f} is not in the schema but is in the spec's examples (kept)`);
      else e.violations.add(`response ${status} has a field the schema does not declare: ${f}`);
    }
    const h = entry.responseHeaders ?? {};
    if (!h.HTTP_X_RATELIMIT_LIMIT || !h.HTTP_X_RATELIMIT_REMAINING || !h.HTTP_X_RATELIMIT_RESET) e.violations.add('no HTTP_X_RATELIMIT_* headers');
    const metered = /\/(details|balances|transactions)\/$/.test(op.path);
    if (metered && fake.world.accounts.has(entry.path.split('/')[4]!) && !h.HTTP_X_RATELIMIT_ACCOUNT_SUCCESS_REMAINING) e.violations.add(`${status} without HTTP_X_RATELIMIT_ACCOUNT_SUCCESS_*`);
  }

  // The fields the fake accepts against the spec's request schemas and parameters.
  for (const [k, fields] of Object.entries(ACCEPTED)) {
    const [method, p] = k.split(' ') as [string, string];
    const op = ops.find((o) => o.method === method.toLowerCase() && o.path === p);
    if (!op) { problems.push(`${k}: the fake accepts it, the spec has no such operation`); continue; }
    const body = (op.requestBody as Json | undefined)?.content?.['application/json']?.schema;
    const specFields = body ? Object.keys(body.properties ?? {}) : ((op.parameters ?? []) as Json[]).filter((x) => x.in === 'query').map((x) => x.name);
    const missing = specFields.filter((f) => !fields.includes(f));
    const unknown = fields.filter((f) => !specFields.includes(f));
    if (missing.length) problems.push(`${k}: the fake refuses spec fields ${missing.join(', ')}`);
    if (unknown.length) problems.push(`${k}: the fake accepts fields the spec lacks: ${unknown.join(', ')}`);
  }
  const unserved = ops.filter((o) => !perOp.has(`${o.method.toUpperCase()} ${o.path}`)).map((o) => `${o.method.toUpperCase()} ${o.path}`);
  await fake.stop();

  let bad = problems.length;
  for (const [op, e] of [...perOp.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    const tag = `${op} (${e.requests} checked; ${[...e.statuses].sort().join(', ')})`;
    if (!e.violations.size) console.log(`OK    ${tag}`);
    else { bad += e.violations.size; console.log(`FAIL  ${tag}`); for (const v of e.violations) console.log(`      - ${v}`); }
  }
  for (const p of problems) console.log(`FAIL  ${p}`);
  for (const n of notes) console.log(`NOTE  ${n}`);
  if (unserved.length) console.log(`NOTE  not served by the fake (the adapter never calls them): ${unserved.join(', ')}`);
  console.log(`\n${perOp.size} operations, ${fake.requests.filter((r) => !r.path.startsWith('/psd2/')).length} requests, ${bad} violations, ${Date.now() - t0} ms`);
  process.exitCode = bad ? 1 : 0;
}

await main();
