/**
 * CPU time by process over a window, from /proc (Linux): this process, the PostgreSQL backends
 * serving this database (PostgreSQL only), and one child (the webhook receiver). The busy machine
 * this runs on is shared, so wall-clock rates drift with the neighbours' load; CPU spent per unit of
 * work does not, and it says which process the time goes to.
 */
import type { Database } from '../src/db/open.js';
import { backendPids, cpuMs } from './pg-cpu.js';

export interface CpuSplit { nodeMs: number; postgresMs: number | null; receiverMs: number | null }

/** Starts a window; the function it answers ends it. */
export async function startCpuSplit(database: Database, receiverPid: number | undefined): Promise<() => Promise<CpuSplit>> {
  const node0 = process.cpuUsage();
  const backends = () => (database.kind === 'postgres' ? backendPids(database.db) : Promise.resolve([]));
  const pg0 = new Map((await backends()).map((pid) => [pid, cpuMs(pid) ?? 0]));
  const rx0 = receiverPid ? cpuMs(receiverPid) : null;
  return async () => {
    const node = process.cpuUsage(node0);
    const pids = await backends();
    let pgMs = 0;
    // A backend that started inside the window counts from zero; one that ended is lost (the pools keep theirs).
    for (const pid of pids) pgMs += (cpuMs(pid) ?? 0) - (pg0.get(pid) ?? 0);
    const rx1 = receiverPid ? cpuMs(receiverPid) : null;
    return {
      nodeMs: Math.round((node.user + node.system) / 1000),
      postgresMs: pids.length > 0 ? pgMs : null,
      receiverMs: rx0 !== null && rx1 !== null ? rx1 - rx0 : null,
    };
  };
}
