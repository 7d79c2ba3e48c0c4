/**
 * CPU time by process over a window, from /proc (Linux): this process, the PostgreSQL backends
 * serving this database (PostgreSQL only), and one child (the webhook receiver). The busy machine
 * this runs on is shared, so wall-clock rates drift with the neighbours' load; CPU spent per unit of
 * work does not, and it says which process the time goes to.
 */
import fs from 'node:fs';
import { sql } from 'drizzle-orm';
import type { Database } from '../src/db/open.js';

export interface CpuSplit { nodeMs: number; postgresMs: number | null; receiverMs: number | null }

const TICK_MS = 10; // USER_HZ is 100 on Linux

function ticks(pid: number): number | null {
  try {
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
    const after = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return Number(after[11]) + Number(after[12]);
  } catch {
    return null;
  }
}

async function backends(database: Database): Promise<number[]> {
  if (database.kind !== 'postgres' || !fs.existsSync('/proc/self/stat')) return [];
  const r = (await database.db.execute(sql`select pid from pg_stat_activity where datname = current_database()`)) as { rows: { pid: number }[] };
  return r.rows.map((x) => Number(x.pid));
}

/** Starts a window; the function it answers ends it. */
export async function startCpuSplit(database: Database, receiverPid: number | undefined): Promise<() => Promise<CpuSplit>> {
  const node0 = process.cpuUsage();
  const pg0 = new Map((await backends(database)).map((pid) => [pid, ticks(pid) ?? 0]));
  const rx0 = receiverPid ? ticks(receiverPid) : null;
  return async () => {
    const node = process.cpuUsage(node0);
    const pids = await backends(database);
    let pgTicks = 0;
    // A backend that started inside the window counts from zero; one that ended is lost (the pools keep theirs).
    for (const pid of pids) pgTicks += (ticks(pid) ?? 0) - (pg0.get(pid) ?? 0);
    const rx1 = receiverPid ? ticks(receiverPid) : null;
    return {
      nodeMs: Math.round((node.user + node.system) / 1000),
      postgresMs: pids.length > 0 ? pgTicks * TICK_MS : null,
      receiverMs: rx0 !== null && rx1 !== null ? (rx1 - rx0) * TICK_MS : null,
    };
  };
}
