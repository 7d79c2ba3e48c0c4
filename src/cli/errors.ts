/**
 * What a command that failed prints: one line saying what went wrong and what to do, for the
 * failures an operator meets (a database that refuses or cannot be reached, an occupied port, a
 * setting with a bad value, a data directory in use), and for anything else its message with the
 * way to see more. The stack trace only with --verbose or DEBUG=causeway.
 */
import { ConfigError } from '../config.js';
import { databaseLabel } from '../db/where.js';
import { CliError } from './shared.js';

/** --verbose anywhere in the arguments, or DEBUG naming causeway (DEBUG=causeway, causeway:*, *). */
export function verboseWanted(argv: string[], env: NodeJS.ProcessEnv = process.env): boolean {
  if (argv.includes('--verbose')) return true;
  return (env.DEBUG ?? '').split(/[\s,]+/).some((n) => n === '*' || n === 'causeway' || n.startsWith('causeway:') || n === 'causeway*');
}

type Coded = Error & { code?: string; errno?: number; address?: string; port?: number; syscall?: string; errors?: unknown[]; cause?: unknown };

/** The first error in a chain (cause, AggregateError's errors) that carries a code. */
function coded(err: unknown, depth = 0): Coded | null {
  if (!err || typeof err !== 'object' || depth > 5) return null;
  const e = err as Coded;
  if (typeof e.code === 'string' && e.code !== 'ERR_UNHANDLED_ERROR') {
    // Node's AggregateError (several addresses tried) carries the code; its first error carries the address.
    const first = Array.isArray(e.errors) ? coded(e.errors[0], depth + 1) : null;
    return first && first.code === e.code ? first : e;
  }
  return coded(e.cause, depth + 1) ?? (Array.isArray(e.errors) ? coded(e.errors[0], depth + 1) : null);
}

/** PostgreSQL's refusals at connection time, by SQLSTATE, in the operator's words. */
const PG_REFUSALS: Record<string, string> = {
  '28P01': 'refused the user name or password in DATABASE_URL',
  '28000': 'refused the connection (no such role, or pg_hba.conf does not let it in)',
  '3D000': 'has no such database: create it, or fix the name in DATABASE_URL',
  '57P03': 'is starting up or shutting down: try again in a moment',
  '53300': 'has no connection slots left (max_connections)',
  '42501': 'refused a permission this database user needs (it must be able to create tables and schemas)',
};

const NETWORK: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'the host name does not resolve',
  EAI_AGAIN: 'the host name does not resolve (DNS did not answer)',
  ETIMEDOUT: 'timed out',
  EHOSTUNREACH: 'the host is unreachable',
  ENETUNREACH: 'the network is unreachable',
  ECONNRESET: 'the connection was reset',
};

/** The message without what a failed query carried (drizzle appends its parameters after "params:"), on one line. */
function oneLine(message: string): string {
  const at = message.indexOf('\nparams:');
  return (at < 0 ? message : message.slice(0, at)).split('\n').map((l) => l.trim()).filter(Boolean).join(' ');
}

/** The operator's sentence for a known failure, or null. */
export function describe(err: unknown, env: NodeJS.ProcessEnv = process.env): string | null {
  if (err instanceof ConfigError) {
    const lines = err.message.split('\n');
    // loadConfig's "Invalid environment:" then one "  NAME: problem" line a variable.
    if (lines.length > 1 && /^Invalid environment/.test(lines[0]!)) {
      return lines.slice(1).map((l) => l.trim().replace(/^([A-Z0-9_]+): /, '$1 is not valid: ')).join('\ncauseway: ');
    }
    return err.message;
  }
  if (err instanceof CliError || (err instanceof Error && err.name === 'DataDirLockedError')) return err.message;
  const e = coded(err);
  if (!e) return null;
  const databaseUrl = env.DATABASE_URL || null;
  const where = databaseUrl ? databaseLabel(databaseUrl, '') : null;
  if (e.syscall === 'listen' || e.code === 'EADDRINUSE') {
    const at = `${e.address ?? env.HOST ?? '127.0.0.1'}:${e.port ?? env.PORT ?? 3000}`;
    const variable = e.port !== undefined && String(e.port) === (env.CAUSEWAY_METRICS_PORT ?? '') ? 'CAUSEWAY_METRICS_PORT' : 'PORT';
    if (e.code === 'EADDRINUSE') return `cannot listen on ${at}: another process is using that port. Stop it, or set ${variable} to another port.`;
    if (e.code === 'EACCES') return `cannot listen on ${at}: not allowed (ports below 1024 need privileges). Set ${variable} to 1024 or above.`;
    if (e.code === 'EADDRNOTAVAIL') return `cannot listen on ${at}: HOST is not an address of this machine (0.0.0.0 listens on all of them).`;
  }
  if (e.code && PG_REFUSALS[e.code] && where) return `${where} ${PG_REFUSALS[e.code]} (${oneLine(e.message)}).`;
  if (e.code && NETWORK[e.code]) {
    let target = e.address ? `${e.address}${e.port ? `:${e.port}` : ''}` : null;
    if (where) {
      if (target && where.includes(target)) target = null;
      return `cannot reach ${where}${target ? ` (${target})` : ''}: ${NETWORK[e.code]}. Is PostgreSQL running there, and does DATABASE_URL name it?`;
    }
    return `${NETWORK[e.code]}${target ? ` (${target})` : ''}: ${oneLine(e.message)}`;
  }
  return null;
}

/** The lines to print for a command that failed with `err`. */
export function explain(err: unknown, opts: { verbose: boolean }, env: NodeJS.ProcessEnv = process.env): string[] {
  const known = describe(err, env);
  // Only the first line is the error; a CliError's further lines (the rows a file got wrong) follow as they are.
  const lines = [`causeway: ${known ?? oneLine(err instanceof Error ? err.message || err.name : String(err))}`];
  if (opts.verbose) {
    for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
      const stack = e instanceof Error ? e.stack ?? `${e.name}: ${e.message}` : String(e);
      lines.push(`${depth === 0 ? '' : 'Caused by: '}${stack.replace(/\nparams: [^\n]*/g, '\nparams: [redacted]')}`);
    }
  } else if (!known) {
    lines[lines.length - 1] += ' (run it again with --verbose, or DEBUG=causeway, for the stack trace)';
  }
  return lines;
}
