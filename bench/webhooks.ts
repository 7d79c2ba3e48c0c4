/**
 * Webhook delivery through the real worker to a local receiver in another process:
 *
 *   burst:   100 endpoints, each taking user.created; E users created by 8 clients at once, so
 *            E × 100 deliveries. deliveries/s = deliveries ÷ (last arrival − first commit);
 *            latency = arrival − the commit of the event it carries (median, p99).
 *   floor:   right after the burst, the same 5,000 payloads signed and POSTed to the same receiver
 *            by a bare loop at the worker's concurrency (webhook-floor.ts); ratio = burst ÷ floor.
 *   trickle: one test event every 20 ms to one endpoint: the latency of an idle worker (NOTIFY).
 *
 * Before the burst, untimed: WARM_EVENTS events through the worker and then the bare loop on their
 * payloads. The receiver is a new process each round, and its first few thousand requests cost it
 * twice what later ones do (its code not yet compiled); so do the worker's first ones. The bare loop,
 * running second, always met a warm receiver; now both do, as a real, long-running receiver is.
 */
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { listEvents } from '../src/db/repos/events.js';
import type { Core, Tenant } from '../src/services/core.js';
import { createUser } from '../src/services/users.js';
import { createEndpoint, eventPayload, removeEndpoint, sendTestEvent } from '../src/services/webhooks.js';
import { analyze, percentile, round, startWindow, type WindowResult } from './measure.js';
import { webhookFloor, type FloorDelivery, type FloorResult } from './webhook-floor.js';
import { startCpuSplit, type CpuSplit } from './cpu-split.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
/** Events (each to every endpoint) sent through the worker and the bare loop before the measured burst. */
const WARM_EVENTS = 10;

export interface WebhookResult {
  endpoints: number;
  events: number;
  deliveries: number;
  delivered: number;
  /** Arrivals of an (event, endpoint) pair that had already arrived: must be 0. */
  duplicates: number;
  seconds: number;
  /** CPU per delivery by process over the burst (users' creation included): where the time goes, whatever the neighbours do. */
  cpuUsPerDelivery: CpuPerDelivery;
  /** TCP connections the receiver accepted during the burst (keep-alive: the worker's were opened in the warm-up, so few or none). */
  connections: number;
  /** From the first commit to the last (the 8 clients creating users, with their deliveries). */
  commitSeconds: number;
  deliveriesPerSec: number;
  latencyMsP50: number;
  latencyMsP99: number;
  trickle: { events: number; latencyMsP50: number; latencyMsP99: number };
  /** The bare sign-and-POST loop on the same payloads, same receiver, same concurrency, right after the burst. */
  floor: FloorResult & { connections: number; cpuUsPerDelivery: CpuPerDelivery };
  /** deliveriesPerSec ÷ floor.deliveriesPerSec. */
  ratio: number;
  window: WindowResult;
}

type Arrival = { id: string; path: string; userId: string | null; at: number };

function startReceiver(): Promise<{ child: ChildProcess; pid: number | undefined; port: number; count(): Promise<{ count: number; connections: number }>; arrivals(): Promise<Arrival[]>; reset(): void; stop(): void }> {
  const child = fork(path.join(HERE, 'receiver.ts'), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('message', (m: { port: number }) => resolve({
      child, pid: child.pid, port: m.port,
      count: () => new Promise((r) => { child.once('message', (x: { count: number; connections: number }) => r(x)); child.send({ type: 'count' }); }),
      arrivals: () => new Promise((r) => { child.once('message', (x: { arrivals: Arrival[] }) => r(x.arrivals)); child.send({ type: 'arrivals' }); }),
      reset: () => child.send({ type: 'reset' }),
      stop: () => child.send({ type: 'stop' }),
    }));
  });
}

export interface CpuPerDelivery { node: number; postgres: number | null; receiver: number | null }

function perDelivery(c: CpuSplit, n: number): CpuPerDelivery {
  const us = (ms: number | null) => (ms === null ? null : Math.round((ms * 1000) / n));
  return { node: us(c.nodeMs)!, postgres: us(c.postgresMs), receiver: us(c.receiverMs) };
}

/** Polls the count only (a few bytes over IPC), then fetches the arrivals once: the wait must not load the process it measures. */
async function waitFor(n: number, receiver: { count(): Promise<{ count: number; connections: number }>; arrivals(): Promise<Arrival[]> }, timeoutMs: number): Promise<Arrival[]> {
  const deadline = Date.now() + timeoutMs;
  while ((await receiver.count()).count < n && Date.now() <= deadline) await new Promise((r) => setTimeout(r, 50));
  return receiver.arrivals();
}

export async function webhookRound(core: Core, tenant: Tenant, opts: { endpoints: number; events: number; width: number }): Promise<WebhookResult> {
  const receiver = await startReceiver();
  const url = `http://127.0.0.1:${receiver.port}/hook`;
  const endpoints: Awaited<ReturnType<typeof createEndpoint>>[] = [];
  try {
    for (let i = 0; i < opts.endpoints; i++) endpoints.push(await createEndpoint(core, tenant, { url: `${url}/${i}`, eventTypes: ['user.created'] }));
    const createUsers = async (n: number, committed: Map<string, number>) => {
      let next = 0;
      await Promise.all(Array.from({ length: opts.width }, async () => {
        while (next < n) {
          next++;
          const user = await createUser(core, tenant, {});
          committed.set(user.id, Date.now());
        }
      }));
    };
    /** The burst's payloads to every endpoint, as the bare loop sends them: event by event, oldest first. */
    const floorWorkFor = async (committed: Map<string, number>): Promise<FloorDelivery[]> => {
      const sent = (await listEvents(core.db, tenant.application.id, { types: ['user.created'], limit: committed.size }))
        .filter((e) => e.userId && committed.has(e.userId)).reverse();
      return sent.flatMap((e) => {
        const payload = eventPayload(e);
        return endpoints.map((ep, i) => ({ url: `${url}/${i}`, secret: ep.secret!, id: e.id, payload }));
      });
    };

    // Warm-up, untimed (see the top of this file).
    const warm = new Map<string, number>();
    await createUsers(Math.min(WARM_EVENTS, opts.events), warm);
    await waitFor(warm.size * opts.endpoints, receiver, 120_000);
    await webhookFloor(await floorWorkFor(warm), core.config.webhookConcurrency);
    receiver.reset();

    await analyze(core.db);
    const committed = new Map<string, number>();
    const cpu = await startCpuSplit(core.database, receiver.pid);
    const window = startWindow();
    const started = Date.now();
    await createUsers(opts.events, committed);
    const commitsDone = Date.now();
    const expected = opts.events * opts.endpoints;
    const all = await waitFor(expected, receiver, 120_000);
    const w = window();
    const burstCpu = await cpu();
    const { connections } = await receiver.count();
    const seen = new Set<string>();
    const got = all.filter((a) => !seen.has(`${a.id} ${a.path}`) && seen.add(`${a.id} ${a.path}`));
    const last = Math.max(...got.map((a) => a.at));
    const latencies = got.filter((a) => a.userId && committed.has(a.userId)).map((a) => a.at - committed.get(a.userId!)!).sort((a, b) => a - b);
    const seconds = (last - started) / 1000;

    // The floor: the same payloads, signed and POSTed by a bare loop at the worker's concurrency.
    const floorWork = await floorWorkFor(committed);
    receiver.reset();
    const floorCpu = await startCpuSplit(core.database, receiver.pid);
    const floorRun = await webhookFloor(floorWork, core.config.webhookConcurrency);
    const floor = { ...floorRun, connections: (await receiver.count()).connections, cpuUsPerDelivery: perDelivery(await floorCpu(), floorWork.length) };

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
      commitSeconds: round((commitsDone - started) / 1000, 2), connections, cpuUsPerDelivery: perDelivery(burstCpu, expected),
      deliveriesPerSec: round(got.length / seconds), latencyMsP50: percentile(latencies, 50), latencyMsP99: percentile(latencies, 99),
      trickle: { events: TRICKLE, latencyMsP50: percentile(trickleLatency, 50), latencyMsP99: percentile(trickleLatency, 99) },
      floor, ratio: round(got.length / seconds / floor.deliveriesPerSec, 2),
      window: w,
    };
  } finally {
    for (const e of endpoints) await removeEndpoint(core, tenant, e.id).catch(() => {});
    receiver.stop();
  }
}
