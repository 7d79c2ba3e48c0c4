/**
 * The SimpleFIN bridge fake keeps the protocol it stands for (the adapter tests rely on it): one
 * claim per token, Basic credentials, start-date inclusive and end-date exclusive, pending only on
 * request, balances-only without transactions, a range over 90 days capped with the bridge's warning.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startSimpleFinFake, CAPPED_MESSAGE, type SimpleFinFake } from './fakes/simplefin/index.js';

const NOW = new Date('2026-03-01T12:00:00Z');
const nowSec = Math.floor(NOW.getTime() / 1000);
let fake: SimpleFinFake;
before(async () => { fake = await startSimpleFinFake({ now: () => NOW }); });
after(async () => fake.stop());

async function accessFor(): Promise<{ root: string; auth: string; user: string }> {
  const { token, user } = fake.setupToken();
  const claimUrl = Buffer.from(token, 'base64').toString('utf8');
  const res = await fetch(claimUrl, { method: 'POST' });
  assert.equal(res.status, 200);
  const access = new URL(await res.text());
  const auth = `Basic ${Buffer.from(`${access.username}:${access.password}`).toString('base64')}`;
  access.username = '';
  access.password = '';
  return { root: access.href, auth, user };
}

async function get(a: { root: string; auth: string }, query: string) {
  const res = await fetch(`${a.root}/accounts?${query}`, { headers: { authorization: a.auth } });
  return { status: res.status, body: res.status === 200 ? await res.json() as any : await res.text() };
}

describe('SimpleFIN bridge fake', () => {
  it('answers a claim once, then 403', async () => {
    const { claimUrl } = fake.setupToken();
    assert.equal((await fetch(claimUrl, { method: 'POST' })).status, 200);
    assert.equal((await fetch(claimUrl, { method: 'POST' })).status, 403);
  });

  it('filters by start-date (inclusive) and end-date (exclusive), pending on request, balances-only bare', async () => {
    const a = await accessFor();
    const ids = (body: any) => body.accounts.flatMap((x: any) => (x.transactions ?? []).map((t: any) => `${x.id.split('-').pop()}:${t.id}`)).sort();
    const start = nowSec - 10 * 86_400;
    const posted = await get(a, `start-date=${start}`);
    assert.deepEqual(ids(posted.body), ['card:TRN-9', 'chk:TRN-3']);
    const withPending = await get(a, `start-date=${start}&pending=1`);
    assert.deepEqual(ids(withPending.body), ['card:TRN-10', 'card:TRN-9', 'chk:TRN-3', 'chk:TRN-4']);
    const ended = await get(a, `start-date=${start}&end-date=${start}&pending=1`);
    assert.deepEqual(ids(ended.body), []);
    const bare = await get(a, 'balances-only=1');
    assert.ok(bare.body.accounts.every((x: any) => x.transactions === undefined && typeof x.balance === 'string'));
    assert.deepEqual(bare.body.errors, []);
  });

  it('caps a range over 90 days with the bridge\'s warning, and refuses bad or revoked credentials', async () => {
    const a = await accessFor();
    const capped = await get(a, `start-date=${nowSec - 120 * 86_400}&pending=1`);
    assert.deepEqual(capped.body.errors, [CAPPED_MESSAGE]);
    assert.equal(fake.calls.at(-1)!.capped, true);
    assert.equal((await get({ ...a, auth: 'Basic eDp5' }, 'pending=1')).status, 403);
    const access = fake.accessUrlOf(fake.apps.at(-1)!);
    fake.revoke(access);
    assert.equal((await get(a, 'pending=1')).status, 403);
  });
});
