/**
 * LISTEN on a channel, on either database: a wake-up for a worker that would otherwise wait for its
 * next poll. On PostgreSQL a client of its own (a pooled connection cannot keep a LISTEN), opened
 * again after a loss; a notification missed meanwhile is made up by the worker's poll.
 */
import pg from 'pg';
import type { Database } from './open.js';

/** A lost LISTEN connection is opened again after this. */
const RECONNECT_MS = 1_000;

export async function listen(database: Database, channel: string, onNotify: (payload: string) => void, onLost: (err: Error) => void): Promise<() => Promise<void>> {
  if (database.kind === 'pglite') {
    const unsubscribe = await database.pglite.listen(channel, (payload) => onNotify(payload));
    return async () => { await unsubscribe(); };
  }
  let client: pg.Client | null = null;
  let closed = false;
  const connect = async (): Promise<void> => {
    const c = new pg.Client({ connectionString: database.url });
    c.on('notification', (n) => onNotify(n.payload ?? ''));
    c.on('error', (err) => {
      onLost(err);
      c.end().catch(() => {});
      if (!closed) setTimeout(() => { connect().catch(() => {}); }, RECONNECT_MS).unref();
    });
    await c.connect();
    await c.query(`listen "${channel.replaceAll('"', '""')}"`);
    client = c;
  };
  await connect();
  return async () => {
    closed = true;
    await client?.end().catch(() => {});
  };
}
