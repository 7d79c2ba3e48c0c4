/**
 * Writes Causeway's OpenAPI document to a file: the app is built in-process on an in-memory
 * embedded database (nothing listens, nothing is kept), so the document is exactly what a running
 * server serves at /openapi.json. The client package's types are generated from it at build time.
 * The database comes from the tests' migrated PGlite template (.tmp/), so a build followed by the
 * suite makes the template once, not twice; DATABASE_URL is ignored, so a build never needs a server.
 *
 *   node --import tsx scripts/openapi-document.ts <out.json>
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { loadConfig, type Config } from '../src/config.js';
import { buildApp } from '../src/http/app.js';
import { createCore } from '../src/runtime.js';
import { createTestDatabase } from '../test/helpers/db.js';

const out = process.argv[2];
if (!out) {
  console.error('usage: node --import tsx scripts/openapi-document.ts <out.json>');
  process.exit(2);
}

// A throwaway key: nothing is encrypted here, but the core needs one and must not write a key file.
const config: Config = { ...loadConfig({}), logLevel: 'silent', encryptionKey: randomBytes(32).toString('base64') };
delete process.env.DATABASE_URL;
const { database } = await createTestDatabase();
const core = await createCore(config, { database, logLevel: 'silent' });
let document: unknown;
try {
  const app = await buildApp(core, { logger: false });
  const res = await app.inject({ method: 'GET', url: '/openapi.json' });
  if (res.statusCode !== 200) throw new Error(`/openapi.json answered ${res.statusCode}: ${res.body.slice(0, 500)}`);
  document = res.json();
  await app.close();
} finally {
  await core.queue.stop();
  await core.database.close();
}

fs.mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
fs.writeFileSync(out, `${JSON.stringify(document, null, 2)}\n`);
