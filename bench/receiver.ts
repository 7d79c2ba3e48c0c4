/**
 * A webhook receiver in its own process (so it does not share Causeway's event loop): answers 200
 * to every POST and remembers when each arrived, by webhook-id and the event's userId. Started by
 * bench/webhooks.ts over IPC: it sends { port } when listening, { count } (with the TCP connections opened since the last reset) while the bench waits, and
 * { arrivals } (webhook-id, path, userId, time) when asked.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

const arrivals: { id: string; path: string; userId: string | null; at: number }[] = [];
const server = http.createServer((req, res) => {
  let body = '';
  req.on('data', (c) => { body += c; });
  req.on('end', () => {
    let userId: string | null = null;
    try { userId = (JSON.parse(body) as { userId?: string }).userId ?? null; } catch { /* not JSON */ }
    arrivals.push({ id: String(req.headers['webhook-id']), path: req.url ?? '', userId, at: Date.now() });
    res.writeHead(200).end();
  });
});
let connections = 0;
server.on('connection', () => { connections++; });
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => process.send!({ port: (server.address() as AddressInfo).port }));
process.on('message', (m: { type: string }) => {
  if (m.type === 'count') process.send!({ count: arrivals.length, connections });
  if (m.type === 'arrivals') process.send!({ arrivals });
  if (m.type === 'reset') { arrivals.length = 0; connections = 0; }
  if (m.type === 'stop') server.close(() => process.exit(0));
});
