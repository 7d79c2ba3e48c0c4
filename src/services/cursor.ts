/**
 * The one cursor codec for every list (ENGINEERING.md habit 14). A cursor is opaque and
 * tamper-evident: `<position>.<mac>`, the position as base64url JSON and a keyed MAC over the list's
 * kind, the application and the position (the encryption key's fingerprint key, services/crypto.ts).
 * Anything this API did not issue, for this list and this application, answers 400 `invalid_cursor`
 * before a query runs, so a forged position never reaches SQL.
 *
 *   writeCursor(kind, position) ──► "eyJkIjoiMjAyNi0…fQ.Xk3…"
 *   readCursor(kind, cursor, schema) ──► position (MAC checked, then shape checked) | AppError
 */
import { timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { AppError } from '../domain/errors.js';
import type { Core, Tenant } from './core.js';

export type CursorKind =
  | 'users' | 'connections_newest' | 'user_connections' | 'jobs' | 'deletions' | 'endpoints' | 'deliveries'
  | 'events' | 'timeline' | 'transactions' | 'sync' | 'institutions' | 'imports' | 'import_rows';

/** 22 base64url characters: 132 bits of the HMAC-SHA256, far past guessing. */
const MAC_LENGTH = 22;

function mac(core: Core, tenant: Tenant, kind: CursorKind, body: string): string {
  return core.cipher.fingerprint(`cursor\n${kind}\n${tenant.application.id}\n${body}`).slice(0, MAC_LENGTH);
}

export function writeCursor(core: Core, tenant: Tenant, kind: CursorKind, position: unknown): string {
  const body = Buffer.from(JSON.stringify(position)).toString('base64url');
  return `${body}.${mac(core, tenant, kind, body)}`;
}

export function invalidCursor(kind: CursorKind): AppError {
  return new AppError('invalid_cursor', 'The cursor is not one this list gave out. Pass the nextCursor of the previous page unchanged, or leave it out to start again.',
    { errors: [{ field: 'querystring.cursor', message: `not a ${kind} cursor issued by this API` }] });
}

export function readCursor<P>(core: Core, tenant: Tenant, kind: CursorKind, cursor: string, shape: z.ZodType<P>): P {
  const dot = cursor.indexOf('.');
  const body = cursor.slice(0, dot);
  const given = Buffer.from(cursor.slice(dot + 1));
  const expected = Buffer.from(mac(core, tenant, kind, body));
  if (dot <= 0 || given.length !== expected.length || !timingSafeEqual(given, expected)) throw invalidCursor(kind);
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
  } catch {
    throw invalidCursor(kind);
  }
  const parsed = shape.safeParse(value);
  if (!parsed.success) throw invalidCursor(kind);
  return parsed.data;
}

/** Positions the lists use. */
export const IdPosition = z.string().min(1).max(64);
export const SeqPosition = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

/**
 * A page of `limit` rows from a query asked for `limit + 1`: the extra row says there is more, and
 * the page's last row gives the next cursor.
 */
export function pageOf<R, P>(core: Core, tenant: Tenant, kind: CursorKind, rows: R[], limit: number, positionOf: (row: R) => P) {
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return { page, nextCursor: rows.length > limit && last !== undefined ? writeCursor(core, tenant, kind, positionOf(last)) : null };
}

/** Id-keyed lists (newest or oldest first by id): the cursor is the last id, signed. */
export function readIdCursor(core: Core, tenant: Tenant, kind: CursorKind, cursor: string | null | undefined): string | null {
  return cursor ? readCursor(core, tenant, kind, cursor, IdPosition) : null;
}

export function idPage<R extends { id: string }, V>(core: Core, tenant: Tenant, kind: CursorKind, rows: R[], limit: number, view: (row: R) => V) {
  const { page, nextCursor } = pageOf(core, tenant, kind, rows, limit, (r) => r.id);
  return { data: page.map(view), nextCursor };
}
