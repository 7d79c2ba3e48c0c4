/** Bulk migration: import batches (services/imports.ts). */
import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AppError } from '../../domain/errors.js';
import { IMPORT_LIMITS, MAX_IMPORT_ROWS, parseImportCsv, type ImportRowInput } from '../../domain/import-rows.js';
import type { Core } from '../../services/core.js';
import { DEFAULT_PACE, getImport, invalidRows, listImportRows, listImports, startImport } from '../../services/imports.js';
import { tenantOf } from '../auth.js';
import { dateTime, id, ok, page, pageQuery, problems } from '../schemas.js';

/** 10,000 rows with long tokens: more than the API's usual 1 MB. */
const BODY_LIMIT = 10 * 1024 * 1024;
const ROW_STATUSES = ['pending', 'imported', 'skipped', 'failed'] as const;

const ImportRowBody = z.object({
  user: z.string().min(1).max(IMPORT_LIMITS.user)
    .describe("Who the link belongs to: a Causeway user id (usr_…), else your external id for the user, else an email. A user not found is created (with that external id, or that email)"),
  accessToken: z.string().min(1).max(IMPORT_LIMITS.accessToken).describe("The provider's access token for the link (a Plaid access token)"),
  institutionId: id('ins').optional().describe('Causeway\'s institution id (GET /v1/institutions); optional where the provider tells it from the token (Plaid)'),
}).strict();

const CreateImportBody = z.object({
  provider: z.string().min(1).max(40).regex(/^[a-z0-9_-]+$/).describe('The provider the tokens are from: plaid (or sandbox, with tokens from POST /v1/sandbox/tokens)'),
  rows: z.array(ImportRowBody).min(1).max(MAX_IMPORT_ROWS).describe(`At most ${MAX_IMPORT_ROWS} rows; a row's number in the answers is its place here, from 1`),
  rowsPerSecond: z.number().min(0.1).max(50).optional().describe(`Rows started per second (default ${DEFAULT_PACE.rowsPerSecond}): each one asks the provider about its token`),
  concurrency: z.number().int().min(1).max(16).optional().describe(`Rows in flight at once (default ${DEFAULT_PACE.concurrency})`),
}).strict().meta({
  examples: [{ provider: 'plaid', rows: [{ user: 'cust_8842', accessToken: 'access-sandbox-8ab976e6-64bc-4b38-98f7-731e7a349970' }, { user: 'jo@example.com', accessToken: 'access-sandbox-3c1f9d20-5e7a-4b1c-8d2e-0f9a8b7c6d5e' }] }],
});

const CreateImportQuery = z.object({
  provider: z.string().min(1).max(40).regex(/^[a-z0-9_-]+$/).optional().describe('With a text/csv body: the provider the tokens are from'),
});

const ImportBatch = z.object({
  id: z.string(), status: z.enum(['queued', 'running', 'completed']).describe('completed: no row is pending (failed rows are listed; run them again in a new import)'),
  provider: z.string(), source: z.enum(['api', 'cli']).describe('api: POST /v1/imports, run by the worker; cli: `causeway import`'),
  counts: z.object({
    total: z.number().int(), imported: z.number().int().describe('Rows this import made a connection for'),
    skipped: z.number().int().describe("Rows whose token was already imported for the same user: the existing connection is kept, never a second"),
    failed: z.number().int(), pending: z.number().int(),
  }).describe('Always the rows\' statuses: total = imported + skipped + failed + pending'),
  waitUntil: dateTime.nullable().describe('The provider asked to slow down: the run resumes then'),
  createdAt: dateTime, startedAt: dateTime.nullable(), finishedAt: dateTime.nullable(),
}).meta({ id: 'Import', description: 'A batch of provider links imported at once, run by the worker' });
const ImportFailure = z.object({
  row: z.number().int().describe('The row: its place in rows (from 1), or its line in the CSV'),
  user: z.string().describe('The user as the row named them'), code: z.string().describe('A stable error code, as the single import answers it'), message: z.string(),
}).meta({ id: 'ImportFailure', description: 'A row of an import that failed, and why' });
const ImportDetail = ImportBatch.extend({ failures: page(ImportFailure).describe('Failed rows in row order, a page at a time (limit, cursor)') })
  .meta({ id: 'ImportWithFailures', description: 'An import with a page of its failed rows' });
const ImportRow = z.object({
  row: z.number().int(), user: z.string(), userId: z.string().nullable().describe('The Causeway user it was imported for, once processed'),
  status: z.enum(ROW_STATUSES), connectionId: z.string().nullable().describe('imported: the new connection; skipped: the one already there'),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
}).meta({ id: 'ImportRow', description: 'A row of an import: its user, its status and the connection it made' });
const ImportParams = z.object({ importId: id('imp') });
const ImportRowsQuery = pageQuery.extend({ status: z.enum(ROW_STATUSES).optional() });

export const importRoutes = (core: Core): FastifyPluginAsyncZod => async (app) => {
  const tags = ['imports'];
  // A CSV body's rows keep their line numbers: failures then name the line to fix.
  const csvRows = new WeakMap<FastifyRequest, ImportRowInput[]>();
  app.addContentTypeParser('text/csv', { parseAs: 'string' }, (req, body, done) => {
    const provider = (req.query as { provider?: unknown } | undefined)?.provider;
    if (typeof provider !== 'string' || provider === '') {
      return done(new AppError('validation_failed', 'A text/csv body names its provider in the query: POST /v1/imports?provider=plaid.', { errors: [{ field: 'querystring.provider', message: 'required with a text/csv body' }] }), undefined);
    }
    const parsed = parseImportCsv(String(body));
    if (parsed.problems.length > 0) return done(invalidRows(parsed.problems, (n) => `line ${n}`), undefined);
    csvRows.set(req, parsed.rows);
    done(null, { provider, rows: parsed.rows.map((r) => ({ user: r.user, accessToken: r.accessToken, ...(r.institutionId ? { institutionId: r.institutionId } : {}) })) });
  });

  app.post('/imports', {
    bodyLimit: BODY_LIMIT,
    schema: {
      operationId: 'createImport', tags, summary: 'Import many provider links at once',
      description: "Bulk migration: each row's token is imported as POST /v1/users/{userId}/connections/import would, for the row's user (found, or created), at a pace the provider can bear, by the worker. Answers 202 with the batch; follow it with GET /v1/imports/{importId}. A token already imported for the same user is skipped (the existing connection is kept), so sending the same rows again never duplicates. A bad row refuses the whole request, naming each bad row. Also takes a text/csv body (up to 10 MB) with ?provider=plaid: lines of user,token[,institutionId], a header line optional; rows are then numbered by line.",
      querystring: CreateImportQuery, body: CreateImportBody,
      response: { 202: ok(ImportBatch, 'The batch, queued for the worker'), ...problems(400, 'import_not_supported', 403, 413, 415) },
    },
  }, async (req, reply) => {
    const csv = csvRows.get(req);
    if (!csv && req.query.provider !== undefined && req.query.provider !== req.body.provider) {
      throw new AppError('validation_failed', 'The provider in the query and in the body differ; name it once.', { errors: [{ field: 'querystring.provider', message: 'differs from body.provider' }] });
    }
    const rows = csv ?? req.body.rows.map((r, i) => ({ row: i + 1, user: r.user, accessToken: r.accessToken, institutionId: r.institutionId ?? null }));
    const batch = await startImport(core, tenantOf(req), {
      provider: req.body.provider, rows, ...(csv ? { rowField: (n: number) => `line ${n}` } : {}),
      ...(req.body.rowsPerSecond !== undefined ? { rowsPerSecond: req.body.rowsPerSecond } : {}),
      ...(req.body.concurrency !== undefined ? { concurrency: req.body.concurrency } : {}),
    });
    return reply.code(202).send(batch);
  });
  app.get('/imports', {
    schema: {
      operationId: 'listImports', tags, summary: 'Import batches, newest first', description: 'Every import of the application with its counts, a page at a time.',
      querystring: pageQuery, response: { 200: ok(page(ImportBatch), 'A page of imports'), ...problems(400) },
    },
  }, async (req) => listImports(core, tenantOf(req), req.query.cursor ?? null, req.query.limit));
  app.get('/imports/:importId', {
    schema: {
      operationId: 'getImport', tags, summary: 'An import batch with its counts and failed rows',
      description: 'The failed rows come a page at a time: limit and cursor page through them. Tokens are never shown.',
      params: ImportParams, querystring: pageQuery, response: { 200: ok(ImportDetail, 'The import with a page of its failed rows'), ...problems(400, 404) },
    },
  }, async (req) => getImport(core, tenantOf(req), req.params.importId, { cursor: req.query.cursor ?? null, limit: req.query.limit }));
  app.get('/imports/:importId/rows', {
    schema: {
      operationId: 'listImportRows', tags, summary: "An import batch's rows",
      description: 'Every row in order (or those of one status) with its user and connection: how each token of the batch maps to a connection.',
      params: ImportParams, querystring: ImportRowsQuery, response: { 200: ok(page(ImportRow), 'A page of rows'), ...problems(400, 404) },
    },
  }, async (req) => listImportRows(core, tenantOf(req), req.params.importId, { status: req.query.status, cursor: req.query.cursor ?? null, limit: req.query.limit }));
};
