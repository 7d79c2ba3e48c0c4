/**
 * The answer writer (src/http/serializer.ts): what it writes is what zod's own parse of the same
 * value keeps (declared keys only, in the schema's order), for every kind of schema it follows.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { pickerFor } from '../../src/http/serializer.js';
import { Transaction } from '../../src/http/schemas.js';

const same = (schema: z.ZodType, value: unknown) => {
  const pick = pickerFor(schema);
  assert.ok(pick, 'a picker is built for the schema');
  assert.equal(JSON.stringify(pick(value)), JSON.stringify(schema.parse(value)));
};

describe('answer writer', () => {
  it('writes only the declared keys, in the schema order, through nested objects, arrays, records, unions and optional parts', () => {
    const Item = z.object({ b: z.string(), a: z.number().nullable(), "quote\"d key": z.boolean().optional() });
    const Tagged = z.discriminatedUnion('kind', [
      z.object({ kind: z.literal('one'), one: Item }),
      z.object({ kind: z.literal('two'), two: z.array(Item) }),
    ]);
    const Schema = z.object({
      items: z.array(Item), byName: z.record(z.string(), Item), tagged: z.array(Tagged), maybe: Item.nullable().optional(), free: z.unknown(),
    });
    const item = (n: number) => ({ a: n, secret: 'not declared', b: `b${n}`, 'quote"d key': n % 2 === 0 });
    same(Schema, {
      extra: 'dropped', free: { anything: [1, 'two'] }, maybe: null, items: [item(1), item(2), { b: 'no a', a: null }],
      byName: { x: item(3), y: item(4) }, tagged: [{ kind: 'one', one: item(5), stray: 1 }, { kind: 'two', two: [item(6)] }],
    });
    same(Schema, { items: [], byName: {}, tagged: [], maybe: item(7), free: null });
  });

  it('writes a page of transactions as zod would, many times over (the shape every API page has)', () => {
    const Page = z.object({ data: z.array(Transaction), nextCursor: z.string().nullable() });
    const at = new Date('2026-11-20T10:00:00Z').toISOString();
    const data = Array.from({ length: 50 }, (_, i) => ({
      id: `txn_${i}`, accountId: 'acc_1', connectionId: 'con_1', status: i % 3 === 0 ? 'pending' : 'posted', amount: -1250 - i, currency: 'AUD',
      date: '2026-11-20', authorizedDate: i % 2 === 0 ? null : '2026-11-19', description: `Coffee "${i}"`, merchantName: null, category: 'food',
      createdAt: at, updatedAt: at, userId: 'usr_not_shown', createdSeq: i,
    }));
    for (let round = 0; round < 3; round++) same(Page, { data, nextCursor: round === 2 ? null : `cur_${round}` });
  });
});
