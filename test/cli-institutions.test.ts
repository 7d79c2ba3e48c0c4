/**
 * `causeway institutions sync` and `list`, run as the real command against the Plaid fake: a
 * provider that is unknown or has no settings is refused in one line that says what to set; bad
 * keys fail naming the provider and Plaid's code while the others still sync; with the deployment's
 * CAUSEWAY_PLAID_* the whole catalogue is copied a page at a time (one progress line a page when
 * not on a terminal) and counted on stdout; `list` then finds an institution by name.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createStorage, runCli, type Storage, tearDown } from './helpers/process.js';
import { startPlaidFake, type PlaidFake } from './fakes/plaid/index.js';
import { institutionCatalogue } from './fakes/plaid/institutions.js';
import { PLAID_COUNTRIES } from '../src/providers/plaid/link.js';
import { INSTITUTIONS_PAGE } from '../src/providers/plaid/index.js';

/** The embedded database's first start (initdb and migrations) can take half a minute on a busy machine. */
const cli = (args: string[], env: Record<string, string>) => runCli(args, env, 120_000);

let storage: Storage;
let fake: PlaidFake;

before(async () => {
  storage = await createStorage('causeway-cli-institutions-');
  fake = await startPlaidFake();
});
after(async () => {
  await fake?.close();
  await tearDown(null, storage);
});

const plaidEnv = (extra: Record<string, string> = {}) => storage.env({
  CAUSEWAY_PLAID_CLIENT_ID: fake.clientId, CAUSEWAY_PLAID_SECRET: fake.secret, CAUSEWAY_PLAID_URL: fake.url, ...extra,
});

describe('causeway institutions', () => {
  it('refuses an unknown provider and an unconfigured one, saying what to set', async () => {
    const unknown = await cli(['institutions', 'sync', '--provider', 'nope'], storage.env());
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /^No provider nope\. This server has: sandbox, plaid, gocardless, simplefin\.\n/);
    assert.equal(unknown.stdout, '');

    const unconfigured = await cli(['institutions', 'sync', '--provider', 'plaid'], storage.env());
    assert.equal(unconfigured.code, 1, unconfigured.stderr);
    assert.equal(unconfigured.stdout, '');
    const lines = unconfigured.stderr.trim().split('\n');
    assert.equal(lines.length, 1, `one line: ${unconfigured.stderr}`);
    assert.match(lines[0]!, /^causeway: Plaid is not configured, so its catalogue cannot be read: set CAUSEWAY_PLAID_CLIENT_ID and CAUSEWAY_PLAID_SECRET .*PUT \/v1\/application\/providers\/plaid\.$/);
    assert.equal(fake.requestsTo('/institutions/get').length, 0);
  });

  it('names the provider and its error when the keys are wrong, and syncs the others', async () => {
    const wrong = await cli(['institutions', 'sync'], plaidEnv({ CAUSEWAY_PLAID_SECRET: 'not-the-secret' }));
    assert.equal(wrong.code, 1, wrong.stderr);
    // The others that need no keys still synced; GoCardless, without keys here, is not asked.
    assert.match(wrong.stdout, /^sandbox: \d+ institutions\nsimplefin: 1 institution\n$/, 'the sandbox and the SimpleFIN bridge still synced');
    assert.match(wrong.stderr, /^causeway: plaid: the catalogue sync failed: Plaid INVALID_API_KEYS on \/institutions\/get: .*$/m);
    assert.doesNotMatch(wrong.stderr, /not-the-secret/);
  });

  it('copies the Plaid catalogue a page at a time, counts it, and lists it', async () => {
    const expected = institutionCatalogue().filter((i) => i.country_codes.some((c) => (PLAID_COUNTRIES as readonly string[]).includes(c))).length;
    assert.ok(expected > 2500, `the fake serves ${expected}`);
    const before = fake.requestsTo('/institutions/get').length;

    const sync = await cli(['institutions', 'sync', '--provider', 'plaid'], plaidEnv());
    assert.equal(sync.code, 0, sync.stderr);
    assert.equal(sync.stdout, `plaid: ${expected.toLocaleString('en-US')} institutions\n`);
    const pages = Math.ceil(expected / INSTITUTIONS_PAGE);
    assert.equal(fake.requestsTo('/institutions/get').length - before, pages);
    // Not a terminal: one line a page, not a bar.
    const progress = sync.stderr.split('\n').filter((l) => l.startsWith('plaid: '));
    assert.equal(progress.length, pages, sync.stderr);
    assert.equal(progress[0], `plaid: ${INSTITUTIONS_PAGE} of ${expected.toLocaleString('en-US')} institutions`);
    assert.equal(progress.at(-1), `plaid: ${expected.toLocaleString('en-US')} of ${expected.toLocaleString('en-US')} institutions`);
    assert.doesNotMatch(sync.stderr, /\x1b\[/, 'no terminal control codes');

    const found = await cli(['institutions', 'list', '--search', 'platypus', '--provider', 'plaid'], storage.env());
    assert.equal(found.code, 0, found.stderr);
    assert.match(found.stdout, /^ins_plaid_109508 {2}First Platypus Bank {2}US {2}plaid {2}hosted$/m);

    const badLimit = await cli(['institutions', 'list', '--limit', '0'], storage.env());
    assert.equal(badLimit.code, 2);
    assert.match(badLimit.stderr, /^--limit must be a whole number from 1 to 1000\n/);
  });
});
