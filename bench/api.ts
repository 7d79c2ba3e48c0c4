/**
 * API reads under concurrent load, beside their floor, in one run:
 *
 *   GET /v1/users/{id}/transactions?limit=50 with a real API key, over the synced users in turn,
 *   `connections` keep-alive sockets for `seconds` after a warm-up (autocannon in a child process,
 *   bench/api-load.ts), against
 *     Causeway : the real app (buildApp) listening on 127.0.0.1:0, with request logging at info
 *                (to /dev/null) and a rate limit too high to refuse, so both hooks run as in production
 *     floor    : a bare Fastify route running the same SQL on a pool of the same size (bench/api-floor.ts)
 *   interleaved floor, Causeway, floor, Causeway …; the best round of each is reported, and the ratio
 *   of the bests. Every answer must be a 2xx: a non-2xx or a socket error fails the phase.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pino from 'pino';
import { buildApp } from '../src/http/app.js';
import { createApiKey } from '../src/services/applications.js';
import type { Core } from '../src/services/core.js';
import type { Database } from '../src/db/open.js';
import type { ApplicationRow } from '../src/db/repos/applications.js';
import { startFloor, type CapturedQuery } from './api-floor.js';
import type { LoadResult, LoadSpec } from './api-load.js';
import { analyze, queries, round } from './measure.js';

/** Causeway's pool size (src/db/open.ts): the floor gets a pool as large. */
const POOL_SIZE = 10;
const LIMIT = 50;

export interface ApiLoadOptions { connections: number; seconds: number; warmupSeconds: number; rounds: number }
export const DEFAULT_API_LOAD: ApiLoadOptions = { connections: 32, seconds: 10, warmupSeconds: 3, rounds: 2 };

export interface ApiReadResult {
  options: ApiLoadOptions;
  users: number;
  /** The SQL the floor runs (Causeway's own statement for the page), and its name when Causeway prepares it. */
  floorSql: string;
  floorStatementName: string | null;
  floor: Round[];
  causeway: Round[];
  /** Best round of each (highest req/s), and Causeway's best over the floor's best. */
  floorBest: Round;
  causewayBest: Round;
  ratio: number;
  /** Causeway's SQL statements per request over its rounds, warm-ups included (PostgreSQL only). */
  sqlPerRequest: number | null;
}

const execFileP = promisify(execFile);
const LOAD_SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'api-load.ts');

/** A round's figures, with this process's CPU per request (the server's: the load generator is another process). */
export type Round = LoadResult & { cpuMsPerRequest: number };

async function load(spec: LoadSpec): Promise<Round> {
  const cpu0 = process.cpuUsage();
  const { stdout } = await execFileP(process.execPath, ['--import', 'tsx', LOAD_SCRIPT, JSON.stringify(spec)],
    { timeout: (spec.seconds + spec.warmupSeconds + 30) * 1000, maxBuffer: 1 << 20 });
  const cpu = process.cpuUsage(cpu0);
  const result = JSON.parse(stdout.trim().split('\n').pop()!) as LoadResult;
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`load on ${spec.url}: ${result.non2xx} non-2xx answers, ${result.errors} errors`);
  return { ...result, cpuMsPerRequest: round((cpu.user + cpu.system) / 1000 / (result.requests + result.warmupRequests), 3) };
}

/** The statement that reads the page, as Causeway sends it (captured at the driver during one request). */
async function captureQuery(database: Database, userId: string, send: () => Promise<void>): Promise<CapturedQuery> {
  const seen: { text: string; name?: string; values: unknown[] }[] = [];
  const target = (database.kind === 'postgres' ? database.pool : database.pglite) as unknown as { query: (...args: unknown[]) => unknown };
  const original = target.query;
  target.query = function (this: unknown, ...args: unknown[]) {
    const q = args[0] as string | { text: string; name?: string };
    seen.push(typeof q === 'string' ? { text: q, values: (args[1] as unknown[] | undefined) ?? [] }
      : { text: q.text, ...(q.name ? { name: q.name } : {}), values: (args[1] as unknown[] | undefined) ?? [] });
    return original.apply(this, args);
  };
  try { await send(); } finally { target.query = original; }
  const found = seen.find((s) => /from "transactions"/i.test(s.text));
  if (!found) throw new Error(`no transactions query among the ${seen.length} statements of a page`);
  const userParam = found.values.indexOf(userId);
  if (userParam < 0) throw new Error('the transactions query does not take the user id as a parameter');
  return { ...found, userParam };
}

export async function apiReads(core: Core, application: ApplicationRow, userIds: string[], opts: ApiLoadOptions = DEFAULT_API_LOAD): Promise<ApiReadResult> {
  if (userIds.length === 0) throw new Error('no synced users to read');
  await analyze(core.db);
  // As production runs: request lines logged at info, the rate limit's hook in place (far above this load).
  const config = { ...core.config, logLevel: 'info' as const, apiRateLimit: 1_000_000, apiRateBurst: 1_000_000 };
  const logStream = pino.destination({ dest: '/dev/null', sync: false });
  const app = await buildApp({ ...core, config }, { logStream });
  const { key } = await createApiKey(core.db, core.clock, application, 'bench');
  const headers = { authorization: `Bearer ${key}` };
  const paths = userIds.map((id) => `/v1/users/${id}/transactions?limit=${LIMIT}`);
  try {
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    const get = async (base: string, p: string, expected: number) => {
      const res = await fetch(`${base}${p}`, { headers });
      const body = await res.text();
      if (res.status !== 200) throw new Error(`GET ${base}${p} answered ${res.status}: ${body.slice(0, 200)}`);
      const n = (JSON.parse(body) as { data: unknown[] }).data.length;
      if (n !== expected) throw new Error(`GET ${base}${p} answered ${n} rows, not ${expected}`);
    };
    const query = await captureQuery(core.database, userIds[0]!, () => get(url, paths[0]!, LIMIT));
    const floor = await startFloor(core.database, query, POOL_SIZE);
    try {
      for (const p of paths) await get(floor.url, p, LIMIT + 1); // every user has more than a page: the floor reads limit + 1 rows, as Causeway does
      const spec = (base: string): LoadSpec => ({ url: base, paths, headers, connections: opts.connections, seconds: opts.seconds, warmupSeconds: opts.warmupSeconds });
      const floorRuns: Round[] = [];
      const causewayRuns: Round[] = [];
      let causewaySql = 0;
      let causewayRequests = 0;
      for (let r = 0; r < opts.rounds; r++) {
        floorRuns.push(await load(spec(floor.url)));
        const q0 = queries.app;
        const run = await load(spec(url));
        causewayRuns.push(run);
        causewaySql += queries.app - q0;
        causewayRequests += run.requests + run.warmupRequests;
      }
      const best = (runs: Round[]) => runs.reduce((a, b) => (b.requestsPerSec > a.requestsPerSec ? b : a));
      const floorBest = best(floorRuns);
      const causewayBest = best(causewayRuns);
      return {
        options: opts, users: userIds.length, floorSql: query.text, floorStatementName: query.name ?? null, floor: floorRuns, causeway: causewayRuns, floorBest, causewayBest,
        ratio: round(causewayBest.requestsPerSec / floorBest.requestsPerSec, 2),
        sqlPerRequest: core.database.kind === 'postgres' ? round(causewaySql / causewayRequests, 2) : null,
      };
    } finally {
      await floor.close();
    }
  } finally {
    await app.close();
    logStream.end();
  }
}
