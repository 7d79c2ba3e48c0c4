/**
 * Bulk rows through COPY … FROM, inside a transaction, on either driver: PostgreSQL streams them
 * on the transaction's own connection (pg-copy-streams), the embedded PGlite reads them from a
 * blob (`from '/dev/blob'`). COPY has no ON CONFLICT: a row that breaks a unique index fails the
 * whole COPY (and so the transaction), which the caller must plan for (repos/data.ts falls back to
 * its INSERT … ON CONFLICT statement).
 *
 * Rows are written in COPY's text format: fields separated by tabs, rows by newlines, NULL as
 * `\N`, and a backslash, tab, newline or carriage return inside a value escaped (copyField).
 */
import { finished } from 'node:stream/promises';
import { PgTransaction } from 'drizzle-orm/pg-core';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { Db } from './open.js';

export type CopyValue = string | number | null;

const NEEDS_ESCAPE = /[\\\t\n\r]/;
const ESCAPED = /[\\\t\n\r]/g;
const ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/** One value in COPY's text format (a row is its fields joined by tabs and ended by a newline). */
export function copyField(v: CopyValue): string {
  if (v === null) return '\\N';
  if (typeof v === 'number') return String(v);
  return NEEDS_ESCAPE.test(v) ? v.replace(ESCAPED, (c) => ESCAPES[c]!) : v;
}

/**
 * Rows' COPY text in one buffer: row i is `heads[i]` (its fields up to the last few, in COPY's
 * text format; `headBytes` their UTF-8 length in all) and then `tail(i)`, ASCII of at most
 * `tailBytes` (numbers, times, tabs, the newline). Written into the buffer piece by piece: a string
 * concatenated from a few thousand pieces is a tree that the driver's Buffer.from walks piece by
 * piece, two to three times the cost a row (BENCHMARKS.md).
 */
export function copyText(heads: readonly string[], headBytes: number, tail: (i: number) => string, tailBytes: number): Buffer {
  const out = Buffer.allocUnsafe(headBytes + heads.length * tailBytes);
  // write() cuts a value short silently where the buffer ends: both lengths are checked, so a
  // wrong one fails here rather than sending a corrupt row.
  let at = 0;
  let headsWritten = 0;
  for (let i = 0; i < heads.length; i++) {
    const h = out.write(heads[i]!, at, 'utf8');
    headsWritten += h;
    at += h;
    const t = tail(i);
    if (t.length > tailBytes) throw new Error(`copyText: a row's tail is ${t.length} bytes, more than the ${tailBytes} allowed`);
    at += out.write(t, at, 'latin1');
  }
  if (headsWritten !== headBytes) throw new Error(`copyText: the heads are ${headsWritten} bytes written, not the ${headBytes} given`);
  return out.subarray(0, at);
}

/** The embedded driver's transaction: its query takes the COPY's data as a blob. */
interface PgliteTransaction { query(text: string, params: unknown[], options: { blob: Blob }): Promise<unknown> }

/**
 * Copies rows into `table` on the transaction `tx`: `payload` is their text (or copyText's buffer),
 * each row its `columns`' fields (copyField) joined by tabs and ended by a newline. The caller writes it, so a
 * value every row shares is escaped once. The table and column names are the caller's constants,
 * never input.
 */
export async function copyRows(tx: Db, table: string, columns: readonly string[], payload: string | Buffer): Promise<void> {
  if (!(tx instanceof PgTransaction)) throw new Error('copyRows runs inside a transaction (withTransaction), on its connection');
  if (payload.length === 0) return;
  const client = (tx as unknown as { session: { client: unknown } }).session.client;
  const text = `copy ${table} (${columns.join(', ')}) from`;
  if (isPglite(client)) {
    await client.query(`${text} '/dev/blob'`, [], { blob: new Blob([payload as string | Uint8Array<ArrayBuffer>]) });
    return;
  }
  const stream = (client as pg.PoolClient).query(copyFrom(`${text} stdin`));
  stream.end(payload);
  await finished(stream);
}

function isPglite(client: unknown): client is PgliteTransaction {
  // PGlite's transaction object has rollback(); pg's client does not (it runs ROLLBACK as a query).
  return typeof (client as { rollback?: unknown }).rollback === 'function';
}
