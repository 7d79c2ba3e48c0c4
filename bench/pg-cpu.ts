/**
 * PostgreSQL's CPU spent on one database: the user + system time of the server processes serving
 * its connections (pg_stat_activity's pids for the database, read from /proc/<pid>/stat), so other
 * databases' work on a shared server is not counted. Backends that exit inside the window are lost,
 * which the pools here do not do. Linux only; elsewhere it answers null.
 */
import fs from 'node:fs';
import { sql } from 'drizzle-orm';
import type { Db } from '../src/db/open.js';

const TICKS_PER_SECOND = 100;

/** The server processes serving the database `db` is connected to. */
export async function backendPids(db: Db): Promise<number[]> {
  const res = (await db.execute(sql`select pid from pg_stat_activity where datname = current_database()`)) as unknown as { rows: { pid: number }[] };
  return res.rows.map((r) => Number(r.pid));
}

/** A process's user + system CPU so far, in ms (null: it is gone, or this is not Linux). */
export function cpuMs(pid: number): number | null {
  try {
    // Fields after the command's closing parenthesis: state is field 3, utime 14, stime 15.
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
  } catch {
    return null;
  }
}

/** Starts a window; its end answers the database's backend CPU in ms over it (null where /proc or the server is not local). */
export async function startPgCpu(db: Db): Promise<() => Promise<number | null>> {
  if (!(await backendPids(db).then(() => true, () => false))) return async () => null;
  const before = new Map<number, number>();
  for (const pid of await backendPids(db)) {
    const ms = cpuMs(pid);
    if (ms !== null) before.set(pid, ms);
  }
  if (before.size === 0) return async () => null;
  return async () => {
    let total = 0;
    for (const pid of await backendPids(db)) {
      const ms = cpuMs(pid);
      if (ms !== null) total += ms - (before.get(pid) ?? 0);
    }
    return total;
  };
}
