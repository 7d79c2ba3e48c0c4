/**
 * Idle memory of the real `causeway start` process, per database and per role.
 *
 *   npx tsx bench/idle-memory.ts [--db pglite|postgres|both] [--runs first,api,api-tsx,worker,all] [--idle 10]
 *
 * For each database, a fresh one (PostgreSQL: `cw_idle_<random>` created on BENCH_DATABASE_URL and
 * dropped after; PGlite: a new temporary data directory), and on it, one after the other:
 *   first    `start` on the empty database, as `npm start` on a fresh clone (it creates and migrates it)
 *   api      `start --role api`, the same database, now made
 *   api-tsx  the same through tsx (CAUSEWAY_TSX=1), for the compiled start's saving in the same run
 *   worker   `start --role worker`
 *   all      `start` (both roles) again
 * Each is `node bin/causeway.js …` exactly as `npm start` runs it, waited for (/ready answering 200; a
 * worker, its "running" line), given a few requests (a user created, the list of users read; a
 * worker serves none), left alone for --idle seconds, and read: VmRSS (with its anonymous and
 * file-backed parts) and VmHWM (peak) from /proc/<pid>/status, the same for every child process
 * (reported apart), and the process's own split (V8 heap, external memory, which holds PGlite's
 * WebAssembly memory, array buffers, script sources) from a tiny probe loaded with --import that
 * answers SIGUSR2. The probe adds a signal handler and nothing else.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { DEFAULT_PG_URL, type DbKind } from './db.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.join(ROOT, 'bin', 'causeway.js');
export type IdleRole = 'api' | 'worker' | 'all';
export type IdleRun = 'first' | 'api' | 'api-tsx' | 'worker' | 'all';
export const IDLE_RUNS: IdleRun[] = ['first', 'api', 'api-tsx', 'worker', 'all'];
/** A start (a first PGlite start creates the database) must be up within this. */
const START_TIMEOUT_MS = 120_000;

/** Answers SIGUSR2 with the process's own view of its memory, written to $CW_IDLE_PROBE. */
const PROBE = `data:text/javascript,${encodeURIComponent(`
import fs from 'node:fs'; import v8 from 'node:v8';
process.on('SIGUSR2', () => {
  const m = process.memoryUsage(), h = v8.getHeapStatistics(), c = v8.getHeapCodeStatistics();
  fs.writeFileSync(process.env.CW_IDLE_PROBE, JSON.stringify({ ...m, heapPhysical: h.total_physical_size, malloced: h.malloced_memory,
    code: c.code_and_metadata_size, bytecode: c.bytecode_and_metadata_size, scriptSources: c.external_script_source_size,
    spaces: Object.fromEntries(v8.getHeapSpaceStatistics().map((s) => [s.space_name, s.physical_space_size])) }));
});`)}`;

export interface ProcMemory { pid: number; command: string; rssMb: number; anonMb: number; fileMb: number; hwmMb: number }

export interface IdleMemoryResult {
  db: DbKind;
  run: IdleRun;
  role: IdleRole;
  /** Seconds from spawn until ready. */
  startSeconds: number;
  process: ProcMemory;
  children: ProcMemory[];
  /** The process's own split, in MB (V8 heap used and total, external, array buffers, script sources, malloc). */
  split: { heapUsedMb: number; heapTotalMb: number; externalMb: number; arrayBuffersMb: number; scriptSourcesMb: number; codeMb: number; mallocMb: number } | null;
}

const mb = (kb: number) => Math.round(kb / 1024);

function procMemory(pid: number): ProcMemory | null {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) => Number(status.match(new RegExp(`^${field}:\\s+(\\d+)`, 'm'))?.[1] ?? 0);
    const command = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).map((a) => path.basename(a)).join(' ').slice(0, 80);
    return { pid, command, rssMb: mb(kb('VmRSS')), anonMb: mb(kb('RssAnon')), fileMb: mb(kb('RssFile') + kb('RssShmem')), hwmMb: mb(kb('VmHWM')) };
  } catch {
    return null;
  }
}

/** Every descendant of pid (children, their children…), read from /proc. */
function descendants(pid: number): number[] {
  const parentOf = new Map<number, number>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      parentOf.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch { /* gone */ }
  }
  const found: number[] = [];
  const walk = (p: number) => {
    for (const [child, parent] of parentOf) if (parent === p) { found.push(child); walk(child); }
  };
  walk(pid);
  return found;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    }).on('error', reject);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function adminQuery(url: string, text: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try { await client.query(text); } finally { await client.end(); }
}

interface Started { child: ChildProcess; output: () => string; exited: Promise<number | null> }

function launch(args: string[], env: NodeJS.ProcessEnv, nodeFlags: string[] = []): Started {
  const child = spawn(process.execPath, [...nodeFlags, BIN, ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  child.stdout!.on('data', (d: Buffer) => { text += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { text += d.toString(); });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => text, exited };
}

async function waitFor(what: string, started: Started, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  let gone = false;
  void started.exited.then(() => { gone = true; });
  while (Date.now() < deadline) {
    if (gone) throw new Error(`${what}: the process exited:\n${started.output()}`);
    if (await check().catch(() => false)) return;
    await sleep(100);
  }
  throw new Error(`${what}: not ready within ${START_TIMEOUT_MS / 1000} s:\n${started.output()}`);
}

async function stop(started: Started): Promise<void> {
  if (started.child.exitCode !== null) return;
  started.child.kill('SIGTERM');
  const timer = setTimeout(() => started.child.kill('SIGKILL'), 20_000);
  await started.exited;
  clearTimeout(timer);
}

async function readSplit(pid: number, file: string): Promise<IdleMemoryResult['split']> {
  fs.rmSync(file, { force: true });
  process.kill(pid, 'SIGUSR2');
  for (let i = 0; i < 50 && !fs.existsSync(file); i++) await sleep(50);
  await sleep(50);
  try {
    const m = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, number>;
    const f = (n: number | undefined) => Math.round(((n ?? 0) / 1e6) * 10) / 10;
    return {
      heapUsedMb: f(m.heapUsed), heapTotalMb: f(m.heapTotal), externalMb: f(m.external), arrayBuffersMb: f(m.arrayBuffers),
      scriptSourcesMb: f(m.scriptSources), codeMb: f((m.code ?? 0) + (m.bytecode ?? 0)), mallocMb: f(m.malloced),
    };
  } catch {
    return null;
  }
}

export interface IdleOptions { runs: IdleRun[]; idleSeconds: number; log?: (line: string) => void }

/** Starts each run on one fresh database of this kind, one after the other, and measures each at rest. */
export async function idleMemory(kind: DbKind, opts: IdleOptions): Promise<IdleMemoryResult[]> {
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cw-idle-'));
  const base = process.env.BENCH_DATABASE_URL || DEFAULT_PG_URL;
  const name = `cw_idle_${randomBytes(6).toString('hex')}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env, NODE_OPTIONS: '', LOG_LEVEL: 'warn', HOST: '127.0.0.1', CAUSEWAY_DATA_DIR: path.join(tmp, 'data'),
    CAUSEWAY_ENCRYPTION_KEY: Buffer.alloc(32, 9).toString('base64'), CW_IDLE_PROBE: path.join(tmp, 'probe.json'),
  };
  delete env.DATABASE_URL;
  if (kind === 'postgres') {
    await adminQuery(base, `create database ${name}`);
    const url = new URL(base);
    url.pathname = `/${name}`;
    env.DATABASE_URL = url.toString();
  }
  const results: IdleMemoryResult[] = [];
  let apiKey: string | null = null;
  try {
    if (!opts.runs.includes('first')) {
      const migrated = launch(['migrate'], env);
      if ((await migrated.exited) !== 0) throw new Error(`causeway migrate failed:\n${migrated.output()}`);
    }
    const runs = [...opts.runs].sort((a, b) => Number(b === 'first') - Number(a === 'first')); // the empty database first
    for (const run of runs) {
      const role: IdleRole = run === 'first' ? 'all' : run === 'api-tsx' ? 'api' : run;
      const port = await freePort();
      const t0 = Date.now();
      const started = launch(['start', '--role', role], { ...env, PORT: String(port), ...(run === 'api-tsx' ? { CAUSEWAY_TSX: '1' } : {}) }, ['--import', PROBE]);
      try {
        const url = `http://127.0.0.1:${port}`;
        if (role === 'worker') await waitFor(`${kind} worker`, started, async () => started.output().includes('worker is running'));
        else await waitFor(`${kind} ${role}`, started, async () => (await fetch(`${url}/ready`)).status === 200);
        const startSeconds = Math.round((Date.now() - t0) / 100) / 10;
        apiKey ??= started.output().match(/\bsk_(?:sandbox|live)_[A-Za-z0-9_-]+/)?.[0] ?? null;
        if (role !== 'worker') {
          if (!apiKey) {
            apiKey = execFileSync(process.execPath, [BIN, 'keys', 'create', '--name', 'idle-bench'], { cwd: ROOT, env, encoding: 'utf8' }).trim().split('\n').pop()!.trim();
          }
          const auth = { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' };
          for (let i = 0; i < 3; i++) {
            const created = await fetch(`${url}/v1/users`, { method: 'POST', headers: auth, body: JSON.stringify({ externalId: `idle-${run}-${i}` }) });
            if (created.status !== 201) throw new Error(`POST /v1/users answered ${created.status}: ${await created.text()}`);
            const list = await fetch(`${url}/v1/users?limit=50`, { headers: auth });
            if (list.status !== 200) throw new Error(`GET /v1/users answered ${list.status}`);
            await list.arrayBuffer();
          }
        }
        await sleep(opts.idleSeconds * 1000);
        const pid = started.child.pid!;
        const own = procMemory(pid);
        if (!own) throw new Error(`${kind} ${role}: /proc/${pid} unreadable`);
        const children = descendants(pid).map(procMemory).filter((p): p is ProcMemory => p !== null);
        const split = await readSplit(pid, env.CW_IDLE_PROBE!);
        const r: IdleMemoryResult = { db: kind, run, role, startSeconds, process: own, children, split };
        log(`[${kind}] idle ${run}: RSS ${own.rssMb} MB (anon ${own.anonMb}, file ${own.fileMb}, peak ${own.hwmMb}); `
          + `children ${children.map((c) => `${c.command} ${c.rssMb} MB`).join(', ') || 'none'}; split ${JSON.stringify(split)}`);
        results.push(r);
      } finally {
        await stop(started);
      }
    }
  } finally {
    if (kind === 'postgres') await adminQuery(base, `drop database if exists ${name} with (force)`).catch(() => {});
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  return results;
}

const RUN_LABEL: Record<IdleRun, string> = {
  first: 'start, first on an empty database', api: '--role api', 'api-tsx': '--role api, through tsx', worker: '--role worker', all: 'start (api + worker)',
};

export function renderIdle(results: IdleMemoryResult[], idleSeconds = 10): string[] {
  if (results.length === 0) return [];
  const head = [`idle process (a few requests, then ${idleSeconds} s)`, 'RSS MB', 'anon/file', 'peak', 'children', 'V8 heap used/total', 'external', 'start s'];
  const rows = results.map((r) => {
    const s = r.split;
    return [
      `${r.db}, ${RUN_LABEL[r.run]}`, String(r.process.rssMb), `${r.process.anonMb}/${r.process.fileMb}`, String(r.process.hwmMb),
      r.children.map((c) => `${c.command.split(' ')[0]} ${c.rssMb}`).join(', ') || 'none',
      s ? `${s.heapUsedMb}/${s.heapTotalMb}` : '–', s ? String(s.externalMb) : '–', String(r.startSeconds),
    ];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `  ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')}`.trimEnd();
  return [line(head), `  ${widths.map((w) => '-'.repeat(w)).join('  ')}`, ...rows.map(line)];
}

/** The target of issue 15: an idle API process on PostgreSQL under this many MB of RSS. */
export const TARGET_IDLE_API_RSS_MB = 150;

export function idleTarget(results: IdleMemoryResult[]): string[] {
  const api = results.find((r) => r.db === 'postgres' && r.run === 'api');
  if (!api) return [];
  return [`Target on PostgreSQL, idle API process < ${TARGET_IDLE_API_RSS_MB} MB RSS: ${api.process.rssMb} MB: ${api.process.rssMb < TARGET_IDLE_API_RSS_MB ? 'MET' : 'NOT MET'}`];
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { db: { type: 'string', default: 'both' }, runs: { type: 'string', default: IDLE_RUNS.join(',') }, idle: { type: 'string', default: '10' } } });
  const kinds: DbKind[] = values.db === 'both' ? ['postgres', 'pglite'] : [values.db as DbKind];
  const runs = values.runs!.split(',') as IdleRun[];
  if (!runs.every((r) => IDLE_RUNS.includes(r))) throw new Error(`--runs takes ${IDLE_RUNS.join(', ')}`);
  const idleSeconds = Number(values.idle);
  const all: IdleMemoryResult[] = [];
  for (const kind of kinds) all.push(...await idleMemory(kind, { runs, idleSeconds }));
  process.stdout.write(`${[...renderIdle(all, idleSeconds), '', ...idleTarget(all)].join('\n')}\n`);
}
