/**
 * The one transaction wrapper (db/transaction.ts): which errors run a transaction again, how many
 * times, and that every transaction in src/ goes through it (a new one that does not would not be
 * retried after a deadlock, and would answer 500).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AppError } from '../../src/domain/errors.js';
import type { Db } from '../../src/db/open.js';
import { isConflict, retryOnConflict, RetryTransaction, TRANSACTION_ATTEMPTS, withTransaction } from '../../src/db/transaction.js';

const SRC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src');
const pgError = (code: string) => Object.assign(new Error(`pg ${code}`), { code });
/** What Drizzle throws for a failed query: its own error, the driver's in `cause`. */
const wrapped = (code: string) => Object.assign(new Error('Failed query: ...'), { cause: pgError(code) });
/** `err` wrapped `depth` times more, each wrapper holding the one before in `cause`. */
const deeper = (err: Error, depth: number): Error => (depth === 0 ? err : deeper(Object.assign(new Error('wrapper'), { cause: err }), depth - 1));
/** Stands in for a database: `transaction` runs the callback with no connection at all, counting the runs. */
const fakeDb = () => {
  const db = { runs: 0, async transaction<T>(fn: (tx: unknown) => Promise<T>) { db.runs++; return fn(db); } };
  return db;
};

describe('withTransaction and retryOnConflict', () => {
  it('recognise a deadlock or a serialization failure, bare or wrapped by Drizzle, and nothing else', () => {
    assert.ok(isConflict(pgError('40P01')) && isConflict(pgError('40001')));
    assert.ok(isConflict(wrapped('40P01')) && isConflict(wrapped('40001')));
    for (const other of [pgError('23505'), wrapped('57014'), new Error('boom'), null, undefined, 'text']) assert.equal(isConflict(other), false);
  });

  it('find a deadlock anywhere in the first four links of the cause chain, and no deeper', () => {
    assert.ok(isConflict(deeper(pgError('40P01'), 2)) && isConflict(deeper(pgError('40001'), 3)));
    assert.equal(isConflict(deeper(pgError('40P01'), 4)), false);
    assert.equal(isConflict(deeper(pgError('23505'), 2)), false);
  });

  it('run again after a deadlock and answer what the next run answers', async () => {
    let runs = 0;
    const answer = await retryOnConflict(async () => {
      runs++;
      if (runs < 3) throw wrapped('40P01');
      return 'done';
    });
    assert.deepEqual([answer, runs], ['done', 3]);
  });

  it('run again after a race the transaction reports itself (RetryTransaction)', async () => {
    let runs = 0;
    assert.equal(await retryOnConflict(async () => (++runs === 1 ? Promise.reject(new RetryTransaction('live job appeared')) : runs)), 2);
  });

  it(`give up after ${TRANSACTION_ATTEMPTS} runs with the last error`, async () => {
    let runs = 0;
    await assert.rejects(retryOnConflict(async () => { runs++; throw pgError('40001'); }), /pg 40001/);
    assert.equal(runs, TRANSACTION_ATTEMPTS);
  });

  it(`end a transaction that loses all ${TRANSACTION_ATTEMPTS} runs as AppError try_again (503, Retry-After), whatever the race`, async () => {
    for (const lose of [() => new RetryTransaction('live job appeared'), () => wrapped('40P01'), () => deeper(pgError('40001'), 2)]) {
      const db = fakeDb();
      const err = await withTransaction(db as unknown as Db, async () => { throw lose(); }).then(() => null, (e: unknown) => e);
      assert.ok(err instanceof AppError, String(err));
      assert.equal(err.code, 'try_again');
      assert.deepEqual(err.headers, { 'retry-after': '1' });
      assert.ok(isConflict(err.cause) || err.cause instanceof RetryTransaction, 'the last error is kept as the cause');
      assert.equal(db.runs, TRANSACTION_ATTEMPTS);
    }
  });

  it('answer from withTransaction what a later run answers, and pass any other error through untouched', async () => {
    const db = fakeDb();
    assert.equal(await withTransaction(db as unknown as Db, async () => { if (db.runs < 2) throw new RetryTransaction('race'); return 'done'; }), 'done');
    const other = wrapped('23505');
    await assert.rejects(withTransaction(fakeDb() as unknown as Db, async () => { throw other; }), (e) => e === other);
  });

  it('never run again after any other error', async () => {
    let runs = 0;
    await assert.rejects(retryOnConflict(async () => { runs++; throw wrapped('23505'); }), /Failed query/);
    assert.equal(runs, 1);
  });

  it('is the only way src/ opens a transaction', () => {
    const offenders: string[] = [];
    const walk = (dir: string) => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) { if (e.name !== 'web' && e.name !== 'migrations') walk(p); continue; }
        if (!p.endsWith('.ts') || p === path.join(SRC, 'db/transaction.ts')) continue;
        fs.readFileSync(p, 'utf8').split('\n').forEach((line, i) => {
          if (/\.transaction\(/.test(line)) offenders.push(`${path.relative(SRC, p)}:${i + 1}`);
        });
      }
    };
    walk(SRC);
    assert.deepEqual(offenders, [], 'use withTransaction (src/db/transaction.ts)');
  });
});
