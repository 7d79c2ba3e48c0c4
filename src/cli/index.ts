/**
 * The `causeway` command: start, migrate, applications create|list, keys create|list|revoke,
 * operators create, institutions sync|list, import (cli/import.ts).
 * Output meant for scripts (a new key, a sync's counts) goes to stdout alone; messages and progress go to stderr.
 */
import { parseArgs } from 'node:util';
import cliProgress from 'cli-progress';
import { ConfigError, loadConfig, type Config } from '../config.js';
import { systemClock } from '../domain/clock.js';
import { openDatabase, runMigrations, type Database } from '../db/open.js';
import { DataDirLockedError } from '../db/lock.js';
import { findDefaultApplication, listApiKeys, listApplications, revokeApiKey } from '../db/repos/applications.js';
import { searchInstitutions } from '../db/repos/providers.js';
import { AppError } from '../domain/errors.js';
import { builtInProviders, createRegistry } from '../providers/registry.js';
import { ProviderError, type Provider } from '../providers/types.js';
import { start, type Role } from '../runtime.js';
import { syncCatalogues, type SyncProgress } from '../services/catalogue.js';
import { anySettings } from '../services/providers.js';
import { createOperator } from '../services/access.js';
import { createApiKey, createApplication, ensureDefaultApplication, type Environment } from '../services/applications.js';
import { CliError, chosenApplication, count, howToConfigure, say, UsageError, withCore } from './shared.js';
import { cmdImport } from './import.js';

const USAGE = `Usage: causeway <command>

Commands:
  start [--role api|worker|all]   Run the API and/or the job worker (default: all)
  migrate                         Apply database migrations and exit
  applications create --name NAME [--environment sandbox|live]
                                  Create an application (a tenant: its own users, connections and
                                  keys; default sandbox); prints only its id. Live applications may
                                  not call /v1/sandbox/* nor use the sandbox provider
  applications list               List applications (id, name, environment, created, default)
  keys create --name NAME [--application ID]
                                  Create an API key (for the default application unless given);
                                  prints only the key
  keys list [--application ID]    List API keys (prefix, name, created, revoked)
  keys revoke ID_OR_PREFIX        Revoke a key
  operators create --email EMAIL [--password P] [--application ID]
                                  Create a dashboard sign-in (for the default application unless
                                  given); prints the password (generated unless given) on stdout, this once
  institutions sync [--provider ID]
                                  Copy the providers' institution catalogues into the database now
                                  (all configured providers unless given; the worker also does it
                                  every CAUSEWAY_CATALOGUE_SYNC_HOURS); prints a count per provider
  institutions list [--search TEXT] [--provider ID] [--country CC] [--limit N]
                                  List institutions in the database (id, name, country, provider, methods)
  import --provider ID --file FILE [--application ID] [--rate N] [--concurrency N]
                                  Bulk migration: import a CSV of user,token[,institutionId] (existing
                                  Plaid Items, say) as connections, with progress and a summary of
                                  failures; run again to resume, never duplicating (import --help)

Settings come from the environment: DATABASE_URL (unset: embedded database in CAUSEWAY_DATA_DIR,
default ./data), PORT (3000), HOST (127.0.0.1), CAUSEWAY_ENCRYPTION_KEY (required with DATABASE_URL),
CAUSEWAY_PLAID_CLIENT_ID and CAUSEWAY_PLAID_SECRET (Plaid for every application), CAUSEWAY_PLAID_ENV
(sandbox or production), CAUSEWAY_PUBLIC_URL (where browsers and providers' webhooks reach this server).`;

const INSTITUTIONS_USAGE = `Usage: causeway institutions <sync|list>

  institutions sync [--provider ID]
      Copies each configured provider's institutions into the database, a page at a time, and
      prints a count per provider on stdout (\`plaid: 2,513 institutions\`); progress goes to stderr.
      Without --provider: every provider that has settings. The worker does this on its own too:
      empty catalogues at start, all of them every CAUSEWAY_CATALOGUE_SYNC_HOURS (default 24).
  institutions list [--search TEXT] [--provider ID] [--country CC] [--limit N]
      Institutions in the database by name (default limit 50, at most 1000): id, name, country,
      provider, methods. --search matches any part of the name.

A provider reads its catalogue with the deployment's settings (Plaid: CAUSEWAY_PLAID_CLIENT_ID,
CAUSEWAY_PLAID_SECRET, CAUSEWAY_PLAID_ENV), else with one application's own
(PUT /v1/application/providers/plaid).`;

async function withDatabase<T>(config: Config, fn: (db: Database) => Promise<T>): Promise<T> {
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: 2 });
  try {
    await runMigrations(database);
    return await fn(database);
  } finally {
    await database.close();
  }
}

async function cmdStart(config: Config, role: Role) {
  const running = await start(config, role);
  const { core } = running;
  const where = config.databaseUrl ? 'PostgreSQL' : `the embedded database in ${config.dataDir}`;
  const { application, created } = await ensureDefaultApplication(core.db, systemClock);
  if (running.url) say(`Causeway is running at ${running.url} (role ${role}, ${where}).`);
  else say(`Causeway worker is running (${where}).`);
  if (created) {
    const key = await createApiKey(core.db, systemClock, application, 'default');
    say('Created the default sandbox application and its first API key. It is shown only this once, so keep it:');
    say('');
    say(`  ${key.key}`);
    say('');
    if (running.url) say(`Try it:  curl -H "Authorization: Bearer ${key.key}" ${running.url}/v1/institutions`);
  } else if (running.url) {
    say('Create an API key with: npx causeway keys create --name my-key');
  }
  if (running.url) {
    say(`API reference: ${running.url}/openapi.json`);
    say(`Dashboard:     ${running.url}/dashboard (sign in with an API key, or an operator: npx causeway operators create --email you@example.com)`);
  }
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    say(`${signal}: stopping…`);
    const force = setTimeout(() => process.exit(1), 15_000);
    force.unref();
    await running.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

async function cmdApplications(config: Config, sub: string | undefined, args: string[]) {
  const { values } = parseArgs({ args, options: { name: { type: 'string' }, environment: { type: 'string', default: 'sandbox' } } });
  if (sub === 'create') {
    const name = values.name?.trim();
    if (!name || name.length > 200) throw new UsageError('applications create needs --name NAME (1 to 200 characters)');
    if (values.environment !== 'sandbox' && values.environment !== 'live') throw new UsageError('--environment must be sandbox or live');
    const environment: Environment = values.environment;
    await withDatabase(config, async ({ db }) => {
      const application = await createApplication(db, systemClock, { name, environment });
      say(`Created the ${environment} application ${application.name}. Create its first API key with: npx causeway keys create --application ${application.id} --name NAME`);
      process.stdout.write(`${application.id}\n`);
    });
  } else if (sub === 'list') {
    await withDatabase(config, async ({ db }) => {
      const applications = await listApplications(db);
      if (applications.length === 0) say('No applications yet. `causeway start` creates the default one; or: npx causeway applications create --name NAME');
      for (const a of applications) {
        process.stdout.write(`${a.id}  ${a.name}  ${a.environment}  created ${a.createdAt.toISOString()}${a.isDefault ? '  default' : ''}\n`);
      }
    });
  } else {
    throw new UsageError('applications takes create or list');
  }
}

async function cmdKeys(config: Config, sub: string | undefined, args: string[]) {
  const { values, positionals } = parseArgs({ args, options: { name: { type: 'string' }, application: { type: 'string' } }, allowPositionals: true });
  await withDatabase(config, async ({ db }) => {
    if (sub === 'create') {
      if (!values.name) throw new UsageError('keys create needs --name NAME');
      const application = await chosenApplication(db, values.application);
      const key = await createApiKey(db, systemClock, application, values.name);
      if (values.application !== undefined) say(`Created a ${application.environment} key for ${application.name} (${application.id}). It is shown only this once:`);
      process.stdout.write(`${key.key}\n`);
    } else if (sub === 'list') {
      const application = values.application !== undefined ? await chosenApplication(db, values.application) : await findDefaultApplication(db);
      const keys = application ? await listApiKeys(db, application.id) : [];
      if (keys.length === 0) say('No API keys yet. Create one with: npx causeway keys create --name NAME');
      for (const k of keys) {
        process.stdout.write(`${k.id}  ${k.prefix}…  ${k.name}  created ${k.createdAt.toISOString()}${k.revokedAt ? `  revoked ${k.revokedAt.toISOString()}` : ''}\n`);
      }
    } else if (sub === 'revoke') {
      const target = positionals[0];
      if (!target) throw new UsageError('keys revoke needs the key id (key_…) or its shown prefix');
      const n = await revokeApiKey(db, target, new Date());
      if (n === 0) throw new UsageError(`No live key matches ${target}. See: npx causeway keys list`);
      say(`Revoked ${n} key${n === 1 ? '' : 's'}.`);
    } else {
      throw new UsageError('keys takes create, list or revoke');
    }
  });
}

async function cmdOperators(config: Config, sub: string | undefined, args: string[]) {
  const { values } = parseArgs({ args, options: { email: { type: 'string' }, password: { type: 'string' }, application: { type: 'string' } } });
  if (sub !== 'create') throw new UsageError('operators takes create');
  if (!values.email || !/^[^@\s]+@[^@\s]+$/.test(values.email)) throw new UsageError('operators create needs --email EMAIL');
  if (values.password !== undefined && values.password.length < 8) throw new UsageError('--password must be at least 8 characters');
  await withDatabase(config, async ({ db }) => {
    const application = await chosenApplication(db, values.application);
    try {
      const operator = await createOperator(db, systemClock, application, values.email!, values.password);
      say(`Created operator ${operator.email}. Sign in at /dashboard with this password (shown only this once):`);
      process.stdout.write(`${operator.password}\n`);
    } catch (err) {
      if ((err as { cause?: { code?: string }; code?: string }).cause?.code === '23505' || (err as { code?: string }).code === '23505') {
        throw new UsageError(`An operator ${values.email} already exists.`);
      }
      throw err;
    }
  });
}

/** The provider named by --provider, checked before the database is opened. */
function namedProvider(config: Config, id: string): Provider {
  const registry = createRegistry(builtInProviders({ sandboxLatencyMs: config.sandboxLatencyMs }));
  const provider = registry.get(id);
  if (!provider) throw new UsageError(`No provider ${id}. This server has: ${registry.list().map((p) => p.id).join(', ')}.`, INSTITUTIONS_USAGE);
  return provider;
}

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

async function cmdInstitutionsSync(config: Config, only: string | undefined) {
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

async function cmdInstitutionsList(config: Config, values: { search?: string; provider?: string; country?: string; limit?: string }) {
  const limit = values.limit === undefined ? 50 : Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new UsageError('--limit must be a whole number from 1 to 1000', INSTITUTIONS_USAGE);
  if (values.country !== undefined && !/^[A-Za-z]{2}$/.test(values.country)) throw new UsageError('--country must be a two-letter country code (US, GB, …)', INSTITUTIONS_USAGE);
  const providers = values.provider !== undefined
    ? [namedProvider(config, values.provider).id]
    : createRegistry(builtInProviders({ sandboxLatencyMs: config.sandboxLatencyMs })).list().map((p) => p.id);
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

async function cmdInstitutions(config: Config, sub: string | undefined, args: string[]) {
  if (sub === undefined || sub === 'help' || sub === '--help' || sub === '-h') { say(INSTITUTIONS_USAGE); return; }
  if (sub !== 'sync' && sub !== 'list') throw new UsageError('institutions takes sync or list', INSTITUTIONS_USAGE);
  const common = { provider: { type: 'string' }, help: { type: 'boolean', short: 'h' } } as const;
  const listing = { search: { type: 'string' }, country: { type: 'string' }, limit: { type: 'string' } } as const;
  let values: { provider?: string; search?: string; country?: string; limit?: string; help?: boolean };
  try {
    values = sub === 'sync' ? parseArgs({ args, options: common }).values : parseArgs({ args, options: { ...common, ...listing } }).values;
  } catch (err) {
    if (/^ERR_PARSE_ARGS_/.test((err as { code?: string }).code ?? '')) throw new UsageError((err as Error).message, INSTITUTIONS_USAGE);
    throw err;
  }
  if (values.help) { say(INSTITUTIONS_USAGE); return; }
  if (sub === 'sync') await cmdInstitutionsSync(config, values.provider);
  else await cmdInstitutionsList(config, values);
}

export async function main(argv: string[]): Promise<void> {
  const [command, sub, ...rest] = argv;
  try {
    const config = loadConfig();
    if (command === 'start') {
      const { values } = parseArgs({ args: argv.slice(1), options: { role: { type: 'string', default: 'all' } } });
      if (!['api', 'worker', 'all'].includes(values.role!)) throw new UsageError('--role must be api, worker or all');
      await cmdStart(config, values.role as Role);
    } else if (command === 'migrate') {
      await withDatabase(config, async () => say('Migrations applied.'));
    } else if (command === 'applications') {
      await cmdApplications(config, sub, rest);
    } else if (command === 'keys') {
      await cmdKeys(config, sub, rest);
    } else if (command === 'operators') {
      await cmdOperators(config, sub, rest);
    } else if (command === 'institutions') {
      await cmdInstitutions(config, sub, rest);
    } else if (command === 'import') {
      await cmdImport(config, argv.slice(1));
    } else if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
      say(USAGE);
    } else {
      throw new UsageError(`Unknown command ${command}`);
    }
  } catch (err) {
    if (err instanceof UsageError) { say(`${err.message}\n\n${err.usage ?? USAGE}`); process.exit(2); }
    if (/^ERR_PARSE_ARGS_/.test((err as { code?: string }).code ?? '')) { say(`${(err as Error).message}\n\n${USAGE}`); process.exit(2); }
    if (err instanceof ConfigError || err instanceof DataDirLockedError || err instanceof CliError) { say(`causeway: ${err.message}`); process.exit(1); }
    throw err;
  }
}
