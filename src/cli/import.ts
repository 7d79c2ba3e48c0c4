/**
 * `causeway import --provider plaid --file items.csv`: bulk migration from the command line. The
 * file becomes an import batch (services/imports.ts) that this process runs itself, or, when an
 * unfinished batch of the same application, provider and file content exists (a run killed or
 * stopped), that batch resumes: what is done is never done twice.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import cliProgress from 'cli-progress';
import { AppError } from '../domain/errors.js';
import { MAX_IMPORT_ROWS, parseImportCsv } from '../domain/import-rows.js';
import type { Provider } from '../providers/types.js';
import type { Core, Tenant } from '../services/core.js';
import {
  createImportBatch, findResumableImport, importBatchView, listImportRows, runImportBatch, type RowEvent, type WaitEvent,
} from '../services/imports.js';
import { chosenApplication, howToConfigure, loadConfig, providerRegistry, withCore, type Config } from './context.js';
import { CliError, count, say, UsageError } from './shared.js';

/** A provider's Retry-After this process waits out; a longer one stops the run (run the command again after it). */
const CLI_MAX_WAIT_MS = 10 * 60_000;
/** Without a terminal, one progress line per this many rows. */
const LINE_EVERY = 100;

function importingProvider(config: Config, id: string): Provider {
  const registry = providerRegistry(config);
  const provider = registry.get(id);
  if (!provider) throw new UsageError(`No provider ${id}. This server has: ${registry.list().map((p) => p.id).join(', ')}.`);
  if (!provider.importAccess) throw new UsageError(`The ${provider.name} provider cannot import existing links.`);
  return provider;
}

function numberOption(value: string | undefined, name: string, min: number, max: number, integer: boolean): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
    throw new UsageError(`--${name} must be a ${integer ? 'whole ' : ''}number from ${min} to ${max}`);
  }
  return n;
}

/** The file's rows, or a one-line-a-problem refusal naming each line that is not a row. */
function readRows(file: string) {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new CliError(`Cannot read ${file}: ${e.code === 'ENOENT' ? 'no such file' : e.code === 'EISDIR' ? 'it is a directory' : e.message}.`);
  }
  const { rows, problems } = parseImportCsv(bytes.toString('utf8'));
  if (problems.length > 0) {
    const shown = problems.slice(0, 20).map((p) => `  line ${p.row}: ${p.message}`);
    if (problems.length > 20) shown.push(`  … and ${count(problems.length - 20)} more`);
    throw new CliError(`${file}: ${count(problems.length)} line${problems.length === 1 ? ' is' : 's are'} not a row (user,token[,institutionId]), so nothing was imported:\n${shown.join('\n')}`);
  }
  if (rows.length === 0) throw new CliError(`${file} has no rows: one a line, user,token[,institutionId].`);
  if (rows.length > MAX_IMPORT_ROWS) throw new CliError(`${file} has ${count(rows.length)} rows; an import takes at most ${count(MAX_IMPORT_ROWS)}. Split the file.`);
  return { rows, hash: createHash('sha256').update(bytes).digest('hex') };
}

/** Progress on stderr: a bar on a terminal, else a line every LINE_EVERY rows, and a line for each wait the provider asks for. */
function importProgress(start: ReturnType<typeof importBatchView>['counts']) {
  const tty = process.stderr.isTTY === true;
  const bar = tty
    ? new cliProgress.SingleBar({
      format: 'import [{bar}] {value}/{total} rows  {imported} imported, {skipped} skipped, {failed} failed', stream: process.stderr,
      formatValue: (v, _o, type) => (type === 'value' || type === 'total' ? count(v) : String(v)),
    }, cliProgress.Presets.shades_classic)
    : null;
  const { total } = start;
  let done = total - start.pending;
  let payload = { imported: count(start.imported), skipped: count(start.skipped), failed: count(start.failed) };
  bar?.start(total, done, payload);
  let lastLine = done;
  return {
    row(e: RowEvent) {
      done = e.counts.imported + e.counts.skipped + e.counts.failed;
      payload = { imported: count(e.counts.imported), skipped: count(e.counts.skipped), failed: count(e.counts.failed) };
      if (bar) return bar.update(done, payload);
      if (done - lastLine >= LINE_EVERY || done === total) {
        lastLine = done;
        say(`${count(done)} of ${count(total)} rows: ${payload.imported} imported, ${payload.skipped} skipped, ${payload.failed} failed`);
      }
    },
    wait(e: WaitEvent) {
      bar?.stop();
      say(`The provider asked to slow down: waiting ${Math.ceil(e.ms / 1000)} s (${e.reason})`);
      bar?.start(total, done, payload);
    },
    finish() { bar?.stop(); },
  };
}

/** The summary on stdout: the counts, then every failed row with its line, user and reason. */
async function summarise(core: Core, tenant: Tenant, batchId: string, file: string, view: ReturnType<typeof importBatchView>) {
  const c = view.counts;
  process.stdout.write(`${view.id}: ${count(c.total)} rows from ${file}: ${count(c.imported)} imported, ${count(c.skipped)} skipped (already imported), ${count(c.failed)} failed${c.pending > 0 ? `, ${count(c.pending)} pending` : ''}\n`);
  if (c.failed === 0) return;
  process.stdout.write('Failed rows:\n');
  let cursor: string | null = null;
  do {
    const page: Awaited<ReturnType<typeof listImportRows>> = await listImportRows(core, tenant, batchId, { status: 'failed', cursor, limit: 500 });
    for (const r of page.data) process.stdout.write(`  line ${r.row}  ${r.user}  ${r.error?.code ?? ''}: ${r.error?.message ?? ''}\n`);
    cursor = page.nextCursor;
  } while (cursor);
}

export async function cmdImport(values: { provider?: string; file?: string; application?: string; rate?: string; concurrency?: string }): Promise<void> {
  if (!values.provider) throw new UsageError('import needs --provider ID (plaid, or sandbox for tokens from POST /v1/sandbox/tokens)');
  if (!values.file) throw new UsageError('import needs --file FILE (a CSV of user,token[,institutionId])');
  const config = loadConfig();
  const provider = importingProvider(config, values.provider);
  const rate = numberOption(values.rate, 'rate', 0, 1000, false);
  const concurrency = numberOption(values.concurrency, 'concurrency', 1, 32, true);
  const file = values.file;
  const { rows, hash } = readRows(file);

  await withCore(config, async (core) => {
    const application = await chosenApplication(core.db, values.application);
    const tenant: Tenant = { application, actor: 'system' };
    let batch = await findResumableImport(core, tenant, provider.id, hash);
    if (batch) {
      const v = importBatchView(batch);
      say(`Resuming import ${batch.id} of ${file}: ${count(v.counts.total - v.counts.pending)} of ${count(v.counts.total)} rows were done.`);
    } else {
      try {
        batch = await createImportBatch(core, tenant, {
          provider: provider.id, rows, source: 'cli', contentHash: hash, rowField: (n) => `line ${n}`,
          ...(rate !== undefined ? { rowsPerSecond: rate } : {}), ...(concurrency !== undefined ? { concurrency } : {}),
        });
      } catch (err) {
        if (err instanceof AppError && err.code === 'provider_not_configured') throw new CliError(`${provider.name} is not configured for ${application.name}: ${howToConfigure(provider)}.`);
        if (err instanceof AppError) throw new CliError(err.message);
        throw err;
      }
      say(`Import ${batch.id}: ${count(rows.length)} rows of ${file} for ${application.name} (${application.id}).`);
    }
    const progress = importProgress(importBatchView(batch).counts);
    // Ctrl-C: no new row starts, the rows in flight end, and the summary says what is left (run again to resume).
    const stop = new AbortController();
    const onSigint = () => { if (stop.signal.aborted) process.exit(130); say('Stopping after the rows in flight (Ctrl-C again to quit at once)…'); stop.abort(); };
    process.on('SIGINT', onSigint);
    let result;
    try {
      result = await runImportBatch(core, batch.id, {
        maxWaitMs: CLI_MAX_WAIT_MS, signal: stop.signal, onRow: progress.row, onWait: progress.wait,
        pace: { rowsPerSecond: rate ?? batch.rowsPerSecond, concurrency: concurrency ?? batch.concurrency },
      });
    } finally {
      progress.finish();
      process.off('SIGINT', onSigint);
    }
    if (!result) throw new CliError(`Import ${batch.id} no longer exists (its application was deleted).`);
    await summarise(core, tenant, batch.id, file, importBatchView(result.batch));
    const pending = importBatchView(result.batch).counts.pending;
    if (result.waitUntil) {
      throw new CliError(`${provider.name} asked to wait until ${result.waitUntil.toISOString()}; ${count(pending)} rows are pending. Run the same command again after then: it resumes.`);
    }
    if (result.batch.status !== 'completed') throw new CliError(`Stopped with ${count(pending)} rows pending. Run the same command again: it resumes.`);
  });
}
