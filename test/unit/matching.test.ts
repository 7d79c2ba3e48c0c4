import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { planTransactions, type IncomingTransaction, type StoredTransaction } from '../../src/domain/matching.js';

const tx = (p: Partial<IncomingTransaction> & { providerId: string }): IncomingTransaction => ({
  accountId: 'acc_1', status: 'posted', amount: -1250, currency: 'AUD', date: '2026-03-10', authorizedDate: null,
  description: 'COFFEE', merchantName: 'Cafe', category: 'food', pendingProviderId: null, ...p,
});
const stored = (id: string, p: Partial<StoredTransaction> & { providerId: string }): StoredTransaction => ({ ...tx(p), id, removed: false, ...p });
const window = { from: '2026-03-01', to: '2026-03-31' };

describe('transaction matching', () => {
  it('inserts what is new and leaves what is unchanged alone', () => {
    const plan = planTransactions([stored('t1', { providerId: 'a' })], [tx({ providerId: 'a' }), tx({ providerId: 'b' })], window);
    assert.deepEqual(plan.inserts.map((t) => t.providerId), ['b']);
    assert.deepEqual(plan.updates, []);
    assert.deepEqual(plan.removals, []);
  });

  it('turns a linked pending transaction into the posted one, keeping its row', () => {
    const plan = planTransactions(
      [stored('t1', { providerId: 'p1', status: 'pending', date: '2026-03-08' })],
      [tx({ providerId: 'x1', pendingProviderId: 'p1', date: '2026-03-10' })], window);
    assert.deepEqual(plan.inserts, []);
    assert.equal(plan.updates.length, 1);
    assert.equal(plan.updates[0]!.id, 't1');
    assert.equal(plan.updates[0]!.next.providerId, 'x1');
    assert.deepEqual(plan.removals, []);
  });

  it('matches an unlinked posting by account, amount and a date window', () => {
    const plan = planTransactions(
      [stored('t1', { providerId: 'p1', status: 'pending', date: '2026-03-08' }), stored('t2', { providerId: 'p2', status: 'pending', date: '2026-03-09', amount: -999 })],
      [tx({ providerId: 'x1', date: '2026-03-11' }), tx({ providerId: 'p2', status: 'pending', date: '2026-03-09', amount: -999 })], window);
    assert.deepEqual(plan.inserts, []);
    assert.deepEqual(plan.updates.map((u) => [u.id, u.next.providerId, u.next.pendingProviderId]), [['t1', 'x1', 'p1']]);
  });

  it('never takes a pending row the provider still returns, nor one too old, nor another amount', () => {
    const plan = planTransactions(
      [
        stored('t1', { providerId: 'p1', status: 'pending', date: '2026-03-08' }),
        stored('t2', { providerId: 'p2', status: 'pending', date: '2026-02-01' }),
        stored('t3', { providerId: 'p3', status: 'pending', date: '2026-03-08', amount: -1 }),
      ],
      [tx({ providerId: 'p1', status: 'pending', date: '2026-03-08' }), tx({ providerId: 'x1', date: '2026-03-12' })],
      { from: '2026-01-15', to: '2026-03-31' });
    assert.deepEqual(plan.inserts.map((t) => t.providerId), ['x1']);
    assert.deepEqual(plan.removals.sort(), ['t2', 't3']);
  });

  it('removes stored rows the provider no longer returns inside the window only', () => {
    const plan = planTransactions(
      [stored('in', { providerId: 'a', date: '2026-03-05' }), stored('out', { providerId: 'b', date: '2026-02-05' }), stored('gone', { providerId: 'c', date: '2026-03-06' })],
      [tx({ providerId: 'a', date: '2026-03-05' })], window);
    assert.deepEqual(plan.removals, ['gone']);
  });

  it('is idempotent: planning again against its own result changes nothing', () => {
    const s = [stored('t1', { providerId: 'p1', status: 'pending', date: '2026-03-08' })];
    const incoming = [tx({ providerId: 'x1', pendingProviderId: 'p1' }), tx({ providerId: 'n1', amount: -5 })];
    const first = planTransactions(s, incoming, window);
    const applied: StoredTransaction[] = [
      ...first.updates.map((u) => ({ ...u.next, id: u.id, removed: false })),
      ...first.inserts.map((t, i) => ({ ...t, id: `new${i}`, removed: false })),
    ];
    const second = planTransactions(applied, incoming, window);
    assert.deepEqual(second, { inserts: [], updates: [], removals: [] });
  });

  it('restores a removed transaction that comes back', () => {
    const plan = planTransactions([{ ...stored('t1', { providerId: 'a' }), removed: true }], [tx({ providerId: 'a' })], window);
    assert.deepEqual(plan.updates.map((u) => u.id), ['t1']);
  });
});
