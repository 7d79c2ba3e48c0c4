/**
 * The layers of src/ (ENGINEERING.md habit 13), enforced by reading every import:
 *
 *   http/ ──► services/ ──► db/ (repos; all SQL, drizzle and the schema live here)
 *                 │           │
 *                 └──► domain/ ◄┘   (pure: no I/O, no database, no services)
 *
 * jobs/ (queue wiring) calls services and repos; a service calls neither jobs/ nor http/. net/ (the
 * guard for requests to user-supplied addresses) is a leaf that services, jobs and providers share:
 * it imports no other folder of src/. The top-level modules config.ts, logging.ts and metrics.ts (the
 * process's one Prometheus registry) sit beside the folders so every layer can use them; domain/
 * records no metrics (it stays pure). An exception is listed below with its reason, and the test
 * fails once it is no longer needed, so the list only shrinks.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src');

/** `file → imported path` (both relative to src/) a rule lets through, with why. */
const ALLOWED: Record<string, string> = {
  // The service holds the queue the composition root made; a type only, no code runs from jobs/.
  'services/core.ts → jobs/queue.js': 'Core carries the JobQueue (type import)',
};

/** Modules a domain file may not import: anything that does I/O or reaches a database. */
const IO_MODULES = /^(node:)?(fs|fs\/promises|net|tls|http|https|http2|dgram|dns|child_process|worker_threads|cluster)$|^(pg|pg-boss|@electric-sql\/pglite|drizzle-orm|drizzle-kit|fastify)(\/|$)/;

interface Import { file: string; line: number; spec: string; target: string }

/** Every static, re-exported, side-effect and dynamic import of a file; `target` is relative to src/ for a relative one. */
function importsOf(file: string): Import[] {
  const text = fs.readFileSync(file, 'utf8');
  const found: Import[] = [];
  const patterns = [
    /^[ \t]*(?:import|export)\b[^;'"`]*?\bfrom\s*['"]([^'"]+)['"]/gm, // import x from '…', import type {…} from '…' (over several lines), export … from '…'
    /^[ \t]*import\s*['"]([^'"]+)['"]/gm, // import '…'
    /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g, // import('…'), in code or in a type
  ];
  for (const re of patterns) {
    for (const m of text.matchAll(re)) {
      const spec = m[1]!;
      const line = text.slice(0, m.index! + m[0].length).split('\n').length;
      const target = spec.startsWith('.') ? path.relative(SRC, path.resolve(path.dirname(file), spec)).split(path.sep).join('/') : spec;
      found.push({ file: path.relative(SRC, file).split(path.sep).join('/'), line, spec, target });
    }
  }
  return found;
}

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' || e.name === 'migrations' ? [] : sourceFiles(p);
    return /\.tsx?$/.test(e.name) && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

const under = (p: string, folder: string) => p === folder || p.startsWith(`${folder}/`);

/** The rule an import breaks, or null. */
function broken(i: Import): string | null {
  const drizzle = i.spec === 'drizzle-orm' || i.spec.startsWith('drizzle-orm/');
  if (!under(i.file, 'db') && (drizzle || /^db\/(schema|tables)(\/|\.|$)/.test(i.target))) return 'drizzle and the schema are used only in src/db (queries go in a repo)';
  if (under(i.file, 'http') && under(i.target, 'db')) return 'http/ reaches the database only through services/';
  if (under(i.file, 'services') && (under(i.target, 'jobs') || under(i.target, 'http'))) return 'a service imports neither jobs/ nor http/';
  if (under(i.file, 'net') && ['db', 'services', 'jobs', 'http', 'providers', 'domain', 'cli', 'web'].some((f) => under(i.target, f))) {
    return 'net/ is a leaf: it imports no other folder of src/';
  }
  if (under(i.file, 'domain') && (IO_MODULES.test(i.spec) || i.target === 'metrics.js' || ['db', 'services', 'jobs', 'http', 'providers'].some((f) => under(i.target, f)))) {
    return 'domain/ is pure: no I/O, no database, no services';
  }
  return null;
}

describe('layers of src/', () => {
  const imports = sourceFiles(SRC).flatMap(importsOf);
  const key = (i: Import) => `${i.file} → ${i.target}`;

  it('reads the imports it judges (a check that finds nothing would pass everything)', () => {
    assert.ok(imports.some((i) => i.file === 'db/repos/users.ts' && i.spec === 'drizzle-orm'));
    assert.ok(imports.some((i) => i.file === 'services/users.ts' && i.target === 'db/repos/users.js'));
    assert.ok(imports.some((i) => i.file === 'http/edge.ts' && i.spec === 'node:net'), 'import() in a type is read');
    assert.equal(broken({ file: 'services/x.ts', line: 1, spec: 'drizzle-orm/pg-core', target: 'drizzle-orm/pg-core' }) !== null, true);
    assert.equal(broken({ file: 'http/x.ts', line: 1, spec: '../db/repos/users.js', target: 'db/repos/users.js' }) !== null, true);
    assert.equal(broken({ file: 'jobs/x.ts', line: 1, spec: '../db/schema.js', target: 'db/schema.js' }) !== null, true);
    assert.equal(broken({ file: 'domain/x.ts', line: 1, spec: 'node:fs', target: 'node:fs' }) !== null, true);
    assert.equal(broken({ file: 'domain/x.ts', line: 1, spec: '../metrics.js', target: 'metrics.js' }) !== null, true);
    assert.ok(imports.some((i) => i.file === 'services/sync/journal.ts' && i.target === 'metrics.js'), 'services record into the one registry');
    assert.equal(broken({ file: 'db/repos/x.ts', line: 1, spec: '../schema.js', target: 'db/schema.js' }), null);
    assert.equal(broken({ file: 'net/x.ts', line: 1, spec: '../services/core.js', target: 'services/core.js' }) !== null, true);
    assert.equal(broken({ file: 'services/x.ts', line: 1, spec: '../net/guard.js', target: 'net/guard.js' }), null);
    assert.ok(imports.some((i) => i.file === 'providers/simplefin/client.ts' && i.target === 'net/guard.js'), 'providers reach user-supplied URLs through net/');
  });

  it('holds: drizzle and the schema only in db/, http/ never in db/, services/ never in jobs/ or http/, net/ a leaf, domain/ pure', () => {
    const offenders = imports.filter((i) => broken(i) && !(key(i) in ALLOWED)).map((i) => `src/${i.file}:${i.line} imports '${i.spec}': ${broken(i)}`);
    assert.deepEqual(offenders, []);
  });

  it('lists only exceptions still needed', () => {
    const used = new Set(imports.filter((i) => broken(i)).map(key));
    assert.deepEqual(Object.keys(ALLOWED).filter((k) => !used.has(k)), [], 'remove these from ALLOWED in test/unit/layers.test.ts');
  });
});
