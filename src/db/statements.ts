/**
 * Every statement the application repeats is a named prepared statement on PostgreSQL, so each
 * pooled connection parses and plans it once instead of on every call (a job's statements are
 * mostly a handful of the same texts; their planning was a large share of the server's CPU).
 *
 *   pool ─► StatementNamingClient.query({ text, values }) ─► seen before? name it `cw_<hash of text>`
 *
 * The name is the text's hash, so one text always has one name, on every connection. A text is
 * named from its second use (a one-off statement stays unnamed) and at most MAX_NAMED texts are
 * named per process: a statement whose text varies with its input (an `in (...)` list of any
 * length) cannot fill the server's memory with plans. A text with no parameters is named too
 * when it is plainly one query or write (no `;`, so never two statements, which a prepared statement
 * cannot hold): pg-boss writes its fetch's options into the text as literals, so the fetch a job
 * waits on was planned afresh on every call, its planning dearer than its execution. Queries that
 * already carry a name (drizzle's `.prepare(name)`), other texts without parameters (`begin`,
 * `set local …`, pg-boss's multi-statement maintenance) and anything that is not a plain text are
 * passed on untouched.
 */
import { createHash } from 'node:crypto';
import pg from 'pg';

/** Distinct texts named per process; each pooled connection may hold a plan for each. */
export const MAX_NAMED = 500;
/** Texts counted while waiting for their second use; the count starts again when it is full. */
const MAX_COUNTED = 5_000;

const named = new Map<string, string>();
const counted = new Set<string>();

/** The name for a statement text, or undefined while it has been seen only once (or the cap is reached). */
export function statementName(text: string): string | undefined {
  const hit = named.get(text);
  if (hit !== undefined) return hit;
  if (!counted.has(text)) {
    if (counted.size >= MAX_COUNTED) counted.clear();
    counted.add(text);
    return undefined;
  }
  if (named.size >= MAX_NAMED) return undefined;
  const name = `cw_${createHash('sha1').update(text).digest('base64url').slice(0, 20)}`;
  named.set(text, name);
  counted.delete(text);
  return name;
}

type QueryConfig = { text?: unknown; name?: unknown; values?: unknown };

const ONE_QUERY = /^\s*(select|with|insert|update|delete)\b/i;

/** Whether a text sent with these values may be a named statement (see the top of this file). */
export function nameable(text: string, values: unknown): boolean {
  if (Array.isArray(values) && values.length > 0) return true;
  return (values === undefined || Array.isArray(values)) && !text.includes(';') && ONE_QUERY.test(text);
}

/** pg.Client that names repeated statements (see above); everything else is pg.Client's own. */
export class StatementNamingClient extends pg.Client {
  override query(...args: unknown[]): never {
    const [config, values] = args as [unknown, unknown];
    if (typeof config === 'string') {
      // pool.query(text, values), as pg-boss sends its statements
      const name = nameable(config, values) ? statementName(config) : undefined;
      if (name !== undefined) args.splice(0, 2, { text: config, values: values ?? [], name });
    } else if (config !== null && typeof config === 'object' && !('submit' in config)) {
      const c = config as QueryConfig;
      const params = Array.isArray(values) ? values : c.values;
      if (typeof c.text === 'string' && c.name === undefined && nameable(c.text, params)) {
        const name = statementName(c.text);
        if (name !== undefined) args[0] = { ...c, values: params ?? [], name };
      }
    }
    return (super.query as (...a: unknown[]) => never)(...args);
  }
}
