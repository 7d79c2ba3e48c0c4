/**
 * Which statements become named prepared statements (db/statements.ts): every repeated text with
 * parameters, and a repeated text without them only when it is plainly one query or write. On
 * PostgreSQL, the client really keeps such a statement prepared on its connection, as pg-boss's
 * fetch (its options written into the text) is sent, and a multi-statement text still runs.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { nameable, StatementNamingClient } from '../../src/db/statements.js';
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
});
