/**
 * What the commands that reach the database share: the configuration, the database or the whole
 * core for the length of one command, the application a command acts for, and what to set for a
 * provider without settings.
 */
import { loadConfig, type Config } from '../config.js';
import { systemClock } from '../domain/clock.js';
import type { Db, Database } from '../db/open.js';
import { findApplication, type ApplicationRow } from '../db/repos/applications.js';
import { builtInProviders, createRegistry } from '../providers/registry.js';
import type { Provider } from '../providers/types.js';
import { createCore, migrate, openDatabaseChecked, silentProgress, stopJobs, type StartProgress } from '../runtime.js';
import { ensureDefaultApplication } from '../services/applications.js';
import type { Core } from '../services/core.js';
import { printedProgress } from './progress.js';
import { UsageError } from './shared.js';

export { loadConfig, type Config };

/**
 * A one-shot command's start-up steps: shown on a terminal (a first command on an empty data
 * directory waits for the database to be created), silent otherwise, so scripts read only the answer.
 */
export function oneShotProgress(): StartProgress {
  return process.stderr.isTTY === true ? printedProgress() : silentProgress;
}

/** The database, migrated, for the length of `fn`. */
export async function withDatabase<T>(config: Config, fn: (database: Database) => Promise<T>, progress = oneShotProgress()): Promise<T> {
  const database = await openDatabaseChecked(config, progress, { poolSize: 2 });
  try {
    await migrate(database, progress);
    return await fn(database);
  } finally {
    await database.close();
  }
}

/** The core (database, queue, providers) for a one-shot command, closed after `fn`; logs only warnings unless LOG_LEVEL says otherwise. */
export async function withCore<T>(config: Config, fn: (core: Core) => Promise<T>): Promise<T> {
  const core = await createCore(config, { logLevel: process.env.LOG_LEVEL ? config.logLevel : 'warn', progress: oneShotProgress() });
  try {
    return await fn(core);
  } finally {
    await stopJobs(core).catch(() => {});
    await core.database.close();
  }
}

/** The application named by --application, else the default one (created on an empty database). */
export async function chosenApplication(db: Db, id: string | undefined): Promise<ApplicationRow> {
  if (id === undefined) return (await ensureDefaultApplication(db, systemClock)).application;
  const found = await findApplication(db, id);
  if (!found) throw new UsageError(`No application ${id}. See: npx causeway applications list`);
  return found;
}

/** The built-in providers, as this configuration makes them. */
export function providerRegistry(config: Config) {
  return createRegistry(builtInProviders({ sandboxLatencyMs: config.sandboxLatencyMs }));
}

/** The provider named by --provider, checked before the database is opened. */
export function namedProvider(config: Config, id: string): Provider {
  const registry = providerRegistry(config);
  const provider = registry.get(id);
  if (!provider) throw new UsageError(`No provider ${id}. This server has: ${registry.list().map((p) => p.id).join(', ')}.`);
  return provider;
}

/** What to set for a provider without settings: its required fields as CAUSEWAY_<PROVIDER>_<FIELD> (Plaid: CLIENT_ID, SECRET). */
export function howToConfigure(provider: Provider): string {
  const vars = (provider.settingFields ?? []).filter((f) => f.required)
    .map((f) => `CAUSEWAY_${provider.id.toUpperCase()}_${f.name.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`);
  const env = vars.length > 1 ? `${vars.slice(0, -1).join(', ')} and ${vars[vars.length - 1]}` : vars[0] ?? '';
  const environment = provider.settingFields?.some((f) => f.name === 'environment') ? ` (and CAUSEWAY_${provider.id.toUpperCase()}_ENV=production for production keys)` : '';
  return `set ${env}${environment}, or give an application its own with PUT /v1/application/providers/${provider.id}`;
}
