#!/usr/bin/env node
/**
 * The `causeway` command. It runs the TypeScript sources as they are: no build step between a
 * clone and `npm start`, and an edited source is what the next start runs.
 *
 * It runs them compiled when it can. The first run after a change bundles src/cli/index.ts and
 * everything it imports with esbuild (which tsx brings; packages stay in node_modules) into
 * node_modules/.cache/causeway/<hash of the sources>/, in about a second. Every later run hashes
 * the sources the bundle was made from (a few milliseconds) and loads it while they are unchanged.
 * Why: through tsx, an idle API process holds about 70 MB more (tsx's loader thread, and every
 * module's transpiled text with its inline source map), measured by bench/idle-memory.ts, which
 * reports both ways side by side. Stack traces still name the .ts files (linked source maps).
 * Anything unusual (no esbuild, a read-only node_modules, a failed bundle) falls back to tsx, as
 * does CAUSEWAY_TSX=1; DEBUG=causeway says why.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const ENTRY = 'src/cli/index.ts';
const CACHE = path.join(ROOT, 'node_modules', '.cache', 'causeway');
/** Besides the bundled sources, what changes the bundle: this file (the options below) and the package. */
const ALWAYS_HASHED = ['bin/causeway.js', 'package.json'];
/** Builds kept besides the newest: a process of an older one may still be starting. */
const KEEP_BUILDS = 3;

const debug = (message) => {
  if (/\bcauseway\b/.test(process.env.DEBUG ?? '')) process.stderr.write(`causeway: ${message}\n`);
};

function hashOf(files) {
  const hash = createHash('sha256');
  for (const file of [...ALWAYS_HASHED, ...files]) hash.update(`${file}\0`).update(fs.readFileSync(path.join(ROOT, file))).update('\0');
  return hash.digest('hex').slice(0, 20);
}

/** The current build's entry, if the sources it lists are still the ones it was made from. */
function freshBuild() {
  let current;
  try {
    current = JSON.parse(fs.readFileSync(path.join(CACHE, 'current.json'), 'utf8'));
  } catch {
    return null;
  }
  try {
    if (hashOf(current.inputs) !== current.hash) return null;
  } catch {
    return null; // a source was removed or renamed
  }
  const entry = path.join(CACHE, current.hash, 'index.js');
  return fs.existsSync(entry) ? entry : null;
}

/**
 * A source that reads `import.meta.url` (to find the migrations, the built pages, package.json)
 * gets its own file's URL, not the bundle's: the relative path from the output directory to it.
 */
const ownUrl = {
  name: 'own-import-meta-url',
  setup(build) {
    build.onLoad({ filter: /\.ts$/ }, async (args) => {
      const source = await fs.promises.readFile(args.path, 'utf8');
      if (!source.includes('import.meta.url')) return undefined;
      const relative = path.relative(path.join(CACHE, 'x'), args.path).split(path.sep).join('/');
      return { contents: source.replaceAll('import.meta.url', `new URL(${JSON.stringify(relative)}, import.meta.url).href`), loader: 'ts' };
    });
  },
};

/** esbuild as tsx has it: hoisted beside it, or in its own node_modules. */
async function loadEsbuild() {
  try {
    return await import('esbuild');
  } catch {
    const beside = createRequire(path.join(ROOT, 'node_modules', 'tsx', 'package.json')).resolve('esbuild');
    return import(pathToFileURL(beside).href);
  }
}

async function build() {
  const esbuild = await loadEsbuild();
  fs.mkdirSync(CACHE, { recursive: true });
  const work = path.join(CACHE, `tmp-${process.pid}-${Date.now()}`); // the same depth as the final directory: ownUrl's paths hold
  try {
    const result = await esbuild.build({
      absWorkingDir: ROOT, entryPoints: [ENTRY], outdir: work, bundle: true, splitting: true, format: 'esm',
      platform: 'node', target: 'node20', packages: 'external', sourcemap: 'linked', sourcesContent: false, metafile: true, logLevel: 'silent',
      tsconfigRaw: {}, // tsconfig.json is for type checking (the image leaves it out); nothing in it changes the output for node20
      plugins: [ownUrl],
    }).finally(() => esbuild.stop()); // its service process would otherwise live (about 45 MB) as long as this one
    const inputs = Object.keys(result.metafile.inputs).sort();
    const hash = hashOf(inputs);
    const final = path.join(CACHE, hash);
    try {
      fs.renameSync(work, final);
    } catch (err) {
      if (!fs.existsSync(path.join(final, 'index.js'))) throw err; // else another process built the same sources first
    }
    const pointer = path.join(CACHE, `current.json.${process.pid}`);
    fs.writeFileSync(pointer, JSON.stringify({ hash, inputs }));
    fs.renameSync(pointer, path.join(CACHE, 'current.json'));
    prune(hash);
    return path.join(final, 'index.js');
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

function prune(keep) {
  const builds = fs.readdirSync(CACHE, { withFileTypes: true })
    .filter((d) => d.isDirectory() && d.name !== keep && !d.name.startsWith('tmp-'))
    .map((d) => ({ dir: path.join(CACHE, d.name), at: fs.statSync(path.join(CACHE, d.name)).mtimeMs }))
    .sort((a, b) => b.at - a.at);
  for (const old of builds.slice(KEEP_BUILDS)) fs.rmSync(old.dir, { recursive: true, force: true });
}

async function compiled() {
  if (process.env.CAUSEWAY_TSX === '1') return null;
  try {
    return freshBuild() ?? await build();
  } catch (err) {
    debug(`running through tsx: ${err instanceof Error ? err.message : String(err)}`);
    return null;
  }
}

const entry = await compiled();
let main;
if (entry) {
  process.setSourceMapsEnabled(true);
  ({ main } = await import(pathToFileURL(entry).href));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../src/cli/index.ts'));
}
await main(process.argv.slice(2));
