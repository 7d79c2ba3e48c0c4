/**
 * The real `causeway` command as a child process, for end-to-end and crash tests: free ports,
 * fresh data directories (and a fresh PostgreSQL database when DATABASE_URL is set), starting and
 * stopping servers, running CLI commands, and calling the API over HTTP with global fetch.
 * Every wait has a deadline, and every child process is tracked so `killAll()` can end it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { createTestDatabaseUrl, usingPostgres } from './db.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = path.join(ROOT, 'bin/causeway.js');

const children = new Set<ChildProcess>();
process.once('exit', () => { for (const c of children) c.kill('SIGKILL'); });

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A port that was free a moment ago: listen on port 0, read it, close. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** Where one test file's servers keep their data: a fresh data directory, and a fresh database on PostgreSQL. */
export interface Storage {
  dataDir: string;
  databaseUrl: string | null;
  encryptionKey: string | null;
  /** Environment for every causeway process of this test file (merge per-process settings over it). */
  env(extra?: Record<string, string>): Record<string, string>;
  drop(): Promise<void>;
}

export async function createStorage(prefix = 'causeway-e2e-'): Promise<Storage> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const pgDb = usingPostgres() ? await createTestDatabaseUrl() : null;
  const encryptionKey = pgDb ? randomBytes(32).toString('base64') : null;
  return {
    dataDir,
    databaseUrl: pgDb?.url ?? null,
    encryptionKey,
    env(extra = {}) {
      const env: Record<string, string> = {
        HOST: '127.0.0.1', CAUSEWAY_DATA_DIR: dataDir, LOG_LEVEL: 'warn', CAUSEWAY_SANDBOX_LATENCY_MS: '0',
      };
      if (pgDb) { env.DATABASE_URL = pgDb.url; env.CAUSEWAY_ENCRYPTION_KEY = encryptionKey!; }
      return { ...env, ...extra };
    },
    async drop() {
      try { if (pgDb) await pgDb.drop(); } finally { fs.rmSync(dataDir, { recursive: true, force: true }); }
    },
  };
}

/** The parent's environment without what must not leak into a child (our database, the test runner's context). */
function childEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = { ...process.env };
  for (const k of ['DATABASE_URL', 'CAUSEWAY_ENCRYPTION_KEY', 'CAUSEWAY_DATA_DIR', 'PORT', 'NODE_TEST_CONTEXT', 'NODE_OPTIONS']) delete base[k];
  for (const k of Object.keys(base)) if (k.startsWith('CAUSEWAY_')) delete base[k];
  return { ...base, ...env };
}

export interface Exit { code: number | null; signal: NodeJS.Signals | null }

export interface Spawned {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves when the process has exited (at once if it already has). */
  exited: Promise<Exit>;
  /** The exit, or null when the process is still running after `ms`. */
  waitExit(ms: number): Promise<Exit | null>;
}

export function spawnCauseway(args: string[], env: Record<string, string>): Spawned {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => { out += d; });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => { err += d; });
  const exited = new Promise<Exit>((resolve) => {
    child.once('close', (code, signal) => { children.delete(child); resolve({ code, signal }); });
    child.once('error', () => { children.delete(child); resolve({ code: null, signal: null }); });
  });
  return {
    child, exited,
    stdout: () => out,
    stderr: () => err,
    waitExit: (ms) => {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<null>((r) => { timer = setTimeout(() => r(null), ms); });
      return Promise.race([exited, timeout]).finally(() => clearTimeout(timer));
    },
  };
}

/** Runs a one-shot command (keys, migrate) to completion; kills it and fails after `timeoutMs`. */
export async function runCli(args: string[], env: Record<string, string>, timeoutMs = 30_000): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  const started = Date.now();
  const p = spawnCauseway(args, env);
  const exit = await p.waitExit(timeoutMs);
  if (!exit) {
    p.child.kill('SIGKILL');
    await p.waitExit(5_000);
    assert.fail(`causeway ${args.join(' ')} still running after ${timeoutMs} ms\nstderr: ${p.stderr()}`);
  }
  return { code: exit.code, stdout: p.stdout(), stderr: p.stderr(), ms: Date.now() - started };
}

export interface Server extends Spawned {
  url: string;
  port: number;
  /** The API key printed on an empty database, else null. */
  printedKey: string | null;
  /** SIGTERM, then the exit (SIGKILL and failure when it takes longer than `timeoutMs`). */
  stop(timeoutMs?: number): Promise<Exit>;
  /** SIGKILL: a crash. Resolves once the process is gone. */
  crash(): Promise<Exit>;
}

const READY = /API reference: (http:\/\/\S+)\/openapi\.json/;
const KEY_LINE = /^ {2}(sk_sandbox_[A-Za-z0-9_-]+)$/m;

/** Starts `causeway start` and waits (bounded) until it listens and has printed its banner. */
export async function startServer(env: Record<string, string>, opts: { timeoutMs?: number; port?: number; args?: string[] } = {}): Promise<Server> {
  const timeoutMs = opts.timeoutMs ?? 45_000;
  const port = opts.port ?? await freePort();
  const p = spawnCauseway(['start', ...(opts.args ?? [])], { ...env, PORT: String(port) });
  const deadline = Date.now() + timeoutMs;
  let url: string | null = null;
  while (!url) {
    const m = READY.exec(p.stderr());
    if (m) { url = m[1]!; break; }
    const exit = await p.waitExit(50);
    if (exit) assert.fail(`causeway start exited (code ${exit.code}, signal ${exit.signal}) before it was ready\nstderr: ${p.stderr()}\nstdout: ${p.stdout()}`);
    if (Date.now() > deadline) {
      p.child.kill('SIGKILL');
      await p.waitExit(5_000);
      assert.fail(`causeway start not ready after ${timeoutMs} ms\nstderr: ${p.stderr()}`);
    }
  }
  const server: Server = {
    ...p, url, port,
    printedKey: KEY_LINE.exec(p.stderr())?.[1] ?? null,
    async stop(ms = 15_000) {
      if (p.child.exitCode !== null || p.child.signalCode !== null) return p.exited;
      p.child.kill('SIGTERM');
      const exit = await p.waitExit(ms);
      if (exit) return exit;
      p.child.kill('SIGKILL');
      await p.waitExit(5_000);
      assert.fail(`causeway did not stop within ${ms} ms of SIGTERM\nstderr: ${p.stderr()}`);
    },
    async crash() {
      p.child.kill('SIGKILL');
      const exit = await p.waitExit(10_000);
      assert.ok(exit, 'a SIGKILLed process is gone within 10 s');
      return exit;
    },
  };
  return server;
}

/** Ends every child still running (for `after` hooks and failures). */
export async function killAll(): Promise<void> {
  const waits: Promise<unknown>[] = [];
  for (const c of children) {
    waits.push(new Promise((r) => { c.once('close', r); setTimeout(r, 5_000).unref(); }));
    c.kill('SIGKILL');
  }
  await Promise.all(waits);
}

export interface HttpResponse { status: number; body: any; headers: Headers; text: string }

/** A small API client over global fetch; every request has a deadline. */
export function client(baseUrl: string, key: string | null) {
  async function request(method: string, urlPath: string, body?: unknown, opts: { key?: string | null; headers?: Record<string, string>; timeoutMs?: number } = {}): Promise<HttpResponse> {
    const k = opts.key === undefined ? key : opts.key;
    const headers: Record<string, string> = { ...(k ? { authorization: `Bearer ${k}` } : {}), ...opts.headers };
    let payload: string | undefined;
    if (body !== undefined) {
      if (typeof body === 'string') payload = body;
      else { payload = JSON.stringify(body); headers['content-type'] ??= 'application/json'; }
    }
    const url = /^https?:/.test(urlPath) ? urlPath : `${baseUrl}${urlPath}`;
    const res = await fetch(url, { method, headers, body: payload, signal: AbortSignal.timeout(opts.timeoutMs ?? 15_000) });
    const text = await res.text();
    let parsed: unknown = text;
    try { parsed = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
    return { status: res.status, body: parsed, headers: res.headers, text };
  }
  const api = {
    request,
    get: (p: string, o?: Parameters<typeof request>[3]) => request('GET', p, undefined, o),
    post: (p: string, body?: unknown, o?: Parameters<typeof request>[3]) => request('POST', p, body, o),
    async createUser(body: Record<string, unknown> = { email: 'jo@example.com' }): Promise<string> {
      const res = await request('POST', '/v1/users', body);
      assert.equal(res.status, 201, res.text);
      return res.body.id as string;
    },
    /** Polls a job until `until` holds (default: finished), failing after `timeoutMs`. */
    async waitForJob(jobId: string, opts: { until?: (job: any) => boolean; timeoutMs?: number; intervalMs?: number } = {}): Promise<any> {
      const until = opts.until ?? ((j: any) => !['queued', 'running'].includes(j.status));
      const timeoutMs = opts.timeoutMs ?? 30_000;
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const res = await request('GET', `/v1/jobs/${jobId}`);
        assert.equal(res.status, 200, res.text);
        if (until(res.body)) return res.body;
        if (Date.now() > deadline) assert.fail(`job ${jobId} still ${res.body.status} after ${timeoutMs} ms: ${JSON.stringify(res.body.steps)}`);
        await sleep(opts.intervalMs ?? 50);
      }
    },
    /** Every live transaction of a user, following nextCursor. */
    async allTransactions(userId: string, limit = 500): Promise<{ data: any[]; pages: number }> {
      const data: any[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const q: string = `/v1/users/${userId}/transactions?limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
        const res = await request('GET', q);
        assert.equal(res.status, 200, res.text);
        data.push(...res.body.data);
        cursor = res.body.nextCursor;
        pages++;
        assert.ok(pages < 10_000, 'pagination ends');
      } while (cursor);
      return { data, pages };
    },
  };
  return api;
}

export type Client = ReturnType<typeof client>;

/** The end of a process test: stop the server if one runs, kill any left, drop the storage. */
export async function tearDown(server: Server | null, storage: Storage | undefined): Promise<void> {
  try {
    await server?.stop().catch(() => {});
  } finally {
    await killAll();
    await storage?.drop();
  }
}
