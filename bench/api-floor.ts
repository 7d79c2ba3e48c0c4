/**
 * The floor of the API read phase: a bare Fastify app (no plugins, no hooks, no logger) with one
 * route that runs the SQL Causeway runs for a page of a user's transactions and answers the rows
 * as JSON. On PostgreSQL it has a pg Pool of its own, as large as Causeway's; on PGlite it calls
 * PGlite's query directly. The SQL is not written out here: bench/api.ts captures the statement
 * Causeway itself sends (text and parameters) and passes it in, so the two cannot drift apart.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import pg from 'pg';
import type { Database } from '../src/db/open.js';

/**
 * A statement as sent, with the parameter that holds the user's id (the route fills in its own).
 * `name`: Causeway sends it as a named prepared statement, so the floor does too (pg parses and
 * plans it once per connection for both; an unnamed floor would pay a parse per request that Causeway does not).
 */
export interface CapturedQuery { text: string; name?: string; values: unknown[]; userParam: number }

export interface Floor { url: string; close(): Promise<void> }

export async function startFloor(database: Database, query: CapturedQuery, poolSize: number): Promise<Floor> {
  const pool = database.kind === 'postgres' ? new pg.Pool({ connectionString: database.url, max: poolSize }) : null;
  const run = async (values: unknown[]): Promise<unknown[]> => {
    if (pool) return (await pool.query({ text: query.text, values, ...(query.name ? { name: query.name } : {}) })).rows;
    if (database.kind === 'pglite') return (await database.pglite.query(query.text, values)).rows;
    throw new Error('unreachable');
  };
  const app: FastifyInstance = Fastify({ logger: false });
  app.get<{ Params: { userId: string } }>('/v1/users/:userId/transactions', async (req) => {
    const values = [...query.values];
    values[query.userParam] = req.params.userId;
    return { data: await run(values) };
  });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return {
    url,
    async close() {
      await app.close();
      await pool?.end();
    },
  };
}
