/**
 * `npm run bench [-- --db pglite|postgres|both] [--connections N] [--concurrency 8,16,32] …`
 *
 * Runs bench/suite.ts once per database, each in its own process (its resident memory is then
 * that database's alone), one after the other so they do not share the CPUs, then prints a
 * table per database (each figure beside its raw floor) and writes the same to
 * .tmp/bench-latest.json. Not a test: never part of `npm test`.
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

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..');
/** A database's whole suite must end within this, or it is stopped and reported as failed. */
const SUITE_TIMEOUT_MS = 10 * 60_000;

const forwarded = ['connections', 'core-connections', 'concurrency', 'noop-jobs', 'api-seconds', 'width', 'endpoints', 'webhook-events', 'scheduler-connections', 'latency-connections', 'latency-ms', 'latency-concurrency'] as const;
const { values } = parseArgs({
  options: {
    db: { type: 'string', default: 'both' }, 'idle-runs': { type: 'string', default: IDLE_RUNS.join(',') },
    ...Object.fromEntries(forwarded.map((k) => [k, { type: 'string' as const }])),
  },
});
/** The idle-memory runs after each database's suite (bench/idle-memory.ts); `none` skips them. */
const idleRuns = values['idle-runs'] === 'none' ? [] : values['idle-runs']!.split(',') as IdleRun[];
if (!idleRuns.every((r) => IDLE_RUNS.includes(r))) throw new Error(`--idle-runs takes none or some of ${IDLE_RUNS.join(', ')}`);
const kinds: DbKind[] = values.db === 'both' ? ['pglite', 'postgres'] : [values.db as DbKind];
if (!kinds.every((k) => k === 'pglite' || k === 'postgres')) throw new Error('--db must be pglite, postgres or both');
const given = values as Record<string, string | undefined>;
const args = forwarded.flatMap((k) => (given[k] ? [`--${k}`, given[k]] : []));

function runChild(kind: DbKind): Promise<SuiteResult> {
  const out = path.join(os.tmpdir(), `cw-bench-${kind}-${process.pid}.json`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', path.join(HERE, 'suite.ts'), '--db', kind, '--out', out, ...args], {
      cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'],
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), SUITE_TIMEOUT_MS);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`${kind} suite ${signal ? `was stopped (${signal}, over ${SUITE_TIMEOUT_MS / 60_000} min)` : `exited with ${code}`}`));
      try {
        resolve(JSON.parse(fs.readFileSync(out, 'utf8')) as SuiteResult);
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
    results.push(await runChild(kind));
  } catch (err) {
    failures.push((err as Error).message);
  }
  if (idleRuns.length === 0) continue;
  try {
    const idle = await idleMemory(kind, { runs: idleRuns, idleSeconds: 10 });
    const suite = results.find((r) => r.db === kind);
    if (suite) suite.idleMemory = idle;
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
