/**
 * `causeway import`, run as the real command against the Plaid fake: mistakes in the command and
 * bad files refused with nothing imported; a small file imported with each failure listed, and a
 * second run of it skipping what is done; and 1,000 rows SIGKILLed half-way and run again: exactly
 * 1,000 connections, one per Item, nothing lost, the batch's counts the rows' statuses.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { createStorage, runCli, sleep, spawnCauseway, type Storage, tearDown } from './helpers/process.js';
import { startPlaidFake, type PlaidFake } from './fakes/plaid/index.js';
import { openDatabase } from '../src/db/open.js';

/** The embedded database's first start (initdb and migrations) can take half a minute on a busy machine. */
const cli = (args: string[], env: Record<string, string>) => runCli(args, env, 120_000);

let storage: Storage;
let fake: PlaidFake;

before(async () => {
  storage = await createStorage('causeway-cli-import-');
  fake = await startPlaidFake({ seed: 'causeway-cli-import', initialTransactions: 0 });
});
after(async () => {
  await fake?.close();
  await tearDown(null, storage);
});

const env = () => storage.env({ CAUSEWAY_PLAID_CLIENT_ID: fake.clientId, CAUSEWAY_PLAID_SECRET: fake.secret, CAUSEWAY_PLAID_URL: fake.url });

function writeFile(name: string, text: string): string {
  const file = path.join(storage.dataDir, name);
  fs.writeFileSync(file, text);
  return file;
}

/** Reads the database the commands wrote, with no command running (the embedded one takes one process at a time). */
async function query<T = any>(q: ReturnType<typeof sql>): Promise<T[]> {
  const database = await openDatabase({ databaseUrl: storage.databaseUrl, dataDir: storage.dataDir, poolSize: 1 });
  try {
    return ((await database.db.execute(q)) as unknown as { rows: T[] }).rows;
  } finally {
    await database.close();
  }
}

describe('causeway import', () => {
  it('refuses mistakes in the command (exit 2) and files it cannot import (exit 1), naming the lines', async () => {
    const noProvider = await cli(['import', '--file', 'x.csv'], env());
    assert.equal(noProvider.code, 2);
    assert.match(noProvider.stderr, /^import needs --provider ID/);
    assert.match(noProvider.stderr, /Usage: causeway import --provider ID --file FILE/);
    const badRate = await cli(['import', '--provider', 'plaid', '--file', 'x.csv', '--rate', 'fast'], env());
    assert.equal(badRate.code, 2);
    assert.match(badRate.stderr, /^--rate must be a number from 0 to 1000/);
    const help = await cli(['import', '--help'], env());
    assert.equal(help.code, 0);
    assert.match(help.stdout, /resumes the unfinished import of the same\s+file/, 'asked-for help goes to stdout');
    assert.match(help.stdout, /^Usage: causeway import --provider ID --file FILE/);

    const missing = await cli(['import', '--provider', 'plaid', '--file', path.join(storage.dataDir, 'nope.csv')], env());
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^causeway: Cannot read .*nope\.csv: no such file\.\n$/);
    const bad = writeFile('bad.csv', 'user,token\nmeld-1,access-1\nmeld-2\nmeld-3,access 3\n');
    const refused = await cli(['import', '--provider', 'plaid', '--file', bad], env());
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(refused.stderr, /bad\.csv: 2 lines are not a row .*so nothing was imported:\n {2}line 3: has 1 column; .*\n {2}line 4: the access token contains spaces\n$/);
    assert.equal(refused.stdout, '');
    assert.equal(fake.requestsTo('/item/get').length, 0);
  });

  it('imports a file with a summary listing each failed row, and a second run skips what is done', async () => {
    const items = [fake.createItem(), fake.createItem(), fake.createItem()];
    const file = writeFile('small.csv', [
      ...items.map((i, n) => `small-user-${n},${i.accessToken}`),
      'small-bad@example.com,access-sandbox-00000000-0000-4000-8000-000000000000',
    ].join('\n'));
    const first = await cli(['import', '--provider', 'plaid', '--file', file], env());
    assert.equal(first.code, 0, first.stderr);
    const [summary, ...rest] = first.stdout.trimEnd().split('\n');
    assert.match(summary!, /^imp_\w+: 4 rows from .*small\.csv: 3 imported, 0 skipped \(already imported\), 1 failed$/);
    assert.deepEqual(rest, ['Failed rows:', '  line 4  small-bad@example.com  validation_failed: Plaid does not recognise this access token (INVALID_ACCESS_TOKEN).']);
    assert.match(first.stderr, /^Import imp_\w+: 4 rows of .*small\.csv for /m);
    assert.match(first.stderr, /^4 of 4 rows: 3 imported, 0 skipped, 1 failed$/m);
    assert.doesNotMatch(first.stderr, /\x1b\[/, 'no terminal control codes');
    for (const i of items) assert.ok(!first.stdout.includes(i.accessToken) && !first.stderr.includes(i.accessToken), 'tokens are never printed');

    const second = await cli(['import', '--provider', 'plaid', '--file', file], env());
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, /^imp_\w+: 4 rows from .*small\.csv: 0 imported, 3 skipped \(already imported\), 1 failed\n/);
    assert.notEqual(second.stdout.slice(0, 30), first.stdout.slice(0, 30), 'a completed file makes a new import');
    const [made] = await query<{ n: number }>(sql`select count(*)::int as n from connections c join users u on u.id = c.user_id where u.external_id like 'small-user-%'`);
    assert.equal(Number(made!.n), 3);
  });

  it('survives a SIGKILL half-way through 1,000 rows: run again, it resumes to exactly 1,000 connections, none twice, none lost', { timeout: 180_000 }, async () => {
    const ROWS = 1_000;
    const items = Array.from({ length: ROWS }, () => fake.createItem({ transactions: 0 }));
    const users = items.map((_, i) => (i % 2 === 0 ? `bulk-${i}` : `bulk-${i}@example.com`));
    const file = writeFile('bulk.csv', `user,token\n${items.map((it, i) => `${users[i]},${it.accessToken}`).join('\n')}\n`);
    const calls = () => fake.requestsTo('/item/get').length;
    const start = calls();
    const args = ['import', '--provider', 'plaid', '--file', file, '--rate', '0', '--concurrency', '4'];

    const victim = spawnCauseway(args, env());
    const deadline = Date.now() + 120_000;
    while (calls() - start < ROWS / 2) {
      const exit = await victim.waitExit(20);
      if (exit) assert.fail(`the import ended before half-way (code ${exit.code}): ${victim.stderr()}`);
      if (Date.now() > deadline) assert.fail(`half-way not reached in time: ${calls() - start} calls\n${victim.stderr()}`);
    }
    victim.child.kill('SIGKILL');
    const exit = await victim.waitExit(10_000);
    assert.deepEqual(exit, { code: null, signal: 'SIGKILL' });
    const killedAt = calls() - start;
    assert.ok(killedAt < ROWS, `killed before the end (${killedAt} calls)`);
    await sleep(100);

    const [cut] = await query(sql`select status, total, imported, skipped, failed from import_batches where content_hash is not null and total = ${ROWS}`);
    assert.equal(cut.status, 'running');
    const doneAtKill = Number(cut.imported) + Number(cut.skipped) + Number(cut.failed);
    assert.ok(doneAtKill > 0 && doneAtKill < ROWS, `part done at the kill: ${doneAtKill}`);

    const resumed = await cli(args, env());
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stderr, new RegExp(`^Resuming import imp_\\w+ of .*bulk\\.csv: ${doneAtKill.toLocaleString('en-US')} of 1,000 rows were done\\.$`, 'm'));
    assert.match(resumed.stdout, /^imp_\w+: 1,000 rows from .*bulk\.csv: 1,000 imported, 0 skipped \(already imported\), 0 failed\n$/);
    // Only what was not done is asked again (the rows in flight at the kill, at most).
    assert.ok(calls() - start <= ROWS + 2 * 4, `Plaid asked ${calls() - start} times for ${ROWS} rows`);

    const batches = await query(sql`select id, status, total, imported, skipped, failed from import_batches where content_hash is not null and total = ${ROWS}`);
    assert.equal(batches.length, 1, 'the second run resumed the batch rather than making another');
    const b = batches[0]!;
    assert.deepEqual([b.status, Number(b.total), Number(b.imported), Number(b.skipped), Number(b.failed)], ['completed', ROWS, ROWS, 0, 0]);
    const byStatus = await query(sql`select status, count(*)::int as n, count(distinct connection_id)::int as connections from import_rows where batch_id = ${b.id} group by status`);
    assert.deepEqual(byStatus.map((r) => [r.status, Number(r.n), Number(r.connections)]), [['imported', ROWS, ROWS]]);

    const connections = await query<{ item_id: string; ext: string | null; email: string | null }>(sql`
      select c.item_id, u.external_id as ext, u.email from connections c join users u on u.id = c.user_id
      where u.external_id like 'bulk-%' or u.email like 'bulk-%'`);
    assert.equal(connections.length, ROWS, 'exactly 1,000 connections');
    const byItem = new Map(connections.map((c) => [c.item_id, c.ext ?? c.email]));
    assert.equal(byItem.size, ROWS, 'no Item imported twice');
    items.forEach((it, i) => assert.equal(byItem.get(it.itemId), users[i], `Item ${i} belongs to ${users[i]}`));
    const [made] = await query<{ n: number }>(sql`select count(*)::int as n from users where external_id like 'bulk-%' or email like 'bulk-%'`);
    assert.equal(Number(made!.n), ROWS, 'one user per row, none made twice');
  });
});
