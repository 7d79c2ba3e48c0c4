/**
 * A worker killed during a webhook attempt: the real `causeway` process is SIGKILLed while a
 * receiver holds the request open. A new process on the same data takes the delivery up once the
 * dead worker's lease lapses and delivers it, with the same webhook-id: nothing is lost, and the
 * event never travels under another id.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { client, createStorage, sleep, startServer, type Server, type Storage, tearDown } from './helpers/process.js';

let storage: Storage;
let server: Server | null = null;
const received: { id: string; at: number }[] = [];
const held: http.ServerResponse[] = [];
// The first request is held open (the worker is killed while it waits); later ones are answered.
const receiver = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    received.push({ id: String(req.headers['webhook-id']), at: Date.now() });
    if (received.length === 1) held.push(res);
    else res.writeHead(200).end('ok');
  });
});

before(async () => {
  storage = await createStorage('causeway-webhook-crash-');
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
});

after(async () => {
  try {
    await tearDown(server, storage);
  } finally {
    for (const h of held) h.destroy();
    receiver.closeAllConnections();
    await new Promise<void>((r) => receiver.close(() => r()));
  }
});

const env = () => storage.env({ CAUSEWAY_ALLOW_PRIVATE_ADDRESSES: 'true', CAUSEWAY_WEBHOOK_TIMEOUT_SECONDS: '2', CAUSEWAY_SANDBOX_LATENCY_MS: '0' });

describe('a worker killed during a webhook attempt', () => {
  it('does not lose the delivery: a new process sends it again with the same webhook-id', async (t) => {
    server = await startServer(env());
    const key = server.printedKey;
    assert.ok(key, server.stderr());
    let api = client(server.url, key);
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    const endpoint = await api.post('/v1/webhook-endpoints', { url, eventTypes: ['user.created'] });
    assert.equal(endpoint.status, 201, endpoint.text);
    const userId = await api.createUser({ externalId: 'webhook-crash' });

    const deadline = Date.now() + 10_000;
    while (received.length === 0 && Date.now() < deadline) await sleep(20);
    assert.equal(received.length, 1, 'the first attempt reached the receiver');
    const exit = await server.crash();
    assert.equal(exit.signal, 'SIGKILL');
    const killedAt = Date.now();
    server = await startServer(env());
    api = client(server.url, key);

    const redeliveredBy = Date.now() + 30_000;
    while (received.length < 2 && Date.now() < redeliveredBy) await sleep(50);
    assert.equal(received.length, 2, 'delivered again after the restart');
    t.diagnostic(`redelivered ${received[1]!.at - killedAt} ms after the kill`);
    assert.equal(received[1]!.id, received[0]!.id, 'the same webhook-id');
    const event = (await api.get(`/v1/events?type=user.created&userId=${userId}`)).body.data;
    assert.equal(event.length, 1);
    assert.equal(received[0]!.id, event[0].id, 'the webhook-id is the event id');
    let log: any[] = [];
    for (let i = 0; i < 40; i++) {
      log = (await api.get(`/v1/webhook-endpoints/${endpoint.body.id}/deliveries`)).body.data;
      if (log[0]?.status === 'succeeded') break;
      await sleep(50);
    }
    assert.equal(log.length, 1, 'one delivery');
    assert.deepEqual([log[0].status, log[0].eventId, log[0].attempts.at(-1).statusCode], ['succeeded', event[0].id, 200]);
    await sleep(500);
    assert.equal(received.length, 2, 'and not a third time');
    const stopped = await server.stop(15_000);
    assert.deepEqual(stopped, { code: 0, signal: null }, server.stderr());
    server = null;
  });
});
