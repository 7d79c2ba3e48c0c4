/**
 * Which statements become named prepared statements (db/statements.ts): every repeated text with
 * parameters, and a repeated text without them only when it is plainly one query or write. On
 * PostgreSQL, the client really keeps such a statement prepared on its connection, as pg-boss's
 * fetch (its options written into the text) is sent, and a multi-statement text still runs. A
 * statement stays prepared as long as its connection: the pool keeps an idle connection through a
 * lull of minutes (db/open.ts POOL_HOLDING), so a new backend's caches are not paid at each burst.
 */
import { describe, it, mock } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { nameable, StatementNamingClient } from '../../src/db/statements.js';
import { sql, type SQL } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import { openDatabase } from '../../src/db/open.js';
import { opaque } from '../../src/db/predicates.js';
import { createTestDatabase, usingPostgres } from '../helpers/db.js';

describe('named statements', () => {
  it('names texts with parameters, and one query or write without them', () => {
    assert.equal(nameable('select * from jobs where id = $1', ['job_1']), true);
    assert.equal(nameable('update jobs set x = $1; select 1', ['v']), true, 'parameters: the server refuses two statements itself');
    for (const text of ['select 1', '  WITH next AS (select id from t limit 4) update t set a = 1 from next', 'insert into t values (1)',
      'UPDATE t SET a = 1', 'delete from t']) {
      assert.equal(nameable(text, []), true, text);
      assert.equal(nameable(text, undefined), true, text);
    }
    for (const text of ['begin', 'commit', 'set local lock_timeout = 1000', 'listen causeway_webhooks', 'create table t (a int)',
      'BEGIN; SET LOCAL lock_timeout = 30000; select 1; COMMIT;', 'select 1; select 2', 'selected_rows()', 'vacuum t']) {
      assert.equal(nameable(text, []), false, text);
    }
    assert.equal(nameable('select 1', () => {}), false, 'a callback in the values\' place is left where it is');
  });

  if (usingPostgres()) it('keeps a repeated parameterless query prepared on its connection, and runs a multi-statement text as before', async () => {
    const client: pg.Client = new StatementNamingClient({ connectionString: process.env.DATABASE_URL });
    await client.connect();
    try {
      const text = `select count(*)::int as n from pg_class where relname <> '${randomUUID()}'`;
      for (let i = 0; i < 3; i++) assert.ok((await client.query(text)).rows[0].n > 0);
      const prepared = await client.query('select name from pg_prepared_statements where statement = $1', [text]);
      assert.equal(prepared.rows.length, 1, 'named from its second use');
      assert.match(prepared.rows[0].name, /^cw_/);
      const multi = 'begin; select 1 as a; commit;';
      for (let i = 0; i < 2; i++) await client.query(multi);
      const none = await client.query('select count(*)::int as n from pg_prepared_statements where statement = $1', [multi]);
      assert.equal(none.rows[0].n, 0);
    } finally {
      await client.end();
    }
  });

  it('opaque passes a value as it is, an array as the rows unnest makes of it (literal text or parameter), on either database', async () => {
    const { database, drop } = await createTestDatabase();
    try {
      const rows = (await database.db.execute(sql`select v.a, v.n, v.at::text as at, v.ord::int as ord
        from unnest(${opaque('{"x y","tab\\\\there",NULL}', 'text[]')}, ${opaque([5, null, 7], 'int8[]')},
          ${opaque(['2026-01-02T03:04:05.000Z', null, null], 'timestamptz[]')}) with ordinality as v(a, n, at, ord)
        where ${opaque('2026-01-01', 'date')} < '2026-01-02'::date order by v.ord`)) as { rows: Record<string, unknown>[] };
      assert.deepEqual(rows.rows.map((r) => [r.a, r.n === null ? null : Number(r.n), r.at === null ? null : new Date(String(r.at)).toISOString(), r.ord]), [
        ['x y', 5, '2026-01-02T03:04:05.000Z', 1], ['tab\\there', null, null, 2], [null, 7, null, 3],
      ]);
    } finally {
      await database.close();
      await drop();
    }
  });

  // A named statement whose rows come from an unnest of a bare array is planned on every call (each
  // custom plan counts the call's rows and looks cheaper than the generic plan); through opaque the
  // plan cache keeps the generic plan after its five custom ones.
  if (usingPostgres()) it('lets a named statement that unnests array parameters keep one plan, where a bare array is planned on every call', async () => {
    const client: pg.Client = new StatementNamingClient({ connectionString: process.env.DATABASE_URL });
    await client.connect();
    const dialect = new PgDialect();
    const tag = randomUUID();
    const statement = (rows: SQL) => dialect.sqlToQuery(sql`select count(*)::int as n, ${tag}::text as tag
      from unnest(${rows}) as v(name) join pg_class c on c.relname = v.name`);
    const plans = async (text: string) => (await client.query(
      'select generic_plans::int as generic, custom_plans::int as custom from pg_prepared_statements where statement = $1', [text])).rows[0];
    try {
      const calls = [['pg_class'], ['pg_type', 'pg_proc'], ['pg_class', 'pg_attribute', 'pg_index']];
      for (const [name, rows] of [['bare', (names: string[]) => sql`${sql.param(names)}::text[]`], ['opaque', (names: string[]) => opaque(names, 'text[]')]] as const) {
        let text = '';
        for (let i = 0; i < 12; i++) {
          const names = calls[i % calls.length]!;
          const q = statement(rows(names));
          text = q.sql;
          assert.equal((await client.query({ text: q.sql, values: q.params })).rows[0].n, names.length, name);
        }
        const p = await plans(text);
        assert.ok(p, `${name}: named from its second use`);
        if (name === 'bare') assert.deepEqual(p, { generic: 0, custom: 11 }, 'the bare array: a custom plan on every call');
        else assert.ok(p.generic >= 5 && p.custom === 5, `through opaque: five custom plans, then the generic one (${JSON.stringify(p)})`);
      }
    } finally {
      await client.end();
    }
  });

  if (usingPostgres()) it('keeps an idle pooled connection through a lull of a minute (node-postgres closes it after 10 s) and closes it after five quiet minutes', async () => {
    const database = await openDatabase({ databaseUrl: process.env.DATABASE_URL!, dataDir: '' });
    assert.equal(database.kind, 'postgres');
    if (database.kind !== 'postgres') return;
    const backend = async () => (await database.pool.query('select pg_backend_pid() as pid')).rows[0].pid as number;
    mock.timers.enable({ apis: ['setTimeout'] });
    try {
      const first = await backend();
      mock.timers.tick(60_000);
      assert.equal(database.pool.totalCount, 1, 'still open after a minute idle');
      assert.equal(await backend(), first, 'the same server backend, with what it has prepared');
      mock.timers.tick(5 * 60_000);
      assert.equal(database.pool.totalCount, 0, 'closed after five quiet minutes');
    } finally {
      mock.timers.reset();
      await database.close();
    }
  });
});
