/**
 * `causeway start` and `causeway migrate`. A start prints each step as it runs (a first start on an
 * empty data directory spends most of its time creating the embedded database), then the address
 * and, on an empty database, the default sandbox application's first API key.
 */
import { systemClock } from '../domain/clock.js';
import { databaseLabel, migrate, openDatabaseChecked, start, type Role } from '../runtime.js';
import { createApiKey, ensureDefaultApplication } from '../services/applications.js';
import { loadConfig } from './context.js';
import { printedProgress } from './progress.js';
import { say } from './shared.js';

/** Seconds since this process began (node's own start and loading the code included), for the ready line. */
const sinceLaunch = () => `${process.uptime().toFixed(1)} s`;

export async function cmdStart(role: Role): Promise<void> {
  const config = loadConfig();
  const running = await start(config, role, { progress: printedProgress() });
  const { core } = running;
  const where = databaseLabel(config);
  const { application, created } = await ensureDefaultApplication(core.db, systemClock);
  if (running.url) say(`Causeway is running at ${running.url} (role ${role}, ${where}); started in ${sinceLaunch()}.`);
  else say(`Causeway worker is running (${where}); started in ${sinceLaunch()}.`);
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
    say(`API reference: ${running.url}/openapi.json (read it at ${running.url}/docs)`);
    say(`Dashboard:     ${running.url}/dashboard (sign in with an API key, or an operator: npx causeway operators create --email you@example.com)`);
  }
  if (running.metricsUrl) say(`Metrics:       ${running.metricsUrl}`);
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

export async function cmdMigrate(): Promise<void> {
  const config = loadConfig();
  const progress = printedProgress();
  const database = await openDatabaseChecked(config, progress, { poolSize: 2 });
  try {
    const { applied, total } = await migrate(database, progress);
    say(applied > 0
      ? `Migrations applied: ${applied} new, ${total} in all (${databaseLabel(config)}).`
      : `Migrations applied: none new, the database was up to date (${total} in all; ${databaseLabel(config)}).`);
  } finally {
    await database.close();
  }
}
