/**
 * A restart in the middle of a day loses no schedule: the real `causeway` process links
 * connections, stops, and a new process on the same data refreshes each of them in the background
 * when its time comes (moved there with the test clock), once.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { client, createStorage, sleep, startServer, type Server, type Storage, tearDown } from './helpers/process.js';

let storage: Storage;
let server: Server | null = null;
before(async () => { storage = await createStorage('causeway-schedule-'); });
after(() => tearDown(server, storage));

const env = () => storage.env({ CAUSEWAY_SANDBOX_LATENCY_MS: '0' });
const WEB = { institutionId: 'ins_sandbox_web', method: 'web', credentials: { login: 'user_good', password: 'pass_good' } };

describe('a restart in the middle of a day', () => {
  it('keeps every connection’s background refresh: the new process starts each when it falls due, once', async () => {
    server = await startServer(env());
    const key = server.printedKey;
    assert.ok(key, server.stderr());
    let api = client(server.url, key);
    const linked: { base: string; next: number }[] = [];
    for (let i = 0; i < 3; i++) {
      const userId = await api.createUser({ externalId: `schedule-${i}` });
      const res = await api.post(`/v1/users/${userId}/connections`, WEB);
      assert.equal((await api.waitForJob(res.body.job.id)).status, 'succeeded');
      const base = `/v1/users/${userId}/connections/${res.body.connection.id}`;
      linked.push({ base, next: Date.parse((await api.get(base)).body.nextScheduledRefreshAt) });
    }
    // Half a day on, then the restart.
    assert.equal((await api.post('/v1/sandbox/clock', { advanceBy: 'PT11H' })).status, 200);
    const stopped = await server.stop(15_000);
    assert.deepEqual(stopped, { code: 0, signal: null }, server.stderr());
    server = await startServer(env());
    api = client(server.url, key);
    for (const c of linked) assert.equal(Date.parse((await api.get(c.base)).body.nextScheduledRefreshAt), c.next, 'the schedule survived');

    const now = Date.parse((await api.get('/v1/sandbox/clock')).body.now);
    const latest = Math.max(...linked.map((c) => c.next));
    assert.equal((await api.post('/v1/sandbox/clock', { advanceBy: `PT${Math.ceil((latest - now) / 1000) + 60}S` })).status, 200);
    for (const c of linked) {
      let scheduled: any[] = [];
      for (let i = 0; i < 200; i++) {
        scheduled = (await api.get(`${c.base}/jobs`)).body.data.filter((j: any) => j.trigger === 'scheduled');
        if (scheduled.length > 0 && scheduled.every((j) => !['queued', 'running'].includes(j.status))) break;
        await sleep(50);
      }
      assert.equal(scheduled.length, 1, `${c.base}: one background refresh`);
      assert.equal(scheduled[0].status, 'succeeded');
      assert.ok(Date.parse((await api.get(c.base)).body.nextScheduledRefreshAt) > c.next + 12 * 3_600_000, 'and the next one a day on');
    }
    const done = await server.stop(15_000);
    assert.deepEqual(done, { code: 0, signal: null }, server.stderr());
    server = null;
  });
});
