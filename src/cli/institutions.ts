/**
 * `causeway institutions sync|list`. sync opens the core as `start` does, without serving or
 * working, and copies the providers' catalogues through services/catalogue.ts; a bar on a
 * terminal, a line a page otherwise.
 */
import cliProgress from 'cli-progress';
import { searchInstitutions } from '../db/repos/providers.js';
import { AppError } from '../domain/errors.js';
import { ProviderError, type Provider } from '../providers/types.js';
import { syncCatalogues, type SyncProgress } from '../services/catalogue.js';
import { anySettings } from '../services/providers.js';
import { howToConfigure, loadConfig, namedProvider, providerRegistry, withCore, withDatabase } from './context.js';
import { CliError, count, say, UsageError } from './shared.js';

/**
 * A sync's progress on stderr: a bar when stderr is a terminal, else one line a page, so logs and
 * CI show how far it got. stdout keeps only the counts.
 */
function progressDisplay() {
  const tty = process.stderr.isTTY === true;
  let bar: cliProgress.SingleBar | null = null;
  let current: string | null = null;
  const finish = () => { bar?.stop(); bar = null; current = null; };
  const onProgress = (p: SyncProgress) => {
    if (!tty) {
      say(`${p.provider}: ${count(p.done)}${p.total !== null ? ` of ${count(p.total)}` : ''} institutions`);
      return;
    }
    if (current !== p.provider) {
      finish();
      current = p.provider;
      bar = new cliProgress.SingleBar({
        format: `${p.provider.padEnd(8)} [{bar}] {value}/{total} institutions`, stream: process.stderr,
        formatValue: (v, _o, type) => (type === 'value' || type === 'total' ? count(v) : String(v)),
      }, cliProgress.Presets.shades_classic);
      bar.start(p.total ?? p.done, 0);
    }
    if (p.total !== null) bar!.setTotal(p.total);
    else if (p.done > bar!.getTotal()) bar!.setTotal(p.done);
    bar!.update(p.done);
  };
  return { onProgress, finish };
}

/**
 * A provider's refusal for the operator: its technical part when the message also carries words
 * meant for end users (Plaid's: "… (Plaid INVALID_API_KEYS on /institutions/get: …)").
 */
function forOperator(err: ProviderError | AppError): string {
  if (!(err instanceof ProviderError)) return err.message;
  const technical = [...err.message.matchAll(/\(([^()]*)\)/g)].map((m) => m[1]!).find((t) => t.includes(err.providerCode));
  return technical ?? `${err.message.replace(/\.$/, '')} (${err.providerCode})`;
}

export async function institutionsSync(only: string | undefined): Promise<void> {
  const config = loadConfig();
  const named = only !== undefined ? namedProvider(config, only) : null;
  await withCore(config, async (core) => {
    const ready: Provider[] = [];
    const missing: Provider[] = [];
    for (const provider of core.providers.list()) {
      if (named && provider.id !== named.id) continue;
      ((await anySettings(core, provider)) === null ? missing : ready).push(provider);
    }
    if (named && missing.length > 0) throw new CliError(`${named.name} is not configured, so its catalogue cannot be read: ${howToConfigure(named)}.`);
    const failures: string[] = [];
    // One provider at a time, so a failure names its provider and the others still sync.
    for (const provider of ready) {
      const progress = progressDisplay();
      let last: SyncProgress | null = null;
      try {
        const results = await syncCatalogues(core, { all: true, only: provider.id }, (p) => { last = p; progress.onProgress(p); });
        progress.finish();
        for (const r of results) process.stdout.write(`${r.provider}: ${count(r.synced)} institution${r.synced === 1 ? '' : 's'}\n`);
      } catch (err) {
        progress.finish();
        if (!(err instanceof ProviderError) && !(err instanceof AppError)) throw err;
        const at = last as SyncProgress | null;
        const kept = at ? ` after ${count(at.done)}${at.total !== null ? ` of ${count(at.total)}` : ''} institutions (those are kept)` : '';
        failures.push(`${provider.id}: the catalogue sync failed${kept}: ${forOperator(err)}`);
      }
    }
    for (const p of missing) say(`${p.id}: not configured, skipped; to sync it, ${howToConfigure(p)}.`);
    if (failures.length === 1) throw new CliError(failures[0]!);
    if (failures.length > 1) throw new CliError(`${failures.length} catalogue syncs failed:\n  ${failures.join('\n  ')}`);
  });
}

export async function institutionsList(values: { search?: string; provider?: string; country?: string; limit: string }): Promise<void> {
  const limit = Number(values.limit);
  if (!/^\d+$/.test(values.limit) || limit < 1 || limit > 1000) throw new UsageError('--limit must be a whole number from 1 to 1000');
  if (values.country !== undefined && !/^[A-Za-z]{2}$/.test(values.country)) throw new UsageError('--country must be a two-letter country code (US, GB, …)');
  const config = loadConfig();
  const providers = values.provider !== undefined ? [namedProvider(config, values.provider).id] : providerRegistry(config).list().map((p) => p.id);
  await withDatabase(config, async ({ db }) => {
    const rows = await searchInstitutions(db, { providers, search: values.search?.trim() || undefined, country: values.country?.toUpperCase(), limit: limit + 1 });
    if (rows.length === 0) {
      say(values.search || values.country ? 'No institutions match.' : `No institutions yet. Fill the catalogue with: npx causeway institutions sync${values.provider ? ` --provider ${values.provider}` : ''}`);
    }
    for (const r of rows.slice(0, limit)) {
      process.stdout.write(`${r.id}  ${r.name}  ${r.country}  ${r.provider}  ${r.methods.join(',')}\n`);
    }
    if (rows.length > limit) say(`Showing the first ${limit}; narrow with --search or raise --limit.`);
  });
}
