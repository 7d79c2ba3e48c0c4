/**
 * Issue 11 item 14: applications are made with the `causeway` command, not SQL. `applications
 * create` prints only the new id, `applications list` shows them, `keys create --application`
 * makes a key for one; the real server then answers each key as its own application, and a live
 * application's key is refused the sandbox calls.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { client, createStorage, runCli, startServer, type Server, type Storage, tearDown } from './helpers/process.js';

/** The embedded database's first start (initdb and migrations) can take half a minute on a busy machine. */
const cli = (args: string[], env: Record<string, string>) => runCli(args, env, 120_000);

let storage: Storage;
let server: Server | null = null;

before(async () => { storage = await createStorage('causeway-cli-apps-'); });
after(() => tearDown(server, storage));

describe('causeway applications', () => {
  it('creates and lists applications, and makes keys for one of them', async () => {
    // Refused before the database is opened: a bad environment, no name.
    const bad = await cli(['applications', 'create', '--name', 'X', '--environment', 'prod'], storage.env());
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--environment must be sandbox or live/);
    assert.equal(bad.stdout, '');
    assert.equal((await cli(['applications', 'create'], storage.env())).code, 2, '--name is required');

    const live = await cli(['applications', 'create', '--name', 'Acme Production', '--environment', 'live'], storage.env());
    assert.equal(live.code, 0, live.stderr);
    assert.match(live.stdout, /^app_[A-Za-z0-9_-]+\n$/, 'stdout is the id alone');
    assert.match(live.stderr, /Created the live application Acme Production/);
    const liveId = live.stdout.trim();

    const liveKey = await cli(['keys', 'create', '--application', liveId, '--name', 'prod'], storage.env());
    assert.equal(liveKey.code, 0, liveKey.stderr);
    assert.match(liveKey.stdout, /^sk_live_[A-Za-z0-9_-]+\n$/);
    const defaultKey = await cli(['keys', 'create', '--name', 'default-app'], storage.env());
    assert.equal(defaultKey.code, 0, defaultKey.stderr);
    assert.match(defaultKey.stdout, /^sk_sandbox_[A-Za-z0-9_-]+\n$/, 'without --application: the default sandbox application');
    const unknown = await cli(['keys', 'create', '--application', 'app_nope', '--name', 'x'], storage.env());
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /No application app_nope/);

    // An operator's email signs in one operator: a second with it is a usage error, not a stack trace.
    const operator = await cli(['operators', 'create', '--email', 'ops@example.com'], storage.env());
    assert.equal(operator.code, 0, operator.stderr);
    const again = await cli(['operators', 'create', '--email', 'ops@example.com'], storage.env());
    assert.equal(again.code, 2, again.stderr);
    assert.match(again.stderr, /An operator ops@example\.com already exists\./);
    assert.equal(again.stdout, '');

    const listed = await cli(['applications', 'list'], storage.env());
    assert.equal(listed.code, 0, listed.stderr);
    const lines = listed.stdout.trim().split('\n');
    assert.equal(lines.length, 2, listed.stdout);
    assert.match(lines.find((l) => l.startsWith(liveId))!, /^app_\S+ {2}Acme Production {2}live {2}created \d{4}-\d\d-\d\dT[\d:.]+Z$/);
    assert.match(lines.find((l) => !l.startsWith(liveId))!, /^app_\S+ {2}Default sandbox application {2}sandbox {2}created \S+ {2}default$/);

    server = await startServer(storage.env(), { timeoutMs: 120_000 });
    assert.equal(server.printedKey, null, 'the default application exists already');
    const asLive = client(server.url, liveKey.stdout.trim());
    const app = await asLive.get('/v1/application');
    assert.equal(app.status, 200, app.text);
    assert.deepEqual([app.body.id, app.body.name, app.body.environment], [liveId, 'Acme Production', 'live']);
    const clock = await asLive.get('/v1/sandbox/clock');
    assert.equal(clock.status, 403);
    assert.equal(clock.body.code, 'sandbox_only');
    const asDefault = client(server.url, defaultKey.stdout.trim());
    assert.equal((await asDefault.get('/v1/sandbox/clock')).status, 200);
    // Tenants apart: a user of one application is not found with another's key.
    const userId = await asDefault.createUser({ externalId: 'default-user' });
    assert.equal((await asLive.get(`/v1/users/${userId}`)).status, 404);
  });
});
