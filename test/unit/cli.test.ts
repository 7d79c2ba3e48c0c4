/**
 * The `causeway` command's parsing and error lines, in process (no database, no child process):
 * every command and subcommand answers --help without running, mistakes are one line with a hint
 * and exit code 2, and the failures an operator meets (a refused database, an occupied port, a bad
 * setting) are one line without a stack trace unless --verbose or DEBUG asks for it.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Command } from 'commander';
import { buildProgram, run, type Output } from '../../src/cli/index.js';
import { explain, verboseWanted } from '../../src/cli/errors.js';
import { IMPORT_PACE } from '../../src/cli/import-help.js';
import { printedProgress } from '../../src/cli/progress.js';
import { DEFAULT_PACE } from '../../src/services/imports.js';
import { ConfigError, loadConfig } from '../../src/config.js';
import { DataDirLockedError } from '../../src/db/lock.js';

function capture(): Output & { stdout: string; stderr: string } {
  const o = { stdout: '', stderr: '', out: (t: string) => { o.stdout += t; }, err: (t: string) => { o.stderr += t; } };
  return o;
}

/** Every command path: ['start'], ['keys', 'create'], … */
function commandPaths(cmd: Command, prefix: string[] = []): string[][] {
  return cmd.commands.filter((c) => c.name() !== 'help').flatMap((c) => [[...prefix, c.name()], ...commandPaths(c, [...prefix, c.name()])]);
}

/** A Node network error as the pg driver and net.Server raise them. */
const netError = (code: string, extra: Record<string, unknown>) => Object.assign(new Error(`${code} message`), { code, ...extra });

describe('causeway --help', () => {
  const paths = commandPaths(buildProgram());

  it('has every command of the README', () => {
    assert.deepEqual(paths.map((p) => p.join(' ')).sort(), [
      'applications', 'applications create', 'applications list', 'import', 'institutions', 'institutions list', 'institutions sync',
      'keys', 'keys create', 'keys list', 'keys revoke', 'migrate', 'operators', 'operators create', 'start',
    ]);
  });

  it('answers --help for every command and subcommand on stdout, exit 0, without running it', async () => {
    for (const path of [[], ...paths]) {
      const o = capture();
      // Not one of these reaches an action: with no database configured, migrate or start would print progress to stderr.
      assert.equal(await run([...path, '--help'], o), 0, path.join(' '));
      assert.match(o.stdout, new RegExp(`^Usage: causeway${path.length ? ` ${path.join(' ')}` : ''} `), path.join(' '));
      assert.equal(o.stderr, '', `${path.join(' ')} --help wrote to stderr: ${o.stderr}`);
    }
    const o = capture();
    assert.equal(await run(['help', 'start'], o), 0);
    assert.match(o.stdout, /--role <role>/);
    assert.match(o.stdout, /Roles: api serves HTTP/);
  });

  it('prints the version from package.json', async () => {
    const o = capture();
    assert.equal(await run(['--version'], o), 0);
    assert.match(o.stdout, /^\d+\.\d+\.\d+\n$/);
  });

  it('shows import\'s defaults as the service applies them', () => {
    assert.deepEqual(IMPORT_PACE, DEFAULT_PACE);
  });
});

describe('mistakes in the command', () => {
  const cases: [string[], RegExp][] = [
    [['strat'], /^causeway: unknown command 'strat' \(did you mean start\?\)\. See: causeway --help\n$/],
    [['start', '--rol', 'api'], /^causeway: unknown option '--rol' \(did you mean --role\?\)\. See: causeway start --help\n$/],
    [['start', '--role', 'boss'], /^causeway: --role must be api, worker or all \(not 'boss'\)\. See: causeway start --help\n$/],
    [['migrate', 'now'], /^causeway: too many arguments for 'migrate'\. Expected 0 arguments but got 1\. See: causeway migrate --help\n$/],
    [['keys', 'revoke'], /^causeway: missing required argument 'key'\. See: causeway keys revoke --help\n$/],
    [['keys', 'create', '--name'], /^causeway: option '--name <name>' argument missing\. See: causeway keys create --help\n$/],
    [['applications', 'create', '--name', 'X', '--environment', 'prod'], /^causeway: --environment must be sandbox or live \(not 'prod'\)\. See: causeway applications create --help\n$/],
  ];
  for (const [argv, expected] of cases) {
    it(`causeway ${argv.join(' ')}: one line with a hint, exit 2`, async () => {
      const o = capture();
      assert.equal(await run(argv, o), 2);
      assert.match(o.stderr, expected);
      assert.equal(o.stdout, '');
    });
  }

  it('a command\'s own check prints its message, then that command\'s help', async () => {
    const o = capture();
    assert.equal(await run(['institutions', 'list', '--limit', '0'], o), 2);
    assert.match(o.stderr, /^--limit must be a whole number from 1 to 1000\n\nUsage: causeway institutions list \[options\]/);
  });
});

describe('failures an operator meets, in one line', () => {
  const pg = { DATABASE_URL: 'postgres://app:s3cret@db.internal:5432/causeway' };

  it('a database that refuses or cannot be reached names where, never the password', () => {
    const refused = explain(netError('ECONNREFUSED', { address: '10.0.0.5', port: 5432, syscall: 'connect' }), { verbose: false }, pg);
    assert.deepEqual(refused, ['causeway: cannot reach PostgreSQL at db.internal:5432/causeway (10.0.0.5:5432): connection refused. Is PostgreSQL running there, and does DATABASE_URL name it?']);
    // Node tries every address of a name and throws an AggregateError carrying the code.
    const aggregate = Object.assign(new AggregateError([netError('ECONNREFUSED', { address: '::1', port: 5432 }), netError('ECONNREFUSED', { address: '127.0.0.1', port: 5432 })], ''), { code: 'ECONNREFUSED' });
    assert.match(explain(new Error('Failed query: select 1\nparams: ', { cause: aggregate }), { verbose: false }, pg)[0]!, /^causeway: cannot reach PostgreSQL at db\.internal:5432\/causeway \(::1:5432\): connection refused\./);
    const auth = explain(Object.assign(new Error('password authentication failed for user "app"'), { code: '28P01' }), { verbose: false }, pg);
    assert.deepEqual(auth, ['causeway: PostgreSQL at db.internal:5432/causeway refused the user name or password in DATABASE_URL (password authentication failed for user "app").']);
    for (const line of [...refused, ...auth]) assert.doesNotMatch(line, /s3cret/);
  });

  it('an occupied port says which and what to set', () => {
    const lines = explain(netError('EADDRINUSE', { address: '0.0.0.0', port: 3000, syscall: 'listen' }), { verbose: false }, { PORT: '3000' });
    assert.deepEqual(lines, ['causeway: cannot listen on 0.0.0.0:3000: another process is using that port. Stop it, or set PORT to another port.']);
  });

  it('a bad setting names the variable, one line each', () => {
    let err: unknown;
    try { loadConfig({ PORT: 'abc', LOG_LEVEL: 'loud' }); } catch (e) { err = e; }
    assert.ok(err instanceof ConfigError);
    const lines = explain(err, { verbose: false }, {})[0]!.split('\n');
    assert.equal(lines.length, 2, lines.join('\n'));
    assert.match(lines[0]!, /^causeway: PORT is not valid: /);
    assert.match(lines[1]!, /^causeway: LOG_LEVEL is not valid: /);
  });

  it('a data directory in use is said as it is', () => {
    assert.match(explain(new DataDirLockedError('/srv/data', 42), { verbose: false }, {})[0]!, /^causeway: The data directory \/srv\/data is in use by another Causeway process \(pid 42\)\./);
  });

  it('anything else: its message and how to see the stack; the stack only when asked, without query parameters', () => {
    const err = new Error('Failed query: insert into x values ($1)\nparams: sk_sandbox_secret', { cause: new Error('disk full') });
    const quiet = explain(err, { verbose: false }, {});
    assert.deepEqual(quiet, ['causeway: Failed query: insert into x values ($1) (run it again with --verbose, or DEBUG=causeway, for the stack trace)']);
    const loud = explain(err, { verbose: true }, {}).join('\n');
    assert.match(loud, /at .*cli\.test\.ts/, 'the stack');
    assert.match(loud, /Caused by: Error: disk full/);
    assert.doesNotMatch(loud, /sk_sandbox_secret/);
  });

  it('--verbose anywhere, or DEBUG naming causeway, asks for the stack', () => {
    assert.equal(verboseWanted(['start', '--verbose'], {}), true);
    assert.equal(verboseWanted(['start'], { DEBUG: 'causeway' }), true);
    assert.equal(verboseWanted(['start'], { DEBUG: 'express,causeway:*' }), true);
    assert.equal(verboseWanted(['start'], { DEBUG: '*' }), true);
    assert.equal(verboseWanted(['start'], { DEBUG: 'express' }), false);
    assert.equal(verboseWanted(['start'], {}), false);
  });
});

describe('start-up progress', () => {
  const sink = (isTTY: boolean) => {
    const s = { text: '', isTTY, write(chunk: string) { s.text += chunk; return true; } };
    return s;
  };

  it('without a terminal: one plain line a step; a long step ends its line at once and says when it is done', async () => {
    const out = sink(false);
    const progress = printedProgress(out as unknown as NodeJS.WriteStream, 20);
    assert.equal(await progress.step('Starting the job queue', async () => 42), 42);
    // The long step waits until its start line has been ended (no fixed sleep).
    await progress.step('Creating the embedded database', async () => {
      while (!out.text.endsWith('database…\n')) await new Promise((r) => setTimeout(r, 5));
    });
    await assert.rejects(progress.step('Connecting to PostgreSQL', async () => { throw new Error('refused'); }), /refused/);
    const lines = out.text.split('\n');
    assert.match(lines[0]!, /^Starting the job queue… done in \d+\.\d s$/);
    assert.equal(lines[1], 'Creating the embedded database…');
    assert.match(lines[2]!, /^Creating the embedded database: done in \d+\.\d s$/);
    assert.match(lines[3]!, /^Connecting to PostgreSQL… failed after \d+\.\d s$/);
    assert.doesNotMatch(out.text, /\r|\x1b/, 'nothing redrawn');
  });

  it('on a terminal: the line is rewritten in place and ends with the time', async () => {
    const out = sink(true);
    await printedProgress(out as unknown as NodeJS.WriteStream).step('Applying 15 database migrations', async () => {});
    assert.match(out.text, /^Applying 15 database migrations…\r\x1b\[2KApplying 15 database migrations… done in \d+\.\d s\n$/);
  });
});
