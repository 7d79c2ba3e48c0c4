/**
 * The scale-out story as compose.yaml runs it, with processes instead of containers: one
 * PostgreSQL database, `causeway migrate` once, two `start --role api` and two `start --role worker`
 * processes, and a round-robin proxy in front as the one address (nginx in compose). Through that
 * address: a key made with the CLI, users linked with user_good, their connections refreshed.
 * Every job is claimed once, both API processes answer, both workers run jobs, a webhook receiver
 * gets every event once. Then one worker is SIGKILLed in the middle of jobs and the other finishes
 * them (pg-boss hands a job whose heartbeat lapsed to another worker).
 * PostgreSQL only: the embedded database takes one process.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { usingPostgres } from './helpers/db.js';
import {
  client, createStorage, runCli, spawnCauseway, startServer, tearDown, type Client, type Server, type Spawned, type Storage,
} from './helpers/process.js';
import { until } from './helpers/wait.js';

const SKIP = usingPostgres() ? false : 'needs PostgreSQL: set DATABASE_URL to a server where databases may be created (the embedded database takes one process)';
const GOOD = { login: 'user_good', password: 'pass_good' };
/** Two slots a worker, so a burst of jobs spreads over both workers; sandbox calls slow enough to kill a worker mid-job. */
const WORKER_ENV = { CAUSEWAY_JOB_CONCURRENCY: '2', LOG_LEVEL: 'debug' };
const SHARED_ENV = {
  CAUSEWAY_SANDBOX_LATENCY_MS: '150', CAUSEWAY_RETRY_DELAY_SECONDS: '0', CAUSEWAY_JOB_HEARTBEAT_SECONDS: '10',
  CAUSEWAY_BACKGROUND_REFRESH: 'false', CAUSEWAY_ALLOW_PRIVATE_ADDRESSES: 'true', CAUSEWAY_CATALOGUE_SYNC_HOURS: '0',
};

/** The one address: each request to the next API process in turn, with an X-Request-Id naming it (as nginx's $request_id does). */
function roundRobin(targets: string[]) {
  let n = 0;
  const sentTo: string[][] = targets.map(() => []);
  const server = http.createServer((req, res) => {
    const i = n % targets.length;
    const id = `mp-${++n}`;
    sentTo[i]!.push(id);
    const target = new URL(targets[i]!);
    const upstream = http.request({
      host: target.hostname, port: target.port, method: req.method, path: req.url, agent: false,
      headers: { ...req.headers, 'x-request-id': id },
    }, (answer) => {
      res.writeHead(answer.statusCode!, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => { if (!res.headersSent) res.writeHead(502); res.end(); });
    req.pipe(upstream);
  });
  return { server, sentTo };
}

/** A webhook receiver: every delivery's webhook-id (the event id). */
const deliveries: string[] = [];
const receiver = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => { deliveries.push(String(req.headers['webhook-id'])); res.writeHead(204).end(); });
});

/** The jobs a worker claimed, from its log lines ("job run started", at debug level). */
function claimed(worker: Spawned): string[] {
  return worker.stdout().split('\n').filter((l) => l.includes('"job run started"')).map((l) => (JSON.parse(l) as { jobId: string }).jobId);
}

let storage: Storage;
let apis: Server[] = [];
let workers: Spawned[] = [];
let proxy: ReturnType<typeof roundRobin>;
let api: Client;

before(async () => {
  if (SKIP) return;
  storage = await createStorage('causeway-multi-');
  const env = (extra: Record<string, string> = {}) => storage.env({ ...SHARED_ENV, ...extra });
  const migrated = await runCli(['migrate'], env(), 60_000);
  assert.equal(migrated.code, 0, migrated.stderr);
  assert.match(migrated.stderr, /^Applying \d+ database migrations…( done|\nApplying \d+ database migrations: done) in [\d.]+ s$/m);
  assert.match(migrated.stderr, /^Migrations applied: \d+ new/m);
  const key = await runCli(['keys', 'create', '--name', 'multi-process'], env(), 60_000);
  assert.equal(key.code, 0, key.stderr);

  // All four at once, as `docker compose up` starts them: none migrates (done above), all share the queue.
  const startingWorkers = [0, 1].map(() => spawnCauseway(['start', '--role', 'worker'], env(WORKER_ENV)));
  apis = await Promise.all([0, 1].map(() => startServer(env({ LOG_LEVEL: 'info' }), { args: ['--role', 'api'], timeoutMs: 120_000 })));
  for (const w of startingWorkers) {
    await until('a worker to be running', () => { assert.equal(w.child.exitCode, null, w.stderr()); return /worker is running/.test(w.stderr()); }, 120_000);
  }
  workers = startingWorkers;

  proxy = roundRobin(apis.map((a) => a.url));
  await new Promise<void>((r) => proxy.server.listen(0, '127.0.0.1', r));
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  api = client(`http://127.0.0.1:${(proxy.server.address() as AddressInfo).port}`, key.stdout.trim());
  const endpoint = await api.post('/v1/webhook-endpoints', { url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks` });
  assert.equal(endpoint.status, 201, endpoint.text);
});

after(async () => {
  if (SKIP) return;
  try {
    for (const a of apis) await a.stop().catch(() => {});
    for (const w of workers) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGTERM');
    await Promise.all(workers.map((w) => w.waitExit(15_000)));
  } finally {
    proxy?.server.closeAllConnections();
    proxy?.server.close();
    receiver.closeAllConnections();
    receiver.close();
    await tearDown(null, storage);
  }
});

/** n users, each linking a sandbox bank with user_good: their connection ids and first jobs. */
async function link(n: number, tag: string) {
  return Promise.all(Array.from({ length: n }, async (_, i) => {
    const userId = await api.createUser({ externalId: `${tag}-${i}` });
    const res = await api.post(`/v1/users/${userId}/connections`, { institutionId: 'ins_sandbox_web', method: 'web', credentials: GOOD });
    assert.equal(res.status, 202, res.text);
    return { userId, connectionId: res.body.connection.id as string, jobId: res.body.job.id as string };
  }));
}

const succeeded = async (jobIds: string[], timeoutMs: number) => {
  for (const id of jobIds) assert.equal((await api.waitForJob(id, { timeoutMs, intervalMs: 100 })).status, 'succeeded', id);
};

/** Every event of the application, following the cursor. */
async function allEvents(): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | null = null;
  do {
    const res = await api.get(`/v1/events?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    assert.equal(res.status, 200, res.text);
    ids.push(...(res.body.data as { id: string }[]).map((e) => e.id));
    cursor = res.body.nextCursor;
  } while (cursor);
  return ids;
}

const transactionCount = async (userId: string) => (await api.allTransactions(userId)).data.length;

describe('two API and two worker processes behind one address', { skip: SKIP }, () => {
  let linked: Awaited<ReturnType<typeof link>> = [];

  it('links and refreshes through either API process, each job claimed once, both workers working, each event delivered once', async () => {
    linked = await link(6, 'first');
    await succeeded(linked.map((l) => l.jobId), 30_000);
    for (const l of linked) assert.equal((await api.get(`/v1/users/${l.userId}/connections/${l.connectionId}`)).body.status, 'active');
    const refreshes = await Promise.all(linked.map(async (l) => {
      const res = await api.post(`/v1/users/${l.userId}/connections/${l.connectionId}/refresh`);
      assert.equal(res.status, 202, res.text);
      return res.body.job.id as string;
    }));
    await succeeded(refreshes, 30_000);

    // Each job claimed by exactly one worker, exactly once; both workers took some.
    const jobIds = [...linked.map((l) => l.jobId), ...refreshes];
    const byWorker = workers.map(claimed);
    const all = byWorker.flat();
    for (const id of jobIds) assert.equal(all.filter((j) => j === id).length, 1, `job ${id} claimed once (${byWorker.map((w) => w.filter((j) => j === id).length).join(' + ')})`);
    assert.ok(byWorker.every((w) => w.some((j) => jobIds.includes(j))), `both workers ran jobs: ${byWorker.map((w) => w.length).join(' and ')}`);

    // Both API processes answered, each exactly the requests the proxy sent it (by the request id in its log).
    // A request's one line is written once it is answered, so the last ones may reach stdout just after their answers.
    const loggedBy = (a: (typeof apis)[number]) => new Set([...a.stdout().matchAll(/"reqId":"(mp-\d+)"/g)].map((m) => m[1]!));
    const allLogged = () => apis.every((a, i) => { const logged = loggedBy(a); return proxy.sentTo[i]!.every((id) => logged.has(id)); });
    for (const deadline = Date.now() + 5_000; Date.now() < deadline && !allLogged();) {
      await new Promise((r) => setTimeout(r, 50));
    }
    apis.forEach((a, i) => {
      const logged = loggedBy(a);
      assert.ok(proxy.sentTo[i]!.length > 10, `API process ${i + 1} got ${proxy.sentTo[i]!.length} requests`);
      for (const id of proxy.sentTo[i]!) assert.ok(logged.has(id), `API process ${i + 1} logged ${id}`);
      for (const id of proxy.sentTo[1 - i]!) assert.ok(!logged.has(id), `${id} was not API process ${i + 1}'s`);
    });

    // The receiver gets every event, each once.
    const events = await allEvents();
    assert.ok(events.length >= linked.length * 3, `events: ${events.length}`);
    await until('every event delivered', () => events.every((e) => deliveries.includes(e)), 20_000);
    for (const e of events) assert.equal(deliveries.filter((d) => d === e).length, 1, `event ${e} delivered once`);
    // The same history for every user_good connection: nothing applied twice.
    const counts = await Promise.all(linked.map((l) => transactionCount(l.userId)));
    assert.ok(counts[0]! > 0 && counts.every((c) => c === counts[0]), `transactions per user: ${counts.join(', ')}`);
  });

  it('finishes the jobs of a worker killed in the middle of them on the other worker', async () => {
    const before = workers.map((w) => claimed(w).length);
    const batch = await link(6, 'second');
    const ids = batch.map((l) => l.jobId);
    // The first worker seen claiming one of these, while it still runs, is killed.
    const victimIndex = await until('a worker in the middle of a job', async () => {
      for (let i = 0; i < workers.length; i++) {
        const running = claimed(workers[i]!).slice(before[i]).filter((id) => ids.includes(id));
        for (const id of running) if ((await api.get(`/v1/jobs/${id}`)).body.status === 'running') return i + 1;
      }
      return false;
    }, 20_000) - 1;
    const victim = workers[victimIndex]!;
    const survivor = workers[1 - victimIndex]!;
    victim.child.kill('SIGKILL');
    assert.equal((await victim.waitExit(10_000))?.signal, 'SIGKILL');
    const unfinished = [];
    for (const id of claimed(victim).slice(before[victimIndex])) {
      if (ids.includes(id) && ['queued', 'running'].includes((await api.get(`/v1/jobs/${id}`)).body.status)) unfinished.push(id);
    }
    assert.ok(unfinished.length > 0, 'the killed worker left jobs unfinished');

    // Heartbeat (10 s) plus pg-boss's 5 s check: the survivor takes them up and finishes every one.
    await succeeded(ids, 45_000);
    const taken = claimed(survivor);
    for (const id of unfinished) assert.ok(taken.includes(id), `the surviving worker finished ${id}`);
    const first = await transactionCount(linked[0]!.userId);
    for (const l of batch) assert.equal(await transactionCount(l.userId), first, `${l.userId}: the same history, nothing applied twice`);
    // No event lost: every one reaches the receiver (one in flight at the kill may arrive twice, with the same webhook-id).
    const events = await allEvents();
    await until('every event delivered after the kill', () => events.every((e) => deliveries.includes(e)), 30_000);
  });
});
