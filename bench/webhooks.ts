/**
 * Webhook delivery through the real worker to a local receiver in another process:
 *
 *   burst:   100 endpoints, each taking user.created; E users created by 8 clients at once, so
 *            E × 100 deliveries. deliveries/s = deliveries ÷ (last arrival − first commit);
 *            latency = arrival − the commit of the event it carries (median, p99).
 *   trickle: one test event every 20 ms to one endpoint: the latency of an idle worker (NOTIFY).
 */
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Core, Tenant } from '../src/services/core.js';
import { createUser } from '../src/services/users.js';
import { createEndpoint, removeEndpoint, sendTestEvent } from '../src/services/webhooks.js';
import { percentile, round, startWindow, type WindowResult } from './measure.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));

export interface WebhookResult {
  endpoints: number;
  events: number;
  deliveries: number;
  delivered: number;
  /** Arrivals of an (event, endpoint) pair that had already arrived: must be 0. */
  duplicates: number;
  seconds: number;
  deliveriesPerSec: number;
  latencyMsP50: number;
  latencyMsP99: number;
  trickle: { events: number; latencyMsP50: number; latencyMsP99: number };
  window: WindowResult;
}

type Arrival = { id: string; path: string; userId: string | null; at: number };

function startReceiver(): Promise<{ child: ChildProcess; port: number; arrivals(): Promise<Arrival[]>; reset(): void; stop(): void }> {
  const child = fork(path.join(HERE, 'receiver.ts'), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('message', (m: { port: number }) => resolve({
      child, port: m.port,
      arrivals: () => new Promise((r) => { child.once('message', (x: { arrivals: Arrival[] }) => r(x.arrivals)); child.send({ type: 'arrivals' }); }),
      reset: () => child.send({ type: 'reset' }),
      stop: () => child.send({ type: 'stop' }),
    }));
  });
}

async function waitFor(n: number, receiver: { arrivals(): Promise<Arrival[]> }, timeoutMs: number): Promise<Arrival[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const got = await receiver.arrivals();
    if (got.length >= n || Date.now() > deadline) return got;
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function webhookRound(core: Core, tenant: Tenant, opts: { endpoints: number; events: number; width: number }): Promise<WebhookResult> {
  const receiver = await startReceiver();
  const url = `http://127.0.0.1:${receiver.port}/hook`;
  const endpoints = [];
  try {
    for (let i = 0; i < opts.endpoints; i++) endpoints.push(await createEndpoint(core, tenant, { url: `${url}/${i}`, eventTypes: ['user.created'] }));
    const committed = new Map<string, number>();
    const window = startWindow();
    const started = Date.now();
    let next = 0;
    await Promise.all(Array.from({ length: opts.width }, async () => {
      while (next < opts.events) {
        next++;
        const user = await createUser(core, tenant, {});
        committed.set(user.id, Date.now());
      }
    }));
    const expected = opts.events * opts.endpoints;
    const all = await waitFor(expected, receiver, 120_000);
    const w = window();
    const seen = new Set<string>();
    const got = all.filter((a) => !seen.has(`${a.id} ${a.path}`) && seen.add(`${a.id} ${a.path}`));
    const last = Math.max(...got.map((a) => a.at));
    const latencies = got.filter((a) => a.userId && committed.has(a.userId)).map((a) => a.at - committed.get(a.userId!)!).sort((a, b) => a - b);
    const seconds = (last - started) / 1000;

    // Trickle: one endpoint, a test event every 20 ms, so the worker is idle when each arrives.
    for (const e of endpoints) await removeEndpoint(core, tenant, e.id);
    endpoints.length = 0;
    receiver.reset();
    const one = await createEndpoint(core, tenant, { url: `${url}/trickle`, eventTypes: ['webhook_endpoint.test'] });
    endpoints.push(one);
    const sentAt = new Map<string, number>();
    const TRICKLE = 100;
    for (let i = 0; i < TRICKLE; i++) {
      const d = await sendTestEvent(core, tenant, one.id);
      sentAt.set(d.eventId, Date.now());
      await new Promise((r) => setTimeout(r, 20));
    }
    const trickled = await waitFor(TRICKLE, receiver, 30_000);
    const trickleLatency = trickled.filter((a) => sentAt.has(a.id)).map((a) => a.at - sentAt.get(a.id)!).sort((a, b) => a - b);
    return {
      endpoints: opts.endpoints, events: opts.events, deliveries: expected, delivered: got.length, duplicates: all.length - got.length, seconds: round(seconds, 2),
      deliveriesPerSec: round(got.length / seconds), latencyMsP50: percentile(latencies, 50), latencyMsP99: percentile(latencies, 99),
      trickle: { events: TRICKLE, latencyMsP50: percentile(trickleLatency, 50), latencyMsP99: percentile(trickleLatency, 99) },
      window: w,
    };
  } finally {
    for (const e of endpoints) await removeEndpoint(core, tenant, e.id).catch(() => {});
    receiver.stop();
  }
}
