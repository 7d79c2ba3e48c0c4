/**
 * The OpenAPI document (GET /openapi.json): @fastify/swagger builds it from the routes' zod schemas;
 * this file sets what no route schema can say and finishes the document once it is built:
 *
 *   - named schemas (zod `.meta({ id })`) become components.schemas, referenced by $ref; the unused
 *     ones (the input twin of every named schema) are dropped;
 *   - the webhooks section: one POST per event type, its body the event's named schema;
 *   - headers: X-Request-Id on every answer, Retry-After, WWW-Authenticate, RateLimit-*, and on
 *     every call that honours it (http/idempotency.ts) the Idempotency-Key parameter, its refusals
 *     (409, 422) and Idempotent-Replayed;
 *   - an example on every request body and success answer, built from the named schemas' examples
 *     (examples.ts) where a route gives none;
 *   - integers without the ±2^53 bounds zod writes for JavaScript's safe range.
 *
 * `redocly lint` and `spectral lint` report nothing on the result (test/openapi.test.ts).
 */
import type { FastifyDynamicSwaggerOptions } from '@fastify/swagger';
import { createJsonSchemaTransformObject, jsonSchemaTransform } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ERROR_CATALOGUE, type ErrorCode } from '../domain/errors.js';
import { RETRY_SCHEDULE_MS } from '../domain/webhooks.js';
import { EVENT_SCHEMAS } from './event-schemas.js';
import { problemExample, SCHEMA_EXAMPLES } from './examples.js';
import { exampleOf, type Doc, type Json } from './openapi-examples.js';

const TAGS: [string, string][] = [
  ['users', "The application's users: the people whose banks are connected"],
  ['institutions', 'The banks and other institutions the providers connect to, with their limits and health'],
  ['connections', "A user's link to one institution: create, refresh, repair, purge, unlink, delete, and its timeline"],
  ['jobs', 'Runs against an institution, step by step; answer an MFA prompt here'],
  ['accounts', 'Accounts and balances a connection brought'],
  ['transactions', 'Transactions, as pages or as a change feed with a cursor'],
  ['identity', 'Who the institution says holds the accounts'],
  ['deletions', 'Evidence of every purge and deletion'],
  ['webhooks', 'Endpoints that receive events, their delivery log, resend, replay and test'],
  ['events', 'Everything that happened, as webhooks deliver it'],
  ['imports', 'Bulk migration of links the application already holds at a provider'],
  ['client tokens', "Short-lived tokens for the hosted pages (connect widget, user's page), bound to one user"],
  ['dashboard', "The operator dashboard's sign-in and application-wide reads"],
  ['application', "The calling application's settings and its providers' settings"],
  ['providers', 'Calls the providers make to Causeway (their webhooks)'],
  ['sandbox', 'Sandbox applications only: test clock, simulated events, outages and rate limits, access tokens'],
  ['webhook events', 'What Causeway POSTs to your webhook endpoints, signed as Standard Webhooks says'],
];

/** The retry schedule's whole span, in hours (domain/webhooks.ts). */
const RETRY_HOURS = Math.round(RETRY_SCHEDULE_MS.reduce((a, b) => a + b, 0) / 3_600_000);

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const header = (name: string) => ({ $ref: `#/components/headers/${name}` });

const HEADERS: Doc = {
  'X-Request-Id': { description: "The request's id: the one sent in X-Request-Id when it was sane, else one made up (req_…). Problems carry it as requestId.", schema: { type: 'string', example: 'req_8f2k1m9q3z' } },
  'Retry-After': { description: 'Seconds to wait before trying again', schema: { type: 'integer', minimum: 0, example: 30 } },
  'WWW-Authenticate': { description: 'The scheme to authenticate with', schema: { type: 'string', example: 'Bearer' } },
  'Idempotent-Replayed': { description: 'true: this is the stored answer to an earlier request with the same Idempotency-Key; the call did not run again', schema: { type: 'string', enum: ['true'] } },
  'RateLimit-Limit': { description: 'Requests allowed in a burst for this credential (when the server sets a rate limit)', schema: { type: 'integer', minimum: 1, example: 100 } },
  'RateLimit-Remaining': { description: 'Requests left in the burst for this credential (when the server sets a rate limit)', schema: { type: 'integer', minimum: 0, example: 99 } },
};

const IDEMPOTENCY_KEY = {
  name: 'Idempotency-Key', in: 'header', required: false,
  description: 'Any string of 1 to 255 characters, new for each new request. Sent again with the same request (method, path, body) within 24 hours, the first answer is replayed (with Idempotent-Replayed: true) instead of running the call twice; with a different request it is refused 422.',
  schema: { type: 'string', minLength: 1, maxLength: 255 }, example: '3f1c9a52-7a4e-4b8e-9d2a-52c0e1f4b7aa',
};

const WEBHOOK_HEADERS = [
  { name: 'webhook-id', description: "The event's id (evt_…), the same on every attempt and resend: deduplicate on it", example: 'evt_01jq3v6d9e0f1g2h3j4k5m6n7p' },
  { name: 'webhook-timestamp', description: 'Unix seconds when this attempt was signed: refuse one too far from now', example: '1772443804' },
  { name: 'webhook-signature', description: "v1,<base64 HMAC-SHA256 of `{webhook-id}.{webhook-timestamp}.{body}` with the endpoint's secret>; several, space-separated, while a rotated secret's grace lasts", example: 'v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=' },
].map((h) => ({ ...h, in: 'header', required: true, schema: { type: 'string' } }));

/** What a parameter means, where its schema does not say. */
const PARAMETERS: Record<string, string> = {
  limit: 'How many items a page holds at most', cursor: 'The nextCursor of the previous page; leave it out for the first page',
  userId: 'The user (usr_…)', connectionId: 'The connection (con_…)', accountId: 'The account (acc_…)', jobId: 'The job (job_…)',
  institutionId: 'The institution (ins_…)', endpointId: 'The webhook endpoint (whe_…)', deliveryId: 'The delivery (whd_…)',
  eventId: 'The event (evt_…)', deletionId: 'The deletion record (del_…)', importId: 'The import (imp_…)',
  provider: 'The provider: sandbox, plaid, gocardless or simplefin', status: 'Only those with this status',
  from: 'From this date or instant (inclusive)', to: 'Up to this date or instant (inclusive)',
};

const METHODS = ['get', 'put', 'post', 'patch', 'delete'] as const;
const SAFE_LIMIT = Number.MAX_SAFE_INTEGER;

/** The route transform: zod to JSON Schema, keeping the examples problems() and routes put beside each answer's schema. */
export const routeTransform: FastifyDynamicSwaggerOptions['transform'] = (input) => {
  const out = jsonSchemaTransform(input as Parameters<typeof jsonSchemaTransform>[0]) as { schema: Json; url: string };
  const given = (input.schema as Json | undefined)?.response as Json | undefined;
  for (const [status, answer] of Object.entries(given ?? {})) {
    if (!answer?.content) continue;
    for (const [type, media] of Object.entries<Json>(answer.content)) {
      const target = out.schema.response?.[status]?.content?.[type];
      if (target && media.examples) target.examples = media.examples;
      if (target && media.example !== undefined) target.example = media.example;
    }
  }
  return out as ReturnType<NonNullable<FastifyDynamicSwaggerOptions['transform']>>;
};

const withNamedSchemas = createJsonSchemaTransformObject({});

/** The finishing pass over the whole document. */
export const documentTransform: FastifyDynamicSwaggerOptions['transformObject'] = (input) => {
  const doc = withNamedSchemas(input) as Doc;
  doc.tags = TAGS.map(([name, description]) => ({ name, description }));
  doc.components.headers = HEADERS;
  doc.webhooks = webhooks();
  dropSafeIntegerBounds(doc);
  for (const [name, example] of Object.entries({ ...SCHEMA_EXAMPLES, Problem: problemExample('not_found') })) {
    if (doc.components.schemas[name]) doc.components.schemas[name].examples = [example];
  }
  for (const [path, item] of Object.entries<Doc>(doc.paths)) {
    for (const method of METHODS) if (item[method]) finishOperation(doc, method, path, item[method]);
  }
  for (const item of Object.values<Doc>(doc.webhooks)) addExamples(doc, item.post);
  dropUnusedSchemas(doc);
  return doc as ReturnType<NonNullable<FastifyDynamicSwaggerOptions['transformObject']>>;
};

/** Request bodies a content-type parser takes besides JSON (the route's schema describes the JSON). */
const OTHER_BODIES: Record<string, Doc> = {
  createImport: {
    'text/csv': {
      schema: { type: 'string', description: 'Lines of user,accessToken[,institutionId]; a header line is optional. Name the provider in the query (?provider=plaid). Failures then name the line.' },
      example: 'user,accessToken\ncust_8842,access-sandbox-8ab976e6-64bc-4b38-98f7-731e7a349970\njo@example.com,access-sandbox-3c1f9d20-5e7a-4b1c-8d2e-0f9a8b7c6d5e\n',
    },
  },
};

function finishOperation(doc: Doc, method: string, path: string, op: Doc) {
  const secured = !(Array.isArray(op.security) && op.security.length === 0);
  if (OTHER_BODIES[op.operationId] && op.requestBody) Object.assign(op.requestBody.content, OTHER_BODIES[op.operationId]);
  // @fastify/swagger marks every body required; one the schema lets be null or defaults is not.
  const body = op.requestBody?.content?.['application/json']?.schema;
  if (body && (body.default !== undefined || body.anyOf?.some((b: Doc) => b.type === 'null'))) op.requestBody.required = false;
  // The codes of each problem answer: those the route named (with their examples), and what comes
  // before or around every route (auth.ts, rate-limit.ts, the validator, the body parsers, errors.ts).
  const codes = new Map<string, Set<ErrorCode>>();
  for (const [status, answer] of Object.entries<Doc>(op.responses)) {
    const named = answer.content?.['application/problem+json']?.examples;
    if (named) codes.set(status, new Set(Object.keys(named) as ErrorCode[]));
  }
  const add = (...list: ErrorCode[]) => list.forEach((code) => addProblem(op, codes, code));
  if (secured) add('unauthenticated', 'client_token_not_allowed', 'too_many_requests');
  if (path.startsWith('/v1/sandbox/')) add('sandbox_only');
  if (op.parameters?.length || op.requestBody) add('validation_failed');
  if (op.parameters?.some((p: Doc) => p.in === 'query' && p.name === 'cursor')) add('invalid_cursor');
  if (op.requestBody) add('malformed_json', 'payload_too_large', 'unsupported_media_type');
  // http/idempotency.ts: POST, PATCH and DELETE by a credential (a call without one has no key space).
  const idempotent = secured && ['post', 'patch', 'delete'].includes(method);
  if (idempotent) {
    op.parameters = [...(op.parameters ?? []), IDEMPOTENCY_KEY];
    add('validation_failed', 'idempotency_key_in_use', 'idempotency_key_reused');
  }
  add('internal_error', 'try_again');
  op.responses = Object.fromEntries(Object.entries(op.responses).sort(([a], [b]) => a.localeCompare(b)));
  for (const [status, answer] of Object.entries<Doc>(op.responses)) {
    const code = Number(status);
    const listed = [...(codes.get(status) ?? [])];
    if (code >= 400) {
      // The schema says which codes this answer can carry; the description lists them for people.
      answer.content['application/problem+json'].schema = { allOf: [ref('Problem'), { properties: { code: { enum: listed } } }] };
      answer.description = `${answer.description}: ${listed.map((c) => `\`${c}\``).join(', ')}`;
    }
    const headers: Doc = { 'X-Request-Id': header('X-Request-Id') };
    if (listed.includes('unauthenticated')) headers['WWW-Authenticate'] = header('WWW-Authenticate'); // errors.ts sendProblem
    if ([429, 502, 503].includes(code) || listed.includes('idempotency_key_in_use')) headers['Retry-After'] = header('Retry-After');
    if (secured && (code < 300 || code === 429)) {
      headers['RateLimit-Limit'] = header('RateLimit-Limit');
      headers['RateLimit-Remaining'] = header('RateLimit-Remaining');
    }
    // A stored answer (anything but a 5xx) is replayed; the refusals before the route runs never are.
    if (idempotent && code < 500 && ![401, 403, 413, 415, 422, 429].includes(code)) headers['Idempotent-Replayed'] = header('Idempotent-Replayed');
    answer.headers = { ...answer.headers, ...headers };
  }
  addExamples(doc, op);
}

/**
 * Adds a code to the operation's problem answer of its status (made if missing). No example: the
 * route's own codes have theirs, and an example for each of these on every operation would cost
 * the linters seconds for nothing new (the Problem schema has its example).
 */
function addProblem(op: Doc, codes: Map<string, Set<ErrorCode>>, code: ErrorCode) {
  const status = String(ERROR_CATALOGUE[code].status);
  op.responses[status] ??= { description: ERROR_CATALOGUE[code].title, content: { 'application/problem+json': { schema: ref('Problem') } } };
  codes.set(status, (codes.get(status) ?? new Set()).add(code));
}

/** An example on every parameter, the request body and every success answer that has none. */
function addExamples(doc: Doc, op: Doc) {
  for (const p of op.parameters ?? []) {
    if (!p.description && PARAMETERS[p.name]) p.description = PARAMETERS[p.name];
    if (p.example === undefined && p.schema && !p.schema.$ref) p.example = exampleOf(doc, p.schema, { requiredOnly: true }, p.name);
  }
  for (const media of Object.values<Doc>(op.requestBody?.content ?? {})) {
    if (media.example === undefined && !media.examples && media.schema) media.example = exampleOf(doc, media.schema, { requiredOnly: true });
  }
  for (const [status, answer] of Object.entries<Doc>(op.responses ?? {})) {
    if (!status.startsWith('2')) continue;
    for (const media of Object.values<Doc>(answer.content ?? {})) {
      if (media.example === undefined && !media.examples && media.schema) media.example = exampleOf(doc, media.schema, { requiredOnly: false });
    }
  }
}

function webhooks(): Doc {
  return Object.fromEntries(Object.entries(EVENT_SCHEMAS).map(([type, schema]) => {
    const meta = z.globalRegistry.get(schema) as { id: string; description?: string };
    const words = type.split(/[._]/);
    return [type, {
      post: {
        operationId: `${words[0]}${words.slice(1).map((w) => w[0]!.toUpperCase() + w.slice(1)).join('')}Event`,
        tags: ['webhook events'], summary: type, security: [],
        description: `${meta.description ?? ''} Sent as a POST to each enabled endpoint that takes ${type} (or every type). The body is signed as Standard Webhooks says: verify webhook-signature with the endpoint's secret (whsec_…) over the exact bytes before parsing, using any Standard Webhooks or Svix library.`.trim(),
        parameters: WEBHOOK_HEADERS,
        requestBody: { required: true, description: 'The event', content: { 'application/json': { schema: ref(meta.id) } } },
        responses: {
          '2XX': { description: 'Delivered: any 2xx within the delivery timeout (CAUSEWAY_WEBHOOK_TIMEOUT_SECONDS, 15 s unless the server sets another)' },
          '410': { description: 'Gone: Causeway disables the endpoint and sends it nothing more' },
          '4XX': { description: `Not delivered: tried again later (${RETRY_SCHEDULE_MS.length} attempts over about ${RETRY_HOURS} hours), as is any 5xx, timeout or network error` },
        },
      },
    }];
  }));
}

/** zod writes ±(2^53 - 1) on every integer: JavaScript's safe range, not a bound of the API. */
function dropSafeIntegerBounds(node: unknown) {
  if (Array.isArray(node)) return node.forEach(dropSafeIntegerBounds);
  if (!node || typeof node !== 'object') return;
  const o = node as Json;
  if (o.minimum === -SAFE_LIMIT) delete o.minimum;
  if (o.maximum === SAFE_LIMIT) delete o.maximum;
  Object.values(o).forEach(dropSafeIntegerBounds);
}

/** Drops component schemas nothing reaches from the paths and webhooks (each named schema's input twin, mostly). */
function dropUnusedSchemas(doc: Doc) {
  const schemas = doc.components.schemas as Json;
  const reached = new Set<string>();
  const visit = (node: unknown) => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (!node || typeof node !== 'object') return;
    const target = (node as Json).$ref;
    if (typeof target === 'string' && target.startsWith('#/components/schemas/')) {
      const name = target.slice('#/components/schemas/'.length);
      if (!reached.has(name)) { reached.add(name); visit(schemas[name]); }
    }
    Object.values(node).forEach(visit);
  };
  visit(doc.paths);
  visit(doc.webhooks);
  for (const name of Object.keys(schemas)) if (!reached.has(name)) delete schemas[name];
}

/** The @fastify/swagger options (registered in app.ts). */
export const swaggerOptions: FastifyDynamicSwaggerOptions = {
  openapi: {
    openapi: '3.1.0',
    info: {
      title: 'Causeway API', version: '1.0.0',
      description: 'Connections between your users and their banks: create, refresh, repair, and read what they bring.\n\n'
        + 'Authenticate with `Authorization: Bearer sk_…` (an API key). Errors are RFC 9457 problem documents (`application/problem+json`) with a stable `code`, each explained at /docs/errors. '
        + 'Lists page with `limit` and `cursor` (`nextCursor` until it is null). POST, PATCH and DELETE take an `Idempotency-Key` to retry safely. '
        + 'Events reach your endpoints as signed webhooks (see webhooks).',
      contact: { name: 'The operators of this Causeway server' },
      license: { name: 'MIT', identifier: 'MIT' },
    },
    servers: [{ url: '/', description: 'This server' }],
    components: {
      securitySchemes: {
        apiKey: {
          type: 'http', scheme: 'bearer',
          description: 'An API key (sk_sandbox_… or sk_live_…, made with `causeway keys create`), a client token (ct_…, for the hosted pages, only on the calls it allows) or an operator session (os_…, the dashboard).',
        },
      },
    },
    security: [{ apiKey: [] }],
  },
  transform: routeTransform,
  transformObject: documentTransform,
};
