/**
 * Bulk migration (issue 13): an application's existing provider links (thousands of Plaid Items,
 * say) brought in at once as an import batch, each row through the single import.
 *
 *   POST /v1/imports ──► batch + rows (tokens encrypted) ──► queue `import-batch` ──► runImportBatch (worker)
 *   causeway import  ──► the same batch (source cli), or its unfinished one ──────────► runImportBatch (in the CLI)
 *
 * The run is in import-run.ts. A worker killed mid-run leaves its pg-boss job to be retried, which
 * resumes; a run that stopped moving for STALL_MS (a lost send, retries spent) is sent again by the
 * worker's sweep; a Retry-After longer than a run waits hands on to a job that starts after it.
 */
import { randomUUID } from 'node:crypto';
import { AppError, notFound } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import { MAX_IMPORT_ROWS, rowProblem, type ImportRowInput, type RowProblem } from '../domain/import-rows.js';
import {
  findBatch, findUnfinishedCliBatch, insertBatch, listBatches, listRows, setBatchWait, takeStalledBatches,
  type ImportBatchRow, type ImportRowRow, type RowStatus,
} from '../db/repos/imports.js';
import { withTransaction } from '../db/transaction.js';
import { tenantClock, type Core, type Tenant } from './core.js';
import { idPage, pageOf, readCursor, readIdCursor, SeqPosition } from './cursor.js';
import { runImportBatch } from './import-run.js';
import { requireUsable } from './providers.js';

export { runImportBatch, type RowEvent, type RunOptions, type RunResult, type WaitEvent } from './import-run.js';

/** 10 rows a second, 4 at once: a 10,000-row batch in about 17 minutes, well inside Plaid's /item/get limits. */
export const DEFAULT_PACE = { rowsPerSecond: 10, concurrency: 4 } as const;
/** A worker's run waits out a Retry-After up to a minute; a longer one hands on to a job that starts after it. */
const JOB_MAX_WAIT_MS = 60_000;
/** An API batch whose rows have not moved for this long while not waiting for the provider is sent again. */
const STALL_MS = 5 * 60_000;
/** Bad rows named in one refusal (the message counts the rest). */
const PROBLEMS_SHOWN = 100;

export interface NewImport {
  provider: string;
  rows: ImportRowInput[];
  /** Rows that could not be read (a CSV line with one column, say), refused with the rest. */
  problems?: RowProblem[];
  source: 'api' | 'cli';
  /** CLI: SHA-256 of the file, so a second run finds this batch. */
  contentHash?: string;
  rowsPerSecond?: number;
  concurrency?: number;
  /** Where a row is, for a refusal's `errors[].field`: `body.rows.0` for JSON (the default), `line 3` for a file. */
  rowField?: (row: number) => string;
}

/** A bulk import's state, counts and times. Never a token. */
export function importBatchView(b: ImportBatchRow) {
  const iso = (d: Date | null) => (d ? d.toISOString() : null);
  return {
    id: b.id, status: b.status, provider: b.provider, source: b.source,
    counts: { total: b.total, imported: b.imported, skipped: b.skipped, failed: b.failed, pending: b.total - b.imported - b.skipped - b.failed },
    waitUntil: iso(b.waitUntil), createdAt: b.createdAt.toISOString(), startedAt: iso(b.startedAt), finishedAt: iso(b.finishedAt),
  };
}

export function importRowView(r: ImportRowRow) {
  return {
    row: r.rowNumber, user: r.userRef, userId: r.userId, status: r.status, connectionId: r.connectionId,
    error: r.errorCode ? { code: r.errorCode, message: r.errorMessage ?? '' } : null,
  };
}

function failureView(r: ImportRowRow) {
  return { row: r.rowNumber, user: r.userRef, code: r.errorCode ?? 'internal_error', message: r.errorMessage ?? '' };
}

/** The provider the batch names, usable by this application and able to import. */
async function importProvider(core: Core, tenant: Tenant, id: string) {
  const provider = core.providers.get(id);
  if (!provider) {
    throw new AppError('validation_failed', `No provider ${id}. This server has: ${core.providers.list().map((p) => p.id).join(', ')}.`,
      { errors: [{ field: 'body.provider', message: `one of: ${core.providers.list().map((p) => p.id).join(', ')}` }] });
  }
  if (!provider.importAccess) throw new AppError('import_not_supported', `The ${provider.name} provider cannot import connections; create them with the users instead.`);
  await requireUsable(core, tenant.application, provider);
  return provider;
}

/** The refusal of a batch with bad rows: each named where it is (`field`), the first in the message. */
export function invalidRows(problems: RowProblem[], field: (row: number) => string): AppError {
  const sorted = [...problems].sort((a, b) => a.row - b.row);
  const shown = sorted.slice(0, 5).map((p) => `${field(p.row)}: ${p.message}`).join('; ');
  return new AppError('validation_failed', `${sorted.length} row${sorted.length === 1 ? ' is' : 's are'} not valid, so nothing was imported: ${shown}${sorted.length > 5 ? '; …' : ''}.`,
    { errors: sorted.slice(0, PROBLEMS_SHOWN).map((p) => ({ field: field(p.row), message: p.message })) });
}

/** Checks every row and stores the batch with its rows (tokens encrypted), queued; nothing is stored when a row is bad. */
export async function createImportBatch(core: Core, tenant: Tenant, input: NewImport): Promise<ImportBatchRow> {
  const provider = await importProvider(core, tenant, input.provider);
  const problems = [...(input.problems ?? [])];
  for (const r of input.rows) {
    const problem = rowProblem(r);
    if (problem) problems.push({ row: r.row, message: problem });
  }
  if (problems.length > 0) throw invalidRows(problems, input.rowField ?? ((row: number) => `body.rows.${row - 1}`));
  if (input.rows.length === 0) throw new AppError('validation_failed', 'The import has no rows.', { errors: [{ field: 'body.rows', message: 'at least one row' }] });
  if (input.rows.length > MAX_IMPORT_ROWS) {
    throw new AppError('validation_failed', `An import takes at most ${MAX_IMPORT_ROWS.toLocaleString('en-US')} rows; this one has ${input.rows.length.toLocaleString('en-US')}. Split it into several.`,
      { errors: [{ field: 'body.rows', message: `at most ${MAX_IMPORT_ROWS} rows` }] });
  }
  const now = tenantClock(core, tenant.application).now();
  const id = newId('imp', now.getTime());
  const applicationId = tenant.application.id;
  return withTransaction(core.db, (tx) => insertBatch(tx, {
    id, applicationId, provider: provider.id, status: 'queued', source: input.source, contentHash: input.contentHash ?? null,
    actor: tenant.actor ?? null, rowsPerSecond: input.rowsPerSecond ?? DEFAULT_PACE.rowsPerSecond, concurrency: input.concurrency ?? DEFAULT_PACE.concurrency,
    total: input.rows.length, queueJobId: input.source === 'api' ? randomUUID() : null, createdAt: now, updatedAt: core.clock.now(),
  }, input.rows.map((r) => ({
    batchId: id, applicationId, rowNumber: r.row, userRef: r.user, institutionId: r.institutionId,
    tokenEnc: core.cipher.encrypt(r.accessToken), tokenFingerprint: core.cipher.fingerprint(`import token\n${r.accessToken}`), updatedAt: now,
  }))));
}

/** POST /v1/imports: the batch, its run sent to the worker. */
export async function startImport(core: Core, tenant: Tenant, input: Omit<NewImport, 'source' | 'contentHash'>) {
  const batch = await createImportBatch(core, tenant, { ...input, source: 'api' });
  await core.queue.enqueueImport({ id: batch.id, queueJobId: batch.queueJobId! });
  return importBatchView(batch);
}

/** The CLI's unfinished batch of the same application, provider and file content, to resume. */
export async function findResumableImport(core: Core, tenant: Tenant, provider: string, contentHash: string) {
  return findUnfinishedCliBatch(core.db, tenant.application.id, provider, contentHash);
}

async function requireBatch(core: Core, tenant: Tenant, id: string) {
  const batch = await findBatch(core.db, tenant.application.id, id);
  if (!batch) throw notFound('import', id);
  return batch;
}

/** Rows of one batch by row number: the cursor is the last row number, signed. */
async function rowPage(core: Core, tenant: Tenant, batchId: string, statuses: RowStatus[] | undefined, cursor: string | null, limit: number) {
  const afterRow = cursor ? readCursor(core, tenant, 'import_rows', cursor, SeqPosition) : 0;
  const rows = await listRows(core.db, batchId, { ...(statuses ? { statuses } : {}), afterRow, limit: limit + 1 });
  return pageOf(core, tenant, 'import_rows', rows, limit, (r) => r.rowNumber);
}

/** GET /v1/imports/{id}: the batch with its failed rows, a page at a time. */
export async function getImport(core: Core, tenant: Tenant, id: string, page: { cursor: string | null; limit: number }) {
  const batch = await requireBatch(core, tenant, id);
  const failures = await rowPage(core, tenant, batch.id, ['failed'], page.cursor, page.limit);
  return { ...importBatchView(batch), failures: { data: failures.page.map(failureView), nextCursor: failures.nextCursor } };
}

/** GET /v1/imports/{id}/rows: every row (or those of one status) with its user and connection. */
export async function listImportRows(core: Core, tenant: Tenant, id: string, q: { status?: RowStatus; cursor: string | null; limit: number }) {
  const batch = await requireBatch(core, tenant, id);
  const rows = await rowPage(core, tenant, batch.id, q.status ? [q.status] : undefined, q.cursor, q.limit);
  return { data: rows.page.map(importRowView), nextCursor: rows.nextCursor };
}

export async function listImports(core: Core, tenant: Tenant, cursor: string | null, limit: number) {
  const rows = await listBatches(core.db, tenant.application.id, readIdCursor(core, tenant, 'imports', cursor), limit + 1);
  return idPage(core, tenant, 'imports', rows, limit, importBatchView);
}

/** The worker's job: run the batch; a long Retry-After hands on to a job that starts when it ends. */
export async function runImportBatchJob(core: Core, batchId: string, signal?: AbortSignal): Promise<void> {
  const result = await runImportBatch(core, batchId, { maxWaitMs: JOB_MAX_WAIT_MS, ...(signal ? { signal } : {}) });
  // Thrown, so pg-boss retries the job: the retry (here or in another worker) resumes the batch.
  if (result?.stopped) throw new Error(`import ${batchId} stopped with rows pending (the worker is shutting down)`);
  if (!result?.waitUntil) return;
  const queueJobId = randomUUID();
  await setBatchWait(core.db, batchId, result.waitUntil, queueJobId, core.clock.now());
  await core.queue.enqueueImport({ id: batchId, queueJobId }, result.waitUntil);
}

/** The worker's sweep: API batches whose run stopped moving are sent again (a resumed run takes the pending rows). */
export async function resumeStalledImports(core: Core): Promise<number> {
  const now = core.clock.now();
  const taken = await takeStalledBatches(core.db, new Date(now.getTime() - STALL_MS), now, randomUUID);
  for (const b of taken) await core.queue.enqueueImport({ id: b.id, queueJobId: b.queueJobId! });
  return taken.length;
}
