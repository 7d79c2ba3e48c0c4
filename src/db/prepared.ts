/**
 * Statements that run for every job, built once per database handle instead of on every call:
 * building a query in drizzle costs about as much Node CPU as sending it. On PostgreSQL they are
 * also named prepared statements, so each pooled connection parses and plans them once.
 *
 *   const byId = preparedPer((db) => db.select().from(jobs).where(eq(jobs.id, sql.placeholder('id'))).prepare('job_by_id'));
 *   await byId(db).execute({ id });
 *
 * A statement's name must be unique and its text fixed. A transaction handle is a new key, so it
 * gets its own copy: correct, but with no saving.
 *
 * A statement written as SQL (CTEs) is kept as its text instead (preparedSql), and one whose text
 * depends on which columns a patch sets gets one text per shape (preparedShapes, with patchKeys,
 * patchPlaceholders and patchValues):
 *
 *   const save = preparedShapes('save_job', (keys: string[]) => keys.join(), (db, keys) =>
 *     db.update(jobs).set(patchPlaceholders('job_', keys)).where(eq(jobs.id, sql.placeholder('id'))).getSQL());
 *   const keys = patchKeys(patch), values = { id };
 *   patchValues(jobs, 'job_', patch, keys, values);
 *   await save(db, keys).execute(values);
 */
import { createHash } from 'node:crypto';
import { getTableColumns, sql, type Query, type SQL, type Table } from 'drizzle-orm';
import type { PgDialect, PgSession } from 'drizzle-orm/pg-core';
import type { Db } from './open.js';

export function preparedPer<T>(build: (db: Db) => T): (db: Db) => T {
  const cache = new WeakMap<Db, T>();
  return (db) => {
    let statement = cache.get(db);
    if (statement === undefined) cache.set(db, (statement = build(db)));
    return statement;
  };
}

/** What a prepared statement of preparedSql answers: the driver's result (its rows as the statement names them). */
export interface PreparedSql { execute(values: Record<string, unknown>): Promise<{ rows: Record<string, unknown>[] }> }

/**
 * A statement written as SQL (CTEs the query builder cannot express), prepared like the builder's:
 * its text built once (on the first handle it runs on), its values given at each call for its
 * placeholders (sql.placeholder(name)), passed as they are: give what the driver takes
 * (patchValues does so for a table's columns). Unlike preparedPer it saves the building inside a
 * transaction too: only the text is kept, and each handle wraps it at no cost.
 */
export function preparedSql(name: string, build: (db: Db) => SQL): (db: Db) => PreparedSql {
  let query: Query | undefined;
  return (db) => {
    const { session, dialect } = db as unknown as { session: PgSession; dialect: PgDialect };
    query ??= dialect.sqlToQuery(build(db));
    return session.prepareQuery(query, undefined, name, false) as unknown as PreparedSql;
  };
}

/**
 * Statements whose text depends on the shape of their input (which columns a patch sets, which
 * parts are present): one preparedSql per shape, named after its key. The shapes must be few (they
 * are the code's, never the data's): each is a plan on every pooled connection.
 */
export function preparedShapes<S>(prefix: string, keyOf: (shape: S) => string, build: (db: Db, shape: S) => SQL): (db: Db, shape: S) => PreparedSql {
  const shapes = new Map<string, (db: Db) => PreparedSql>();
  return (db, shape) => {
    const key = keyOf(shape);
    let statement = shapes.get(key);
    if (statement === undefined) {
      const name = `${prefix}_${createHash('sha1').update(key).digest('base64url').slice(0, 16)}`;
      shapes.set(key, (statement = preparedSql(name, (d) => build(d, shape))));
    }
    return statement(db);
  };
}

/** The keys of a patch that set something (drizzle leaves an undefined value out of a `set`). */
export function patchKeys(patch: object): string[] {
  return Object.keys(patch).filter((k) => (patch as Record<string, unknown>)[k] !== undefined).sort();
}

/** A `set` of placeholders for a patch's keys, named `prefix` + key (patchValues gives their values). */
export function patchPlaceholders(prefix: string, keys: string[]): Record<string, SQL> {
  return Object.fromEntries(keys.map((k) => [k, sql`${sql.placeholder(prefix + k)}`]));
}

/**
 * A patch's values as the driver takes them, under `prefix` + key (the placeholders' names): each
 * through its column's own mapping (a Date to its text, JSON to a string), null as null.
 */
export function patchValues(table: Table, prefix: string, patch: object, keys: string[], into: Record<string, unknown>): void {
  const columns = getTableColumns(table) as Record<string, { mapToDriverValue(v: unknown): unknown }>;
  for (const k of keys) {
    const v = (patch as Record<string, unknown>)[k];
    into[prefix + k] = v === null ? null : columns[k]!.mapToDriverValue(v);
  }
}
