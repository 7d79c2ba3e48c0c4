/** `causeway applications create|list`, `keys create|list|revoke` and `operators create`: the tenants, their keys and dashboard sign-ins. */
import { systemClock } from '../domain/clock.js';
import { findDefaultApplication, listApiKeys, listApplications, revokeApiKey } from '../db/repos/applications.js';
import { sqlErrorOf, UNIQUE_VIOLATION } from '../db/errors.js';
import { createOperator } from '../services/access.js';
import { createApiKey, createApplication } from '../services/applications.js';
import { chosenApplication, loadConfig, withDatabase } from './context.js';
import { say, UsageError } from './shared.js';

export async function applicationsCreate(opts: { name?: string; environment: 'sandbox' | 'live' }): Promise<void> {
  const name = opts.name?.trim();
  if (!name || name.length > 200) throw new UsageError('applications create needs --name NAME (1 to 200 characters)');
  const environment = opts.environment;
  await withDatabase(loadConfig(), async ({ db }) => {
    const application = await createApplication(db, systemClock, { name, environment });
    say(`Created the ${environment} application ${application.name}. Create its first API key with: npx causeway keys create --application ${application.id} --name NAME`);
    process.stdout.write(`${application.id}\n`);
  });
}

export async function applicationsList(): Promise<void> {
  await withDatabase(loadConfig(), async ({ db }) => {
    const applications = await listApplications(db);
    if (applications.length === 0) say('No applications yet. `causeway start` creates the default one; or: npx causeway applications create --name NAME');
    for (const a of applications) {
      process.stdout.write(`${a.id}  ${a.name}  ${a.environment}  created ${a.createdAt.toISOString()}${a.isDefault ? '  default' : ''}\n`);
    }
  });
}

export async function keysCreate(opts: { name?: string; application?: string }): Promise<void> {
  if (!opts.name) throw new UsageError('keys create needs --name NAME');
  const name = opts.name;
  await withDatabase(loadConfig(), async ({ db }) => {
    const application = await chosenApplication(db, opts.application);
    const key = await createApiKey(db, systemClock, application, name);
    if (opts.application !== undefined) say(`Created a ${application.environment} key for ${application.name} (${application.id}). It is shown only this once:`);
    process.stdout.write(`${key.key}\n`);
  });
}

export async function keysList(opts: { application?: string }): Promise<void> {
  await withDatabase(loadConfig(), async ({ db }) => {
    const application = opts.application !== undefined ? await chosenApplication(db, opts.application) : await findDefaultApplication(db);
    const keys = application ? await listApiKeys(db, application.id) : [];
    if (keys.length === 0) say('No API keys yet. Create one with: npx causeway keys create --name NAME');
    for (const k of keys) {
      process.stdout.write(`${k.id}  ${k.prefix}…  ${k.name}  created ${k.createdAt.toISOString()}${k.revokedAt ? `  revoked ${k.revokedAt.toISOString()}` : ''}\n`);
    }
  });
}

export async function keysRevoke(target: string): Promise<void> {
  await withDatabase(loadConfig(), async ({ db }) => {
    const n = await revokeApiKey(db, target, new Date());
    if (n === 0) throw new UsageError(`No live key matches ${target}. See: npx causeway keys list`);
    say(`Revoked ${n} key${n === 1 ? '' : 's'}.`);
  });
}

export async function operatorsCreate(opts: { email?: string; password?: string; application?: string }): Promise<void> {
  const email = opts.email;
  if (!email || !/^[^@\s]+@[^@\s]+$/.test(email)) throw new UsageError('operators create needs --email EMAIL');
  if (opts.password !== undefined && opts.password.length < 8) throw new UsageError('--password must be at least 8 characters');
  await withDatabase(loadConfig(), async ({ db }) => {
    const application = await chosenApplication(db, opts.application);
    try {
      const operator = await createOperator(db, systemClock, application, email, opts.password);
      say(`Created operator ${operator.email}. Sign in at /dashboard with this password (shown only this once):`);
      process.stdout.write(`${operator.password}\n`);
    } catch (err) {
      if (sqlErrorOf(err, [UNIQUE_VIOLATION])) {
        throw new UsageError(`An operator ${email} already exists.`);
      }
      throw err;
    }
  });
}
