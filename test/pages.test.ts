/**
 * The three pages in a real browser (issue 6): Debian's Chromium driven by playwright-core,
 * against the real `causeway` process. The connect widget links user_good (by keyboard alone),
 * user_mfa with its code, a wrong password retried in place, and openbanking approved and denied;
 * the manage page refreshes (the indicator comes and goes), disconnects, repairs and deletes with
 * erase; the dashboard finds a connection, shows its masked profile and job steps, and purges it.
 * Screenshots of each page at desktop and phone width go to test/artifacts/ (not committed).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { launchChromium, newPage as openPage, shots } from './helpers/browser.js';
import { client, createStorage, runCli, type Server, startServer, type Storage, tearDown } from './helpers/process.js';

let storage: Storage;
let server: Server | null = null;
let browser: Browser;
let key: string;
let operatorPassword: string;
let api: ReturnType<typeof client>;

before(async () => {
  storage = await createStorage('causeway-pages-');
  // The embedded database has one process at a time: the CLI runs before the server starts.
  key = (await runCli(['keys', 'create', '--name', 'pages'], storage.env())).stdout.trim();
  operatorPassword = (await runCli(['operators', 'create', '--email', 'ops@example.com'], storage.env())).stdout.trim();
  assert.match(key, /^sk_sandbox_/);
  assert.ok(operatorPassword.length >= 12);
  server = await startServer(storage.env({ CAUSEWAY_SANDBOX_LATENCY_MS: '120', CAUSEWAY_ALLOW_PRIVATE_ADDRESSES: 'true' }));
  api = client(server.url, key);
  browser = await launchChromium();
});
after(async () => {
  await browser?.close().catch(() => {});
  await tearDown(server, storage);
});

async function tokenFor(userId: string, scopes = ['connect', 'manage'], extra: Record<string, unknown> = {}): Promise<string> {
  const res = await api.post(`/v1/users/${userId}/client-tokens`, { scopes, ...extra });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body.token;
}

async function connections(userId: string) {
  return (await api.get(`/v1/users/${userId}/connections`)).body.data as any[];
}

describe('connect widget', () => {
  it('links user_good with the keyboard alone, showing each step', async () => {
    const userId = await api.createUser();
    const { context, page, errors } = await openPage(browser);
    await page.goto(`${server!.url}/connect?token=${await tokenFor(userId)}&state=abc123`);
    await page.getByRole('heading', { name: 'Choose your bank' }).waitFor();
    assert.ok(!page.url().includes('token='), 'the token leaves the address bar');
    await shots(page, 'connect-pick');
    // The search box has focus: type, Tab to the first match, Enter.
    await page.keyboard.type('web bank');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    // The consent pane: Continue has focus.
    await page.getByRole('heading', { name: /uses Causeway to connect your Sandbox Web Bank account/ }).waitFor();
    await page.keyboard.press('Enter');
    await page.getByLabel('Login').waitFor();
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'login', 'the login field has focus');
    await page.keyboard.type('user_good');
    await page.keyboard.press('Tab');
    await page.keyboard.type('pass_good');
    await page.keyboard.press('Enter');
    await page.getByRole('list', { name: 'Progress' }).waitFor();
    await page.getByText('Fetching your transactions').waitFor();
    await page.getByRole('heading', { name: 'Sandbox Web Bank is connected' }).waitFor({ timeout: 20_000 });
    await shots(page, 'connect-done');
    const [c] = await connections(userId);
    assert.deepEqual([c.status, c.institution.id], ['active', 'ins_sandbox_web']);
    assert.deepEqual(errors, []);
    await context.close();
  });

  it('asks for the one-time code of user_mfa, continues with it, and sends the user back to the app with state, connectionId and jobId', async () => {
    const userId = await api.createUser();
    const { context, page } = await openPage(browser);
    const token = await tokenFor(userId, ['connect'], { redirectUri: `${server!.url}/health?from=widget` });
    await page.goto(`${server!.url}/connect?token=${token}&state=s-42`);
    await page.getByRole('button', { name: /Sandbox Web Bank/ }).click();
    await page.getByRole('button', { name: 'Continue', exact: true }).click(); // the consent pane
    await page.getByLabel('Login').fill('user_mfa');
    await page.getByLabel('Password').fill('pass_good');
    await page.getByRole('button', { name: 'Connect' }).click();
    await page.getByLabel('One-time code').waitFor({ timeout: 15_000 });
    await shots(page, 'connect-mfa');
    await page.getByLabel('One-time code').fill('1234');
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('heading', { name: /is connected/ }).waitFor({ timeout: 20_000 });
    const [c] = await connections(userId);
    assert.equal(c.status, 'active');
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.waitForURL(/\/health\?/);
    const back = new URL(page.url());
    const [job] = (await api.get(`/v1/users/${userId}/connections/${c.id}/jobs`)).body.data;
    assert.deepEqual(
      ['from', 'state', 'connectionId', 'jobId', 'status'].map((k) => back.searchParams.get(k)),
      ['widget', 's-42', c.id, job.id, 'active'],
    );
    await context.close();
  });

  it('embedded in an iframe on the app’s own site, posts the result to the app’s window', async () => {
    const userId = await api.createUser();
    const src = `${server!.url}/connect?token=${await tokenFor(userId)}&state=embedded-7`;
    // The app's page, on another origin, listening for the widget's message.
    const app = http.createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(`<!doctype html><title>App</title>
      <script>window.got = []; window.addEventListener('message', (e) => window.got.push(e.data));</script>
      <iframe title="Connect" src="${src}" style="width:420px;height:700px"></iframe>`));
    await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
    const { context, page } = await openPage(browser);
    try {
      page.on('console', (m) => { if (process.env.DEBUG_PAGES) console.error('console:', m.text()); });
      await page.goto(`http://localhost:${(app.address() as AddressInfo).port}/`);
      const frame = page.frameLocator('iframe[title="Connect"]');
      await frame.getByRole('button', { name: /Sandbox Universal Bank/ }).click();
      await frame.getByRole('button', { name: /Sign in with your bank login/ }).click();
      await frame.getByRole('button', { name: 'Continue', exact: true }).click(); // the consent pane
      await frame.getByLabel('Login').fill('user_good');
      await frame.getByLabel('Password').fill('pass_good');
      await frame.getByRole('button', { name: 'Connect' }).click();
      await frame.getByRole('heading', { name: /is connected/ }).waitFor({ timeout: 20_000 });
      const [c] = await connections(userId);
      let got: any[] = [];
      for (let i = 0; i < 50 && got.length === 0; i++) { got = (await page.evaluate('window.got')) as any[]; await new Promise((r) => setTimeout(r, 50)); }
      assert.deepEqual(got.map((m) => [m.type, m.state, m.connectionId, m.status]), [['causeway.connect', 'embedded-7', c.id, 'active']]);
      assert.match(got[0].jobId, /^job_/);
    } finally {
      await context.close();
      app.close();
    }
  });

  it('shows a wrong password in plain words and retries in place, on the same connection', async () => {
    const userId = await api.createUser();
    const { context, page } = await openPage(browser);
    await page.goto(`${server!.url}/connect?token=${await tokenFor(userId)}`);
    await page.getByRole('button', { name: /Sandbox Web Bank/ }).click();
    await page.getByRole('button', { name: 'Continue', exact: true }).click(); // the consent pane
    await page.getByLabel('Login').fill('user_good');
    await page.getByLabel('Password').fill('wrong');
    await page.getByRole('button', { name: 'Connect' }).click();
    const alert = page.getByRole('alert');
    await alert.getByText('The bank did not accept the login or password.').waitFor({ timeout: 15_000 });
    await shots(page, 'connect-failed');
    const [failed] = await connections(userId);
    assert.deepEqual([failed.status, failed.statusReason], ['failed', 'invalid_credentials']);
    await page.getByLabel('Login').fill('user_good');
    await page.getByLabel('Password').fill('pass_good');
    await page.getByRole('button', { name: 'Try again' }).click();
    await page.getByRole('heading', { name: /is connected/ }).waitFor({ timeout: 20_000 });
    const after = await connections(userId);
    assert.deepEqual(after.map((c) => [c.id, c.status]), [[failed.id, 'active']], 'the same connection, now active');
    await context.close();
  });

  it('hands off to the bank’s consent page and back: denied, then tried again and approved', async () => {
    const userId = await api.createUser();
    const { context, page } = await openPage(browser);
    await page.goto(`${server!.url}/connect?token=${await tokenFor(userId)}`);
    await page.getByRole('button', { name: /Sandbox Open Bank/ }).click();
    await page.getByRole('button', { name: 'Continue', exact: true }).click(); // the consent pane
    const deny = context.waitForEvent('page');
    await page.getByRole('button', { name: 'Continue to your bank' }).click();
    const consent = await deny;
    await consent.getByRole('button', { name: 'Deny' }).click();
    await page.getByRole('alert').getByText('Access was not allowed at the bank.').waitFor({ timeout: 15_000 });
    assert.deepEqual((await connections(userId)).map((c) => [c.status, c.statusReason]), [['failed', 'authorization_denied']]);
    await page.getByRole('button', { name: 'Try again' }).click();
    const approve = context.waitForEvent('page');
    await page.getByRole('button', { name: 'Continue to your bank' }).click();
    const again = await approve;
    await again.getByRole('button', { name: 'Approve' }).click();
    await page.getByRole('heading', { name: /is connected/ }).waitFor({ timeout: 20_000 });
    const [c] = await connections(userId);
    assert.deepEqual([c.method, c.status], ['openbanking', 'active']);
    assert.ok(c.consent.expiresAt);
    await context.close();
  });
});

async function linkedUser(institutionId = 'ins_sandbox_web'): Promise<{ userId: string; connectionId: string }> {
  const userId = await api.createUser();
  const res = await api.post(`/v1/users/${userId}/connections`, { institutionId, method: 'web', credentials: { login: 'user_good', password: 'pass_good' } });
  assert.equal((await api.waitForJob(res.body.job.id, { timeoutMs: 30_000 })).status, 'succeeded');
  return { userId, connectionId: res.body.connection.id };
}

describe('manage page', () => {
  it('refreshes with a syncing indicator, disconnects after saying the data stays, repairs, and deletes with erase', async () => {
    const { userId, connectionId } = await linkedUser();
    const { context, page, errors } = await openPage(browser);
    await page.goto(`${server!.url}/manage?token=${await tokenFor(userId)}`);
    const card = page.getByRole('article', { name: 'Sandbox Web Bank' });
    await card.getByText('Connected', { exact: true }).waitFor();
    await card.getByRole('table', { name: /Accounts/ }).waitFor();
    await card.getByRole('button', { name: 'Details' }).click();
    await card.getByText('Sync history').waitFor();
    await shots(page, 'manage');

    await card.getByRole('button', { name: 'Refresh' }).click();
    await card.getByText('Syncing…').waitFor({ timeout: 5_000 });
    await card.getByText('Syncing…').waitFor({ state: 'hidden', timeout: 20_000 });
    const jobs = (await api.get(`/v1/users/${userId}/connections/${connectionId}/jobs`)).body.data;
    assert.equal(jobs.filter((j: any) => j.type === 'refresh' && j.status === 'succeeded').length, 1, 'one refresh ran');

    await card.getByRole('button', { name: 'Disconnect' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByText('The data already shared stays').waitFor();
    await dialog.getByRole('button', { name: 'Disconnect' }).click();
    await card.getByText('Disconnected', { exact: true }).waitFor({ timeout: 10_000 });
    assert.equal((await api.get(`/v1/users/${userId}/connections/${connectionId}`)).body.status, 'unlinked');
    assert.ok((await api.get(`/v1/users/${userId}/accounts`)).body.data.length > 0, 'the data stayed');

    // Repair: Reconnect opens the connect widget on the same connection.
    await page.getByRole('link', { name: 'Reconnect' }).click();
    await page.getByRole('heading', { name: 'Fix your connection' }).waitFor();
    await page.getByLabel('Login').fill('user_good');
    await page.getByLabel('Password').fill('pass_good');
    await page.getByRole('button', { name: 'Try again' }).click();
    await page.getByRole('heading', { name: /is connected/ }).waitFor({ timeout: 20_000 });
    assert.equal((await api.get(`/v1/users/${userId}/connections/${connectionId}`)).body.status, 'active');

    await page.goto(`${server!.url}/manage?token=${await tokenFor(userId)}`);
    await card.getByText('Connected', { exact: true }).waitFor();
    await card.getByRole('button', { name: 'Delete' }).click();
    await dialog.getByLabel('Erase them too').check();
    await dialog.getByRole('button', { name: 'Delete' }).click();
    await page.getByText('You have not connected a bank yet.').waitFor({ timeout: 10_000 });
    assert.equal((await api.get(`/v1/users/${userId}/connections/${connectionId}`)).body.status, 'deleted');
    assert.deepEqual((await api.get(`/v1/users/${userId}/accounts`)).body.data, [], 'the data was erased');
    assert.deepEqual(errors, []);
    await context.close();
  });

  it('says when the refresh budget is spent and when the next refresh is allowed', async () => {
    const { userId } = await linkedUser('ins_sandbox_slow'); // refreshes at least an hour apart
    const { context, page } = await openPage(browser);
    await page.goto(`${server!.url}/manage?token=${await tokenFor(userId)}`);
    const card = page.getByRole('article', { name: 'Sandbox Slow Building Society' });
    await card.getByRole('button', { name: 'Refresh' }).click();
    await card.getByText('Syncing…').waitFor({ state: 'hidden', timeout: 30_000 });
    await card.getByRole('button', { name: 'Refresh' }).click();
    await card.getByRole('status').getByText(/You can refresh again .* \(3 left today\)\. Your data is also updated automatically\./).waitFor({ timeout: 10_000 });
    await context.close();
  });

  it('a client token for one user cannot read another user’s connections', async () => {
    const { userId: theirs, connectionId } = await linkedUser();
    const mine = await api.createUser();
    const { context, page } = await openPage(browser);
    await page.goto(`${server!.url}/manage?token=${await tokenFor(mine)}`);
    await page.getByText('You have not connected a bank yet.').waitFor();
    // From inside the page, with the page's own token (a string: the test runner's transform must not touch it).
    const answers = await page.evaluate(`(async () => {
      const token = sessionStorage.getItem('causeway.manage.token');
      const urls = ['/v1/users/${theirs}/connections', '/v1/users/${theirs}/connections/${connectionId}', '/v1/users/${theirs}/accounts'];
      return Promise.all(urls.map(async (u) => (await fetch(u, { headers: { authorization: 'Bearer ' + token } })).status));
    })()`);
    assert.deepEqual(answers, [404, 404, 404]);
    await context.close();
  });
});

describe('operator dashboard', () => {
  it('signs in, finds a connection, shows its masked profile and job steps, and purges it', async () => {
    const { userId, connectionId } = await linkedUser();
    const { context, page, errors } = await openPage(browser);
    await page.goto(`${server!.url}/dashboard`);
    await shots(page, 'dashboard-sign-in');
    await page.getByLabel('Email').fill('ops@example.com');
    await page.getByLabel('Password', { exact: true }).fill('wrong password');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByRole('alert').getByText(/email or password is not right/).waitFor();
    await page.getByLabel('Password', { exact: true }).fill(operatorPassword);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByRole('heading', { name: /Connections by status/ }).waitFor();
    await shots(page, 'dashboard-overview');

    await page.getByRole('tab', { name: 'Users' }).click();
    await page.getByLabel('Search users').fill(userId);
    await page.getByRole('button', { name: 'Search' }).click();
    const row = page.getByRole('row', { name: new RegExp(userId) });
    await row.getByRole('button', { name: 'Connections' }).click();
    await page.getByRole('button', { name: connectionId }).click();
    await page.getByRole('heading', { name: /Sandbox Web Bank/ }).waitFor();
    const profile = page.getByLabel('Identity profile (masked)');
    await profile.waitFor();
    const shown = await profile.innerText();
    const full = (await api.get(`/v1/users/${userId}/connections/${connectionId}/profile?unmasked=true`)).body;
    assert.ok(!shown.includes(full.emails[0].address) && !shown.includes(full.names[0]), 'PII is not shown in full');
    assert.match(shown, /\*\*\*/, 'but partially, masked');
    const history = page.getByRole('table', { name: 'Job history' });
    for (const step of ['Signing in to your bank', 'Fetching your accounts', 'Fetching your transactions']) await history.getByText(step).first().waitFor();
    assert.match(await history.innerText(), /success \(ok\), \d+(\.\d)? (ms|s)/, 'each step with its outcome and time');
    await page.getByRole('list', { name: 'Timeline' }).getByText(/connection\.created/).waitFor();
    await shots(page, 'dashboard-connection');

    await page.getByRole('button', { name: 'Purge data' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Purge' }).click();
    await page.getByText(/Purged:/).waitFor({ timeout: 10_000 });
    await page.getByText('No identity profile').waitFor();
    assert.deepEqual((await api.get(`/v1/users/${userId}/accounts`)).body.data, [], 'purged');

    await page.getByRole('tab', { name: 'Institutions' }).click();
    await page.getByRole('table', { name: 'Institutions' }).getByText('Sandbox Outage Bank').waitFor();
    await shots(page, 'dashboard-institutions');
    assert.deepEqual(errors, []);
    await context.close();
  });
});

describe('operator dashboard with an API key', () => {
  it('creates and deletes a user, and shows a webhook endpoint’s delivery log with resend and replay', async () => {
    const received: string[] = [];
    const receiver = http.createServer((req, res) => {
      received.push(String(req.headers['webhook-id']));
      req.resume();
      req.on('end', () => res.writeHead(200).end('ok'));
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    const hook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    const { context, page, errors } = await openPage(browser);
    try {
      await page.goto(`${server!.url}/dashboard`);
      await page.getByLabel('API key', { exact: true }).fill(key);
      await page.getByRole('button', { name: 'Sign in with the key' }).click();
      await page.getByRole('heading', { name: /Connections by status/ }).waitFor();

      await page.getByRole('tab', { name: 'Webhooks' }).click();
      await page.getByText('Add an endpoint').click();
      await page.getByLabel('URL').fill(hook);
      await page.getByRole('button', { name: 'Add endpoint' }).click();
      await page.getByText(/Signing secret \(shown only now\): whsec_/).waitFor();

      await page.getByRole('tab', { name: 'Users' }).click();
      await page.getByText('Create a user').click();
      await page.getByLabel('External id (optional)').fill('dash-user-1');
      await page.getByRole('button', { name: 'Create user' }).click();
      const created = page.getByText(/Created user usr_/);
      await created.waitFor();
      const userId = /usr_[a-z0-9]+/.exec(await created.innerText())![0];
      const row = page.getByRole('row', { name: new RegExp(userId) });
      await row.getByRole('button', { name: 'Delete' }).click();
      await page.getByRole('dialog').getByRole('button', { name: 'Delete user' }).click();
      await page.getByText(`Deleted user ${userId}`, { exact: false }).waitFor();
      assert.equal((await api.get(`/v1/users/${userId}`)).status, 404);

      await page.getByRole('tab', { name: 'Webhooks' }).click();
      await page.getByRole('button', { name: new RegExp(hook) }).click();
      const log = page.getByRole('table', { name: 'Deliveries' });
      for (let i = 0; i < 100 && received.length < 2; i++) await new Promise((r) => setTimeout(r, 50));
      assert.ok(received.length >= 2, `user.created and user.deleted arrived: ${received.length}`);
      await page.getByRole('button', { name: new RegExp(hook) }).click();
      await log.getByText('user.deleted').waitFor();
      await shots(page, 'dashboard-webhooks');
      const before = received.length;
      await log.getByRole('row', { name: /user\.deleted/ }).getByRole('button', { name: 'Resend' }).click();
      await page.getByText(/Sent evt_/).waitFor();
      for (let i = 0; i < 100 && received.length <= before; i++) await new Promise((r) => setTimeout(r, 50));
      assert.ok(received.length > before, 'the resend arrived');
      assert.equal(received.filter((id) => id === received.at(-1)).length, 2, 'with the same webhook-id as the first delivery');
      await page.getByRole('button', { name: 'Replay' }).click();
      await page.getByText(/Replaying \d+ events/).waitFor();
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
      receiver.close();
    }
  });
});
