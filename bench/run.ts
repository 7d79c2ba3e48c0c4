/**
 * `npm run bench [-- --db pglite|postgres|both] [--connections N] [--concurrency 8,16,32] …`
 *
 * Runs bench/suite.ts once per database, each in its own process (its resident memory is then
 * that database's alone), one after the other so they do not share the CPUs; after each suite, the
 * webhook phase in a new process of its own (bench/webhooks-only.ts: a deployed worker does not
 * carry the suite's heap, and neither should the bare loop it is compared with) and the idle
 * memory runs. Then prints a table per database (each figure beside its raw floor) and writes the
 * same to .tmp/bench-latest.json. Not a test: never part of `npm test`.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { DbKind } from './db.js';
import { IDLE_RUNS, idleMemory, type IdleRun } from './idle-memory.js';
import { renderSuite, targets } from './report.js';
import type { SuiteResult } from './suite.js';
import type { WebhookResult } from './webhooks.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..');
/** A database's whole suite must end within this, or it is stopped and reported as failed. */
const SUITE_TIMEOUT_MS = 10 * 60_000;
/** The webhook phase likewise. */
const WEBHOOKS_TIMEOUT_MS = 5 * 60_000;

/** Options for the suite, and the webhook phase's own (bench/webhooks-only.ts). */
const forwarded = ['connections', 'core-connections', 'concurrency', 'noop-jobs', 'api-seconds', 'width', 'scheduler-connections', 'latency-connections', 'latency-ms', 'latency-concurrency'] as const;
const webhookOptions = { endpoints: 'endpoints', 'webhook-events': 'events', width: 'width' } as const;
const { values } = parseArgs({
  options: {
    db: { type: 'string', default: 'both' }, 'idle-runs': { type: 'string', default: IDLE_RUNS.join(',') },
    ...Object.fromEntries([...forwarded, ...Object.keys(webhookOptions)].map((k) => [k, { type: 'string' as const }])),
  },
});
/** The idle-memory runs after each database's suite (bench/idle-memory.ts); `none` skips them. */
const idleRuns = values['idle-runs'] === 'none' ? [] : values['idle-runs']!.split(',') as IdleRun[];
if (!idleRuns.every((r) => IDLE_RUNS.includes(r))) throw new Error(`--idle-runs takes none or some of ${IDLE_RUNS.join(', ')}`);
const kinds: DbKind[] = values.db === 'both' ? ['pglite', 'postgres'] : [values.db as DbKind];
if (!kinds.every((k) => k === 'pglite' || k === 'postgres')) throw new Error('--db must be pglite, postgres or both');
const given = values as Record<string, string | undefined>;
const args = forwarded.flatMap((k) => (given[k] ? [`--${k}`, given[k]] : []));
const webhookArgs = Object.entries(webhookOptions).flatMap(([k, as]) => (given[k] ? [`--${as}`, given[k]] : []));

/** A bench script in a child process (tsx, --expose-gc) that writes its result as JSON to the file after `--out`. */
function runChild<T>(script: string, scriptArgs: string[], what: string, timeoutMs: number): Promise<T> {
  const out = path.join(os.tmpdir(), `cw-bench-${path.basename(script, '.ts')}-${process.pid}.json`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', path.join(HERE, script), ...scriptArgs, '--out', out], {
      cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'],
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`${what} ${signal ? `was stopped (${signal}, over ${timeoutMs / 60_000} min)` : `exited with ${code}`}`));
      try {
        resolve(JSON.parse(fs.readFileSync(out, 'utf8')) as T);
      } catch (err) {
        reject(err as Error);
      } finally {
        fs.rmSync(out, { force: true });
      }
    });
  });
}

const machine = {
  cpus: os.availableParallelism(), cpuModel: os.cpus()[0]?.model ?? 'unknown', memoryGb: Math.round(os.totalmem() / 1e9),
  node: process.version, os: `${os.type()} ${os.release()}`,
};
const started = new Date();
const results: SuiteResult[] = [];
const failures: string[] = [];
for (const kind of kinds) {
  process.stderr.write(`\n== ${kind} ==\n`);
  try {
    results.push(await runChild<SuiteResult>('suite.ts', ['--db', kind, ...args], `${kind} suite`, SUITE_TIMEOUT_MS));
  } catch (err) {
    failures.push((err as Error).message);
  }
  const suite = results.find((r) => r.db === kind);
  // Their results go into the suite's table: without one they would be measured for nothing.
  if (!suite) {
    failures.push(`${kind} webhooks and idle memory: not run, the suite failed`);
    continue;
  }
  try {
    const webhooks = await runChild<WebhookResult>('webhooks-only.ts', [kind, '1', ...webhookArgs], `${kind} webhooks`, WEBHOOKS_TIMEOUT_MS);
    suite.webhooks = webhooks;
  } catch (err) {
    failures.push(`${kind} webhooks: ${(err as Error).message}`);
  }
  if (idleRuns.length === 0) continue;
  try {
    const idle = await idleMemory(kind, { runs: idleRuns, idleSeconds: 10 });
    suite.idleMemory = idle;
  } catch (err) {
    failures.push(`${kind} idle memory: ${(err as Error).message}`);
  }
}

const lines = [
  '',
  `Causeway benchmark, ${started.toISOString()}: ${machine.cpus} CPUs (${machine.cpuModel}), Node ${machine.node}`,
  ...results.flatMap((r) => ['', ...renderSuite(r)]),
  '',
  ...targets(results),
  ...failures.map((f) => `FAILED: ${f}`),
  ...results.flatMap((r) => r.errors.map((e) => `ERROR (${r.db}): ${e}`)),
];
process.stdout.write(`${lines.join('\n')}\n`);

const file = path.join(ROOT, '.tmp', 'bench-latest.json');
fs.mkdirSync(path.dirname(file), { recursive: true });
fs.writeFileSync(file, JSON.stringify({ started: started.toISOString(), command: `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim(), machine, results, failures, table: lines }, null, 2));
process.stdout.write(`\nWritten to ${path.relative(ROOT, file)}\n`);
process.exit(failures.length > 0 || results.some((r) => r.errors.length > 0) ? 1 : 0);
