/**
 * The API document (GET /openapi.json) as integrators' tools see it: `redocly lint` (redocly.yaml)
 * and `spectral lint` (.spectral.yaml) report no error and no warning; every resource and every
 * webhook event is a named schema; every operation has an operationId, a description and examples;
 * every error answer is a problem document whose code is in the catalogue.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ERROR_CATALOGUE } from '../src/domain/errors.js';
import { EVENT_TYPES } from '../src/domain/webhooks.js';
import { startTestApp, type TestApp } from './helpers/app.js';
import { resolve } from './helpers/openapi.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.join(ROOT, 'node_modules/.bin');
const run = promisify(execFile);

/** Runs a linter's CLI; both exit non-zero when they find something, so the output is read either way. */
async function lint(command: string, args: string[]): Promise<string> {
  try {
    return (await run(path.join(BIN, command), args, { cwd: ROOT, maxBuffer: 64 * 1024 * 1024 })).stdout;
  } catch (err) {
    const out = (err as { stdout?: string }).stdout;
    if (!out) throw err;
    return out;
  }
}

const METHODS = ['get', 'put', 'post', 'patch', 'delete'];
const RESOURCES = [
  'User', 'Connection', 'Job', 'Account', 'Transaction', 'Institution', 'Problem', 'WebhookEndpoint', 'Delivery', 'DeliveryAttempt',
  'Event', 'Import', 'ImportRow', 'Deletion', 'Application', 'ClientToken', 'IdentityProfile', 'TimelineEntry', 'LinkSession',
];

describe('the OpenAPI document', () => {
  let t: TestApp;
  let doc: any;
  let file: string;
  const ops: { id: string; op: any }[] = [];
  before(async () => {
    t = await startTestApp({ worker: false });
    const res = await t.app.inject({ method: 'GET', url: '/openapi.json' });
    assert.equal(res.statusCode, 200);
    doc = res.json();
    file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'causeway-openapi-')), 'openapi.json');
    fs.writeFileSync(file, JSON.stringify(doc));
    for (const [p, item] of Object.entries<any>(doc.paths)) {
      for (const m of METHODS) if (item[m]) ops.push({ id: `${m.toUpperCase()} ${p}`, op: item[m] });
    }
  });
  after(async () => {
    await t.close();
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
  });

  it('passes redocly lint and spectral lint with no error and no warning', async () => {
    const [redocly, spectral] = await Promise.all([
      lint('redocly', ['lint', file, '--config', path.join(ROOT, 'redocly.yaml'), '--format', 'json']),
      lint('spectral', ['lint', file, '--ruleset', path.join(ROOT, '.spectral.yaml'), '--format', 'json', '--quiet']),
    ]);
    const r = JSON.parse(redocly) as { totals: { errors: number; warnings: number }; problems: { ruleId: string; message: string; location: { pointer: string }[] }[] };
    assert.deepEqual({ errors: r.totals.errors, warnings: r.totals.warnings }, { errors: 0, warnings: 0 },
      r.problems.slice(0, 20).map((p) => `${p.ruleId} ${p.location[0]?.pointer}: ${p.message}`).join('\n'));
    const s = JSON.parse(spectral.trim() || '[]') as { code: string; message: string; severity: number; path: string[] }[];
    assert.deepEqual(s.map((x) => `${x.code} ${x.path.join('.')}: ${x.message}`).slice(0, 20), []);
  });

  it('names a schema for every resource and every webhook event, and the webhooks section has one POST per event type', () => {
    const schemas = doc.components.schemas;
    for (const name of RESOURCES) assert.ok(schemas[name], `components.schemas.${name}`);
    assert.deepEqual(Object.keys(doc.webhooks).sort(), [...EVENT_TYPES].sort());
    for (const type of EVENT_TYPES) {
      const post = doc.webhooks[type].post;
      const ref = post.requestBody.content['application/json'].schema.$ref as string;
      assert.match(ref, /^#\/components\/schemas\/\w+Event$/, type);
      const schema = resolve(doc, { $ref: ref });
      assert.equal(schema.properties.type.const, type, `${ref} is the ${type} event`);
      assert.ok(schema.properties.timestamp, `${type} carries timestamp`);
      assert.deepEqual(post.parameters.map((p: any) => p.name), ['webhook-id', 'webhook-timestamp', 'webhook-signature'], type);
      assert.ok(post.requestBody.content['application/json'].example, `${type} has an example`);
    }
    // Generated clients get named types: the answers refer to the components instead of inlining them.
    const user = doc.paths['/v1/users/{userId}'].get.responses['200'].content['application/json'].schema;
    assert.equal(user.$ref, '#/components/schemas/User');
  });

  it('gives every operation a unique camelCase operationId, a declared tag, a description and examples', () => {
    assert.ok(ops.length >= 60, `${ops.length} operations`);
    const ids = ops.map(({ op }) => op.operationId);
    assert.equal(new Set(ids).size, ids.length, 'operationIds are unique');
    const tags = new Set(doc.tags.map((tag: any) => tag.name));
    for (const tag of doc.tags) assert.ok(tag.description, `tag ${tag.name} has a description`);
    for (const { id, op } of ops) {
      assert.match(op.operationId ?? '', /^[a-z][a-zA-Z]+$/, `${id} operationId`);
      assert.ok(op.description?.length > 20, `${id} has a description`);
      for (const tag of op.tags) assert.ok(tags.has(tag), `${id}: tag ${tag} is declared`);
      for (const p of op.parameters ?? []) assert.ok(p.example !== undefined && p.description, `${id}: parameter ${p.name} has an example and a description`);
      for (const media of Object.values<any>(op.requestBody?.content ?? {})) assert.ok(media.example !== undefined || media.examples, `${id}: the body has an example`);
      for (const [status, answer] of Object.entries<any>(op.responses)) {
        assert.notEqual(answer.description, 'Default Response', `${id} ${status}`);
        assert.ok(answer.headers?.['X-Request-Id'], `${id} ${status} documents X-Request-Id`);
        if (status.startsWith('2')) {
          for (const media of Object.values<any>(answer.content ?? {})) assert.ok(media.example !== undefined, `${id} ${status} has an example`);
        }
      }
    }
  });

  /** The codes a problem answer can carry: the enum that narrows Problem's code there. */
  const codesOf = (answer: any): string[] => answer.content['application/problem+json'].schema.allOf[1].properties.code.enum;

  it('documents every error answer as application/problem+json referring to Problem, with the codes it can carry', () => {
    const catalogue = Object.keys(ERROR_CATALOGUE);
    assert.deepEqual(doc.components.schemas.Problem.properties.code.enum, catalogue);
    for (const { id, op } of ops) {
      for (const [status, answer] of Object.entries<any>(op.responses)) {
        if (Number(status) < 400) continue;
        assert.deepEqual(Object.keys(answer.content), ['application/problem+json'], `${id} ${status}`);
        const media = answer.content['application/problem+json'];
        assert.equal(media.schema.allOf[0].$ref, '#/components/schemas/Problem', `${id} ${status}`);
        const codes = codesOf(answer);
        assert.ok(codes.length > 0, `${id} ${status}`);
        for (const code of codes) assert.equal(ERROR_CATALOGUE[code as keyof typeof ERROR_CATALOGUE].status, Number(status), `${id} ${status} ${code}`);
        for (const [code, example] of Object.entries<any>(media.examples ?? {})) {
          assert.ok(codes.includes(code), `${id} ${status}: the example ${code} is one of its codes`);
          assert.equal(example.value.code, code, `${id} ${status}`);
          assert.equal(example.value.type, `/docs/errors#${code}`);
        }
      }
      assert.ok(codesOf(op.responses['500']).includes('internal_error'), id);
    }
    const answer = (p: string, m: string, status: string) => doc.paths[p][m].responses[status];
    assert.ok(answer('/v1/users', 'post', '409').content['application/problem+json'].examples.external_id_taken);
    assert.ok(codesOf(answer('/v1/users/{userId}', 'patch', '409')).includes('external_id_taken'));
    assert.ok(codesOf(answer('/v1/users/{userId}/connections/{connectionId}/refresh', 'post', '429')).includes('refresh_budget_exhausted'));
    assert.ok(codesOf(answer('/v1/users', 'get', '400')).includes('invalid_cursor'));
    assert.ok(doc.paths['/v1/users'].get.responses['401'].headers['WWW-Authenticate']);
    assert.ok(doc.paths['/v1/users'].get.responses['429'].headers['Retry-After']);
  });

  it('declares Idempotency-Key on every call that honours it, with its refusals and Idempotent-Replayed', () => {
    const honouring = ops.filter(({ id, op }) => /^(POST|PATCH|DELETE) /.test(id) && !(Array.isArray(op.security) && op.security.length === 0));
    assert.ok(honouring.length >= 30, `${honouring.length} calls`);
    for (const { id, op } of honouring) {
      assert.ok(op.parameters.some((p: any) => p.in === 'header' && p.name === 'Idempotency-Key'), id);
      assert.deepEqual(codesOf(op.responses['422']), ['idempotency_key_reused'], `${id} 422`);
      assert.ok(codesOf(op.responses['409']).includes('idempotency_key_in_use'), `${id} 409`);
      assert.ok(op.responses['409'].headers['Retry-After'], `${id} 409 (idempotency_key_in_use) says Retry-After`);
      const success = Object.entries<any>(op.responses).filter(([s]) => s.startsWith('2'));
      for (const [status, answer] of success) assert.ok(answer.headers['Idempotent-Replayed'], `${id} ${status}`);
    }
    for (const id of ['POST /v1/operator-sessions', 'GET /v1/users']) {
      const { op } = ops.find((o) => o.id === id)!;
      assert.ok(!(op.parameters ?? []).some((p: any) => p.name === 'Idempotency-Key'), `${id} takes no Idempotency-Key`);
    }
  });

  it('says format date-time on every instant and date on every date, and keeps real integer bounds only', () => {
    const text = JSON.stringify(doc);
    assert.doesNotMatch(text, /9007199254740991/, 'no ±2^53 bounds');
    const limit = doc.paths['/v1/users'].get.parameters.find((p: any) => p.name === 'limit').schema;
    assert.deepEqual([limit.minimum, limit.maximum], [1, 500]);
    const { Connection, Transaction, Event } = doc.components.schemas;
    assert.equal(Connection.properties.createdAt.format, 'date-time');
    assert.equal(Event.properties.timestamp.format, 'date-time');
    assert.equal(Transaction.properties.date.format, 'date');
    // Every property named like an instant (…At, timestamp, since, until) says date-time, wherever it is.
    const misses: string[] = [];
    const walk = (node: any, where: string) => {
      if (!node || typeof node !== 'object') return;
      for (const [name, sub] of Object.entries<any>(node.properties ?? {})) {
        const s = sub.anyOf ? sub.anyOf.find((b: any) => b.type !== 'null') : sub;
        if (/(At|^timestamp|^since|^until)$/.test(name) && s?.type === 'string' && s.format !== 'date-time') misses.push(`${where}.${name}`);
      }
      for (const [k, v] of Object.entries<any>(node)) if (v && typeof v === 'object') walk(v, `${where}.${k}`);
    };
    walk(doc.components, 'components');
    walk(doc.paths, 'paths');
    assert.deepEqual(misses, []);
  });

  it('describes the API: info with contact and MIT licence, a server, the security scheme', () => {
    assert.equal(doc.openapi, '3.1.0');
    assert.ok(doc.info.description && doc.info.contact);
    assert.equal(doc.info.license.identifier, 'MIT');
    assert.deepEqual(doc.servers.map((s: any) => s.url), ['/']);
    assert.ok(doc.components.securitySchemes.apiKey.description);
  });
});
