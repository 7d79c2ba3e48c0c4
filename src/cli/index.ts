/**
 * The `causeway` command, parsed by commander: start, migrate, applications create|list, keys
 * create|list|revoke, operators create, institutions sync|list, import. Every command and
 * subcommand answers --help without touching the database; the work is imported only when a
 * command runs, so --help and a mistyped command answer at once.
 * Output meant for scripts (a new key, a sync's counts, --version) goes to stdout alone; messages,
 * progress and errors go to stderr. Exit codes: 0 done, 1 could not be done, 2 a mistake in the command.
 */
import { Command, CommanderError, Option } from 'commander';
import { explain, verboseWanted } from './errors.js';
import { IMPORT_HELP } from './import-help.js';
import { printedProgress } from './progress.js';
import { UsageError } from './shared.js';
import { VERSION } from './version.js';

const ENVIRONMENT_HELP = `
Settings come from the environment: DATABASE_URL (unset: the embedded database in CAUSEWAY_DATA_DIR,
default ./data), PORT (3000), HOST (127.0.0.1), CAUSEWAY_ENCRYPTION_KEY (required with DATABASE_URL),
CAUSEWAY_PUBLIC_URL (where browsers and providers' webhooks reach this server), LOG_LEVEL (info), and
the providers' CAUSEWAY_PLAID_*, CAUSEWAY_GOCARDLESS_* (README: Settings).
--verbose, or DEBUG=causeway, prints the stack trace of an unexpected error.`;

const START_HELP = `
Roles: api serves HTTP (the API, the pages, /health, /ready, /metrics); worker runs the jobs, webhook
deliveries, the background refresh and the catalogue sync; all does both (the default). On PostgreSQL
run as many api and worker processes as you like against one database; the embedded database takes
one process. Progress goes to stderr, then the address (and, on an empty database, the default
sandbox application's first API key, shown once). SIGINT or SIGTERM stop it gracefully.`;

const INSTITUTIONS_HELP = `
A provider reads its catalogue with the deployment's settings (Plaid: CAUSEWAY_PLAID_CLIENT_ID,
CAUSEWAY_PLAID_SECRET, CAUSEWAY_PLAID_ENV), else with one application's own
(PUT /v1/application/providers/plaid). The worker syncs on its own too: empty catalogues at start,
all of them every CAUSEWAY_CATALOGUE_SYNC_HOURS (default 24).`;

/** Runs a command's action; a UsageError it throws carries that command's help. */
function action<A extends unknown[]>(fn: (...args: A) => Promise<void>) {
  return async (...args: A) => {
    const cmd = args[args.length - 1] as Command;
    try {
      await fn(...args);
    } catch (err) {
      if (err instanceof UsageError && err.usage === null) throw new UsageError(err.message, cmd.helpInformation().trimEnd());
      throw err;
    }
  };
}

/** Commander's mistakes, kept by the command that found them so the hint can name it. */
class CausewayCommand extends Command {
  static lastFailed: Command | null = null;
  override createCommand(name?: string): Command {
    return new CausewayCommand(name);
  }
  override error(message: string, errorOptions?: { code?: string; exitCode?: number }): never {
    CausewayCommand.lastFailed = this;
    return super.error(message, errorOptions);
  }
}

/** Where a run writes: stdout for what was asked for (help, --version), stderr for the rest. Tests pass their own. */
export interface Output { out(text: string): void; err(text: string): void }
const STD: Output = { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) };

export function buildProgram(output: Output = STD): Command {
  const program = new CausewayCommand('causeway')
    .description('Causeway: the connections between your app\'s users and their banks, self-hosted.')
    .version(VERSION, '-V, --version', 'print the version')
    .option('--verbose', 'print the stack trace of an unexpected error (also: DEBUG=causeway)')
    .helpOption('-h, --help', 'show help for a command')
    .helpCommand('help [command]', 'show help for a command')
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({ writeOut: output.out, writeErr: output.err, outputError: () => { /* printed once, by run(), as one line */ } })
    .addHelpText('after', ENVIRONMENT_HELP);

  program.command('start')
    .description('run the API and/or the job worker until stopped')
    .addOption(new Option('--role <role>', 'api, worker or all').choices(['api', 'worker', 'all']).default('all'))
    .addHelpText('after', START_HELP)
    .action(action(async (opts: { role: 'api' | 'worker' | 'all' }) => {
      // Loading the code is the first wait (tsx compiles it on a first run): say so at once.
      const { cmdStart } = await printedProgress().step(`Loading Causeway ${VERSION}`, () => import('./start.js'));
      await cmdStart(opts.role);
    }));

  program.command('migrate')
    .description('apply the database migrations and exit (start applies them too; on PostgreSQL several starting processes take turns)')
    .action(action(async () => {
      const { cmdMigrate } = await import('./start.js');
      await cmdMigrate();
    }));

  const applications = program.command('applications')
    .description('create and list applications (tenants: each has its own users, connections, keys and settings)');
  applications.command('create')
    .description('create an application; prints only its id (app_…)')
    .option('--name <name>', 'its name, 1 to 200 characters')
    .addOption(new Option('--environment <environment>', 'sandbox, or live: live applications may not call /v1/sandbox/* nor use the sandbox provider').choices(['sandbox', 'live']).default('sandbox'))
    .action(action(async (opts: { name?: string; environment: 'sandbox' | 'live' }) => {
      const { applicationsCreate } = await import('./admin.js');
      await applicationsCreate(opts);
    }));
  applications.command('list')
    .description('list applications: id, name, environment, created, default')
    .action(action(async () => {
      const { applicationsList } = await import('./admin.js');
      await applicationsList();
    }));

  const keys = program.command('keys').description('create, list and revoke API keys');
  keys.command('create')
    .description('create an API key (for the default sandbox application unless --application); prints only the key, shown this once')
    .option('--name <name>', 'what the key is for')
    .option('--application <id>', 'the application (app_…)')
    .action(action(async (opts: { name?: string; application?: string }) => {
      const { keysCreate } = await import('./admin.js');
      await keysCreate(opts);
    }));
  keys.command('list')
    .description('list API keys: id, prefix, name, created, revoked')
    .option('--application <id>', 'the application (app_…; default: the default one)')
    .action(action(async (opts: { application?: string }) => {
      const { keysList } = await import('./admin.js');
      await keysList(opts);
    }));
  keys.command('revoke')
    .description('revoke a key, by its id (key_…) or the prefix keys list shows')
    .argument('<key>', 'key id or prefix')
    .action(action(async (key: string) => {
      const { keysRevoke } = await import('./admin.js');
      await keysRevoke(key);
    }));

  const operators = program.command('operators').description('dashboard sign-ins');
  operators.command('create')
    .description('create a dashboard sign-in (for the default application unless --application); prints the password on stdout, this once')
    .option('--email <email>', 'the operator\'s email')
    .option('--password <password>', 'at least 8 characters (default: generated)')
    .option('--application <id>', 'the application (app_…)')
    .action(action(async (opts: { email?: string; password?: string; application?: string }) => {
      const { operatorsCreate } = await import('./admin.js');
      await operatorsCreate(opts);
    }));

  const institutions = program.command('institutions')
    .description('the institutions catalogue: sync it from the providers now, list what it holds')
    .addHelpText('after', INSTITUTIONS_HELP);
  institutions.command('sync')
    .description('copy the configured providers\' catalogues into the database now, a page at a time; prints a count per provider on stdout (plaid: 2,513 institutions)')
    .option('--provider <id>', 'only this provider (default: every provider that has settings)')
    .addHelpText('after', INSTITUTIONS_HELP)
    .action(action(async (opts: { provider?: string }) => {
      const { institutionsSync } = await import('./institutions.js');
      await institutionsSync(opts.provider);
    }));
  institutions.command('list')
    .description('institutions in the database by name: id, name, country, provider, methods')
    .option('--search <text>', 'any part of the name')
    .option('--provider <id>', 'one provider\'s')
    .option('--country <cc>', 'a two-letter country code')
    .option('--limit <n>', 'how many, 1 to 1000', '50')
    .action(action(async (opts: { search?: string; provider?: string; country?: string; limit: string }) => {
      const { institutionsList } = await import('./institutions.js');
      await institutionsList(opts);
    }));

  program.command('import')
    .description('bulk migration: import a CSV of user,token[,institutionId] as connections; run again to resume')
    .usage('--provider ID --file FILE [--application ID] [--rate N] [--concurrency N]')
    .option('--provider <id>', 'the provider the tokens belong to (plaid; sandbox for tokens from POST /v1/sandbox/tokens)')
    .option('--file <file>', 'the CSV file')
    .option('--application <id>', 'the application (app_…; default: the default one)')
    .option('--rate <n>', 'rows a second, 0 to 1000 (0: no limit)')
    .option('--concurrency <n>', 'rows at once, 1 to 32')
    .addHelpText('after', `\n${IMPORT_HELP}`)
    .action(action(async (opts: { provider?: string; file?: string; application?: string; rate?: string; concurrency?: string }) => {
      const { cmdImport } = await import('./import.js');
      await cmdImport(opts);
    }));

  return program;
}

/** Commander's message as one line, with the hint where to look. */
function usageLine(err: CommanderError): string {
  const cmd = CausewayCommand.lastFailed;
  const path: string[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) path.unshift(c.name());
  const where = (path.length ? path : ['causeway']).join(' ');
  let message = err.message.replace(/^error: /, '').replace(/\n\(Did you mean (.*)\?\)$/, ' (did you mean $1?)');
  const choice = /^option '(-[^ ']+)[^']*' argument '([^']*)' is invalid\. Allowed choices are (.*)\.$/.exec(message);
  if (choice) {
    const options = choice[3]!.split(', ');
    message = `${choice[1]} must be ${options.length > 1 ? `${options.slice(0, -1).join(', ')} or ${options.at(-1)}` : options[0]} (not '${choice[2]}')`;
  }
  return `causeway: ${message.replace(/\.$/, '')}. See: ${where} --help`;
}

/**
 * Runs the command `argv` names and answers its exit code (a start answers 0 once it is serving and
 * keeps the process alive). Nothing is printed twice: commander's own messages are muted and said here.
 */
export async function run(argv: string[], output: Output = STD): Promise<number> {
  const program = buildProgram(output);
  CausewayCommand.lastFailed = null;
  try {
    if (argv.length === 0) {
      output.out(program.helpInformation());
      return 0;
    }
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version printed themselves; a group named without its subcommand printed its help.
      if (['commander.helpDisplayed', 'commander.version', 'commander.help'].includes(err.code)) return 0;
      output.err(`${usageLine(err)}\n`);
      return 2;
    }
    if (err instanceof UsageError) {
      output.err(`${err.usage ? `${err.message}\n\n${err.usage}` : err.message}\n`);
      return 2;
    }
    for (const line of explain(err, { verbose: verboseWanted(argv) })) output.err(`${line}\n`);
    return 1;
  }
}

export async function main(argv: string[]): Promise<void> {
  const code = await run(argv);
  if (code !== 0) process.exit(code);
}
