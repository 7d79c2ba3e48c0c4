/**
 * The webhook floor: the same deliveries done the simplest way, with no database. A bare loop signs
 * each payload exactly as Causeway does (services/webhooks.ts signatureHeader: Standard Webhooks,
 * with the same headers) and POSTs it to the same receiver, over keep-alive sockets (one
 * http.Agent, no socket cap, as net/guard.ts pools), with as many requests at once as Causeway's
 * worker (CAUSEWAY_WEBHOOK_CONCURRENCY). Order: event by event, each to every endpoint, as the
 * burst's deliveries fall due. deliveries/s = deliveries ÷ (last answer − first request).
 */
import http from 'node:http';
import { signatureHeader } from '../src/services/webhooks.js';
import { round, startWindow, type WindowResult } from './measure.js';

export interface FloorDelivery { url: string; secret: string; id: string; payload: string }

export interface FloorResult { deliveries: number; ok: number; seconds: number; deliveriesPerSec: number; window: WindowResult }

export async function webhookFloor(deliveries: FloorDelivery[], concurrency: number): Promise<FloorResult> {
  const agent = new http.Agent({ keepAlive: true });
  let next = 0;
  let ok = 0;
  const window = startWindow();
  const started = Date.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < deliveries.length) {
      const d = deliveries[next++]!;
      const sentAt = new Date();
      const status = await post(agent, d.url, {
        'webhook-id': d.id,
        'webhook-timestamp': String(Math.floor(sentAt.getTime() / 1000)),
        'webhook-signature': signatureHeader([d.secret], d.id, sentAt, d.payload),
        'content-type': 'application/json', 'user-agent': 'Causeway-Webhooks/1',
        'content-length': String(Buffer.byteLength(d.payload)),
      }, d.payload);
      if (status >= 200 && status < 300) ok++;
    }
  }));
  const seconds = (Date.now() - started) / 1000;
  const w = window();
  agent.destroy();
  return { deliveries: deliveries.length, ok, seconds: round(seconds, 2), deliveriesPerSec: round(deliveries.length / seconds), window: w };
}

function post(agent: http.Agent, url: string, headers: Record<string, string>, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', agent, headers }, (res) => {
      res.on('data', () => {});
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}
