/**
 * The `causeway` command: start, migrate, applications create|list, keys create|list|revoke,
 * operators create.
 * Output meant for scripts (a new key) goes to stdout alone; messages go to stderr.
 */
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, type Config } from '../config.js';
import { systemClock } from '../domain/clock.js';
import { openDatabase, runMigrations, type Database } from '../db/open.js';
import { DataDirLockedError } from '../db/lock.js';
import { findApplication, findDefaultApplication, listApiKeys, listApplications, revokeApiKey, type ApplicationRow } from '../db/repos/applications.js';
import type { Db } from '../db/open.js';
import { start, type Role } from '../runtime.js';
import { createOperator } from '../services/access.js';
import { createApiKey, createApplication, ensureDefaultApplication, type Environment } from '../services/applications.js';

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

Settings come from the environment: DATABASE_URL (unset: embedded database in CAUSEWAY_DATA_DIR,
default ./data), PORT (3000), HOST (127.0.0.1), CAUSEWAY_ENCRYPTION_KEY (required with DATABASE_URL).`;

const say = (line: string) => process.stderr.write(`${line}\n`);

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

/** The application named by --application, else the default one (created on an empty database). */
async function chosenApplication(db: Db, id: string | undefined): Promise<ApplicationRow> {
  if (id === undefined) return (await ensureDefaultApplication(db, systemClock)).application;
  const found = await findApplication(db, id);
  if (!found) throw new UsageError(`No application ${id}. See: npx causeway applications list`);
  return found;
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

class UsageError extends Error {}

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
    } else if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
      say(USAGE);
    } else {
      throw new UsageError(`Unknown command ${command}`);
    }
  } catch (err) {
    if (err instanceof UsageError) { say(`${err.message}\n\n${USAGE}`); process.exit(2); }
    if (/^ERR_PARSE_ARGS_/.test((err as { code?: string }).code ?? '')) { say(`${(err as Error).message}\n\n${USAGE}`); process.exit(2); }
    if (err instanceof ConfigError || err instanceof DataDirLockedError) { say(`causeway: ${err.message}`); process.exit(1); }
    throw err;
  }
}
