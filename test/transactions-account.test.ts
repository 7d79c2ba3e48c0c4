/**
 * A transaction belongs to its account and to the account's connection, user and application
 * (schema.ts, transactions; migration 0017 holds it with triggers, checked once a statement). Every
 * way a row is written is checked: a multi-row INSERT, the COPY a first sync uses, an update that
 * moves a row. An account's delete takes its transactions; its key cannot change under them. On
 * PostgreSQL, the two orders of a write racing an account's delete end as a foreign key's would.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { eq, sql } from 'drizzle-orm';
import { copyRows } from '../src/db/copy.js';
import { sqlErrorOf } from '../src/db/errors.js';
import { withTransaction } from '../src/db/transaction.js';
import { accounts, transactions } from '../src/db/schema.js';
import { startTestApp, type TestApp } from './helpers/app.js';
import { usingPostgres } from './helpers/db.js';

const FK = '23503';

describe('a transaction names its own account', () => {
  let t: TestApp;
  /** Two active connections of two users, with their accounts and transactions. */
  const linked: { userId: string; connectionId: string; accountIds: string[] }[] = [];

  before(async () => {
    t = await startTestApp();
    for (let i = 0; i < 2; i++) {
      const userId = await t.createUser();
      const res = await t.api('POST', `/v1/users/${userId}/connections`, {
        institutionId: 'ins_sandbox_web', method: 'web', credentials: { login: 'user_good', password: 'pass_good' },
      });
      assert.equal(res.status, 202, JSON.stringify(res.body));
      assert.equal((await t.waitForJob(res.body.job.id, undefined, 30_000)).status, 'succeeded');
      const connectionId = res.body.connection.id as string;
      const ids = (await t.core.db.select({ id: accounts.id }).from(accounts).where(eq(accounts.connectionId, connectionId))).map((a) => a.id);
      assert.ok(ids.length >= 2, 'the sandbox bank has several accounts');
      linked.push({ userId, connectionId, accountIds: ids });
    }
  });
  after(async () => { await t.close(); });

  /** A stored transaction of the first connection, as a template. */
  const template = async () => (await t.core.db.select().from(transactions).where(eq(transactions.connectionId, linked[0]!.connectionId)).limit(1))[0]!;

  /** Inserts copies of the template in one statement, each with the given owner. */
  async function insertRows(owners: { accountId: string; connectionId?: string; userId?: string }[]) {
    const x = await template();
    const rows = owners.map((o, i) => ({
      ...x, id: `txn_check_${Date.now()}_${i}_${Math.random().toString(36).slice(2, 8)}`, providerTransactionId: `check-${Math.random()}`,
      accountId: o.accountId, connectionId: o.connectionId ?? x.connectionId, userId: o.userId ?? x.userId,
    }));
    await t.core.db.insert(transactions).values(rows);
    return rows.map((r) => r.id);
  }

  async function rejects(fn: () => Promise<unknown>) {
    let err: unknown = null;
    try { await fn(); } catch (e) { err = e; }
    const e = sqlErrorOf(err, [FK]);
    assert.ok(e, `expected a foreign key violation, got ${String(err)}`);
    assert.equal(e.constraint, 'transactions_account_fk');
  }

  const countOf = async (where: ReturnType<typeof eq>) => (await t.core.db.select({ id: transactions.id }).from(transactions).where(where)).length;

  it('refuses a row whose account does not exist, or is another connection\'s, and writes none of its statement', async () => {
    const [a] = linked;
    const [b] = linked.slice(1);
    const before = await countOf(eq(transactions.connectionId, a!.connectionId));
    await rejects(() => insertRows([{ accountId: a!.accountIds[0]! }, { accountId: 'acc_missing' }]));
    // The account exists, but under another connection and user: the four must match together.
    await rejects(() => insertRows([{ accountId: b!.accountIds[0]! }]));
    await rejects(() => insertRows([{ accountId: a!.accountIds[0]!, userId: b!.userId }]));
    assert.equal(await countOf(eq(transactions.connectionId, a!.connectionId)), before, 'a refused statement writes nothing');
    // Rows on two of the connection's own accounts in one statement are accepted.
    const ids = await insertRows([{ accountId: a!.accountIds[0]! }, { accountId: a!.accountIds[1]! }, { accountId: a!.accountIds[1]! }]);
    assert.equal(await countOf(eq(transactions.connectionId, a!.connectionId)), before + ids.length);
  });

  it('checks rows written by COPY, as a first sync writes them', async () => {
    const x = await template();
    const line = (accountId: string) => [`txn_copy_${Math.random().toString(36).slice(2, 12)}`, x.applicationId, x.userId, x.connectionId, accountId,
      `copy-${Math.random()}`, '\\N', x.status, x.amount, x.currency, x.date, '\\N', 'copied', '\\N', '\\N', 1, 1,
      new Date().toISOString(), new Date().toISOString()].join('\t');
    const columns = ['id', 'application_id', 'user_id', 'connection_id', 'account_id', 'provider_transaction_id', 'provider_pending_id', 'status',
      'amount', 'currency', 'date', 'authorized_date', 'description', 'merchant_name', 'category', 'created_seq', 'change_seq', 'created_at', 'updated_at'];
    const copied = () => countOf(eq(transactions.description, 'copied'));
    await rejects(() => withTransaction(t.core.db, (tx) => copyRows(tx, 'transactions', columns, `${line(linked[0]!.accountIds[0]!)}\n${line(linked[1]!.accountIds[0]!)}\n`)));
    assert.equal(await copied(), 0);
    await withTransaction(t.core.db, (tx) => copyRows(tx, 'transactions', columns, `${line(linked[0]!.accountIds[0]!)}\n${line(linked[0]!.accountIds[1]!)}\n`));
    assert.equal(await copied(), 2);
  });

  it('checks an update only where it moves a row to another account', async () => {
    const [a] = linked;
    const [id] = await insertRows([{ accountId: a!.accountIds[0]! }]);
    await rejects(() => t.core.db.update(transactions).set({ accountId: 'acc_missing' }).where(eq(transactions.id, id!)));
    await rejects(() => t.core.db.update(transactions).set({ accountId: linked[1]!.accountIds[0]! }).where(eq(transactions.id, id!)));
    await t.core.db.update(transactions).set({ accountId: a!.accountIds[1]! }).where(eq(transactions.id, id!));
    // Naming the same owner again, as a refresh's update does, is no change.
    await t.core.db.execute(sql`update transactions set account_id = account_id, connection_id = connection_id where connection_id = ${a!.connectionId}`);
    const [row] = await t.core.db.select({ accountId: transactions.accountId }).from(transactions).where(eq(transactions.id, id!));
    assert.equal(row!.accountId, a!.accountIds[1]);
  });

  it('deletes an account\'s transactions with it, and keeps its key while they name it', async () => {
    const [, b] = linked;
    const [victim, other] = b!.accountIds;
    assert.ok(await countOf(eq(transactions.accountId, victim!)) > 0);
    const otherBefore = await countOf(eq(transactions.accountId, other!));
    await rejects(() => t.core.db.update(accounts).set({ userId: linked[0]!.userId }).where(eq(accounts.id, victim!)));
    await t.core.db.delete(accounts).where(eq(accounts.id, victim!));
    assert.equal(await countOf(eq(transactions.accountId, victim!)), 0);
    assert.equal(await countOf(eq(transactions.accountId, other!)), otherBefore, 'the other account keeps its rows');
  });

  // PGlite runs one statement at a time: no race to run there.
  if (usingPostgres()) it('a write racing an account\'s delete: the delete waits and takes the new rows, or the write fails', async () => {
    const database = t.core.database;
    if (database.kind !== 'postgres') return;
    const [a] = linked;
    const x = await template();
    const insertOn = (accountId: string, tag: string) => `insert into transactions (id, application_id, user_id, connection_id, account_id,
      provider_transaction_id, status, amount, currency, date, description, created_seq, change_seq, created_at, updated_at)
      values ('txn_race_${tag}', '${x.applicationId}', '${x.userId}', '${x.connectionId}', '${accountId}', 'race-${tag}', 'posted', 1, 'USD',
      '${x.date}', 'race', 1, 1, now(), now())`;
    const writer = await database.pool.connect();
    const deleter = await database.pool.connect();
    try {
      // The write first: the delete waits for its commit, then takes its row too.
      const first = a!.accountIds[0]!;
      await writer.query('begin');
      await writer.query(insertOn(first, 'w1'));
      const deleting = deleter.query('delete from accounts where id = $1', [first]);
      const waited = await Promise.race([deleting.then(() => false), new Promise((r) => setTimeout(() => r(true), 300))]);
      assert.ok(waited, 'the delete waits for the writer');
      await writer.query('commit');
      await deleting;
      assert.equal(await countOf(eq(transactions.accountId, first)), 0);

      // The delete first: the write waits for it, then finds no account.
      const second = a!.accountIds[1]!;
      await deleter.query('begin');
      await deleter.query('delete from accounts where id = $1', [second]);
      const writing = writer.query(insertOn(second, 'w2')).then(() => null, (e: unknown) => e);
      await new Promise((r) => setTimeout(r, 200));
      await deleter.query('commit');
      const err = await writing;
      assert.equal(sqlErrorOf(err, [FK])?.constraint, 'transactions_account_fk', String(err));
      assert.equal(await countOf(eq(transactions.accountId, second)), 0);
    } finally {
      writer.release();
      deleter.release();
    }
  });
});
