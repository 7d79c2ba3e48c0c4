/** What every `causeway` command shares: messages, errors that end it, the application it acts for, the core. */
import type { Config } from '../config.js';
import { systemClock } from '../domain/clock.js';
import type { Db } from '../db/open.js';
import { findApplication, type ApplicationRow } from '../db/repos/applications.js';
import type { Provider } from '../providers/types.js';
import { createCore } from '../runtime.js';
import { ensureDefaultApplication } from '../services/applications.js';
import type { Core } from '../services/core.js';

/** Messages and progress go to stderr; stdout keeps what a script reads. */
export const say = (line: string) => process.stderr.write(`${line}\n`);

export const count = (n: number) => n.toLocaleString('en-US');

/** A mistake in the command: the message, then the usage (of the command, if it has its own; else the general one). Exit code 2. */
export class UsageError extends Error {
  constructor(message: string, readonly usage: string | null = null) { super(message); }
}
/** The command was right but cannot be done as things are (a provider without settings, a provider's refusal): one line. Exit code 1. */
export class CliError extends Error {}

/** The application named by --application, else the default one (created on an empty database). */
export async function chosenApplication(db: Db, id: string | undefined): Promise<ApplicationRow> {
  if (id === undefined) return (await ensureDefaultApplication(db, systemClock)).application;
  const found = await findApplication(db, id);
  if (!found) throw new UsageError(`No application ${id}. See: npx causeway applications list`);
  return found;
}

/** The core (database, queue, providers) for a one-shot command, closed after `fn`; logs only warnings unless LOG_LEVEL says otherwise. */
export async function withCore<T>(config: Config, fn: (core: Core) => Promise<T>): Promise<T> {
  const core = await createCore(config, { logLevel: process.env.LOG_LEVEL ? config.logLevel : 'warn' });
  try {
    return await fn(core);
  } finally {
    await core.queue.stop().catch(() => {});
    await core.database.close();
  }
}

/** What to set for a provider without settings: its required fields as CAUSEWAY_<PROVIDER>_<FIELD> (Plaid: CLIENT_ID, SECRET). */
export function howToConfigure(provider: Provider): string {
  const vars = (provider.settingFields ?? []).filter((f) => f.required)
    .map((f) => `CAUSEWAY_${provider.id.toUpperCase()}_${f.name.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`);
  const env = vars.length > 1 ? `${vars.slice(0, -1).join(', ')} and ${vars[vars.length - 1]}` : vars[0] ?? '';
  const environment = provider.settingFields?.some((f) => f.name === 'environment') ? ` (and CAUSEWAY_${provider.id.toUpperCase()}_ENV=production for production keys)` : '';
  return `set ${env}${environment}, or give an application its own with PUT /v1/application/providers/${provider.id}`;
}
