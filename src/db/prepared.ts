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
 */
import type { Db } from './open.js';

export function preparedPer<T>(build: (db: Db) => T): (db: Db) => T {
  const cache = new WeakMap<Db, T>();
  return (db) => {
    let statement = cache.get(db);
    if (statement === undefined) cache.set(db, (statement = build(db)));
    return statement;
  };
}
