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
import { openDatabase } from '../../src/db/open.js';
import { usingPostgres } from '../helpers/db.js';

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
