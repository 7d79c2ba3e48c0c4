/**
 * What checking a transaction's account costs a bulk write, three ways, on PostgreSQL:
 *
 *   npx tsx bench/account-check.ts [--connections 150] [--rounds 4]
 *
 * A first sync of `connections` sandbox connections (precomputed answers) fills a fresh database;
 * its rows are then written again, one COPY a connection in a transaction of its own (as a first
 * sync writes them), into three copies of `transactions` (same columns and indexes):
 *   none    : no check at all (the COPY floor's table);
 *   fk      : the composite foreign key the table had until migration 0017 (one check a row);
 *   trigger : the table's own check since 0017 (transactions_account_check, once a statement).
 * Rounds alternate the order. Printed: µs a row of wall time and of the backend's CPU.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { systemClock } from '../src/domain/clock.js';
import { createSandboxProvider } from '../src/providers/sandbox/index.js';
import { ensureDefaultApplication } from '../src/services/applications.js';
import { openBenchDatabase, startCore } from './db.js';
import { benchLogin, initialSync, INSTITUTION, PASSWORD } from './ingestion.js';
import { cpuMs } from './pg-cpu.js';
import { round } from './measure.js';
import { precomputed } from './provider.js';

const { values } = parseArgs({ options: { connections: { type: 'string' }, rounds: { type: 'string' } } });
const n = Number(values.connections ?? 150);
const rounds = Number(values.rounds ?? 4);
const KINDS = ['none', 'fk', 'trigger'] as const;

const bench = await openBenchDatabase('postgres');
const { database } = bench;
try {
  if (database.kind !== 'postgres') throw new Error('unreachable');
  const pre = precomputed(createSandboxProvider({ latencyMs: 0 }));
  const running = await startCore(database, 16, pre.provider);
  const { application } = await ensureDefaultApplication(running.core.db, systemClock);
  const logins = Array.from({ length: n }, (_, i) => benchLogin(1 + i));
  await pre.warmInitial(INSTITUTION, logins, PASSWORD, systemClock.now());
  await initialSync(running.core, { application }, logins, 8);
  await running.stop();

  const client = await database.pool.connect();
  try {
    const pid = Number((await client.query('select pg_backend_pid() as pid')).rows[0].pid);
    // The stored rows, one COPY payload a connection (the 4th column).
    const chunks: Buffer[] = [];
    for await (const c of client.query(copyTo('copy (select * from transactions order by connection_id, created_seq) to stdout'))) chunks.push(c as Buffer);
    const groups = new Map<string, string[]>();
    for (const line of Buffer.concat(chunks).toString('utf8').split('\n')) {
      if (!line) continue;
      const key = line.split('\t', 4)[3]!;
      let g = groups.get(key);
      if (!g) groups.set(key, g = []);
      g.push(line);
    }
    const payloads = [...groups.values()].map((lines) => Buffer.from(`${lines.join('\n')}\n`));
    const rows = [...groups.values()].reduce((a, g) => a + g.length, 0);

    for (const k of KINDS) await client.query(`drop table if exists check_${k}; create table check_${k} (like transactions including all)`);
    await client.query(`create unique index check_owner_idx on accounts (id, connection_id, user_id, application_id)`);
    await client.query(`alter table check_fk add foreign key (account_id, connection_id, user_id, application_id)
      references accounts (id, connection_id, user_id, application_id) on delete cascade`);
    await client.query(`create trigger check_trigger_account after insert on check_trigger
      referencing new table as new_rows for each statement execute function transactions_account_check()`);

    const wall: Record<string, number[]> = { none: [], fk: [], trigger: [] };
    const cpu: Record<string, number[]> = { none: [], fk: [], trigger: [] };
    for (let r = 0; r < rounds; r++) {
      for (const k of r % 2 ? [...KINDS].reverse() : KINDS) {
        await client.query(`truncate check_${k}`);
        await client.query('checkpoint');
        const cpu0 = cpuMs(pid) ?? 0;
        const t0 = process.hrtime.bigint();
        for (const p of payloads) {
          await client.query('begin');
          await pipeline(Readable.from([p]), client.query(copyFrom(`copy check_${k} from stdin`)));
          await client.query('commit');
        }
        wall[k]!.push(round(Number(process.hrtime.bigint() - t0) / 1e3 / rows, 1));
        cpu[k]!.push(round((((cpuMs(pid) ?? 0) - cpu0) * 1000) / rows, 1));
      }
    }
    console.log(JSON.stringify({ rows, connections: payloads.length, rounds, wallUsPerRow: wall, backendCpuUsPerRow: cpu }));
  } finally {
    client.release();
  }
} finally {
  await bench.close();
}
process.exit(0);
