/**
 * The connect widget and the manage page with Plaid, in a real browser: Debian's Chromium driven by
 * playwright-core against Causeway in-process (listening on a port) and the stateful Plaid fake
 * (test/fakes/plaid), whose Hosted Link page stands in for Plaid's.
 *
 * The widget searches the catalogue on the server a page at a time, shows First Platypus Bank's
 * logo (a data: URI from Plaid's catalogue), links it through Hosted Link in a new window and
 * follows the job to the end; leaving Plaid's page is "Not connected" in plain words with "Try
 * again" on the same connection; linking a bank already connected says so. The manage page shows a
 * login broken at Plaid (ITEM_LOGIN_REQUIRED webhook) in plain words and fixes it in Plaid's update
 * mode on the same connection and Item, as the widget does from a mode=repair link. Screenshots go
 * to test/artifacts/ (not committed).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { clientToken, connectionsOf, launchChromium, newPage as openPage, shots } from './helpers/browser.js';
import { startPlaidFake, type PlaidFake } from './fakes/plaid/index.js';
import { startTestApp, type TestApp } from './helpers/app.js';
import { freePort, ROOT } from './helpers/process.js';
import { until } from './helpers/wait.js';

const PLATYPUS = 'ins_plaid_109508';

let fake: PlaidFake;
let t: TestApp;
let base: string;
let browser: Browser;

before(async () => {
  assert.ok(fs.existsSync(path.join(ROOT, 'dist/web/connect.html')), 'the pages are built: npm run build');
  fake = await startPlaidFake();
  // Plaid sends the user back to the public address (and its webhooks there): the port is chosen first.
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  t = await startTestApp({
    config: { publicUrl: base, providerEnv: { CAUSEWAY_PLAID_CLIENT_ID: fake.clientId, CAUSEWAY_PLAID_SECRET: fake.secret, CAUSEWAY_PLAID_URL: fake.url } },
  });
  await t.app.listen({ port, host: '127.0.0.1' });
  // The worker syncs Plaid's catalogue at start.
  await until('the Plaid catalogue', async () => (await t.api('GET', `/v1/institutions/${PLATYPUS}`)).status === 200, 30_000);
  browser = await launchChromium();
});
after(async () => {
  await browser?.close().catch(() => {});
  await t?.close();
  await fake?.close();
});

const tokenFor = (userId: string) => clientToken(t, userId);
const connections = (userId: string) => connectionsOf(t, userId);

/** Searches the widget's list for First Platypus Bank (on the server) and answers its button. */
async function findPlatypus(page: Page) {
  const searched = page.waitForResponse((r) => r.url().includes('/v1/institutions?') && new URL(r.url()).searchParams.get('search') === 'platypus');
  await page.getByLabel('Search').fill('platypus');
  assert.equal((await searched).status(), 200, 'the search is the server’s');
  const bank = page.getByRole('list', { name: 'Banks' }).getByRole('button', { name: /First Platypus Bank/ });
  await bank.waitFor();
  return bank;
}

/** Clicks the button that opens Plaid's page and answers that window, once it shows the Hosted Link page. */
async function openPlaid(context: BrowserContext, click: () => Promise<void>): Promise<Page> {
  const opened = context.waitForEvent('page');
  await click();
  const popup = await opened;
  await popup.waitForURL(/\/hl\/link-/);
  return popup;
}

/** A user with First Platypus Bank linked through Hosted Link by the API (the form posted as the browser would), and the fake's Item. */
async function linkedUser(): Promise<{ userId: string; connectionId: string; itemId: string }> {
  const userId = await t.createUser();
  const items = new Set(fake.items().map((i) => i.itemId));
  const res = await t.api('POST', `/v1/users/${userId}/connections`, { institutionId: PLATYPUS, method: 'hosted' });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  const submitted = await fetch(res.body.link.url, { method: 'POST', body: new URLSearchParams({ action: 'success' }), redirect: 'manual' });
  assert.equal(submitted.status, 303);
  assert.equal((await fetch(submitted.headers.get('location')!)).status, 200);
  const connectionId = res.body.connection.id;
  const [job] = (await t.api('GET', `/v1/users/${userId}/connections/${connectionId}/jobs`)).body.data;
  assert.equal((await t.waitForJob(job.id)).status, 'succeeded');
  const item = fake.items().find((i) => !items.has(i.itemId));
  assert.ok(item, 'the link made an Item at Plaid');
  return { userId, connectionId, itemId: item.itemId };
}

describe('connect widget with Plaid Hosted Link', () => {
  it('finds First Platypus Bank through the server’s search, shows its logo, links it at Plaid in a new window and follows the job', async () => {
    const userId = await t.createUser();
    const { context, page, errors } = await openPage(browser);
    await page.goto(`${base}/connect?token=${await tokenFor(userId)}`);
    await page.getByRole('heading', { name: 'Choose your bank' }).waitFor();
    const banks = page.getByRole('list', { name: 'Banks' });
    assert.equal(await banks.getByRole('listitem').count(), 20, 'a page of banks, not the whole catalogue');
    await shots(page, 'plaid-connect-pick');
    await page.getByRole('button', { name: 'Show more banks' }).click();
    await until('the next page', async () => (await banks.getByRole('listitem').count()) === 40);
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('data-institution')),
      await banks.getByRole('listitem').nth(20).getByRole('button').getAttribute('data-institution'), 'focus moves to the first bank of the new page');

    const bank = await findPlatypus(page);
    assert.equal(await banks.getByRole('listitem').count(), 1);
    await bank.getByText('Through Plaid').waitFor();
    const logo = bank.getByRole('img', { name: 'First Platypus Bank logo' });
    const catalogued = (await t.api('GET', `/v1/institutions/${PLATYPUS}`)).body;
    assert.match(catalogued.logo, /^data:image\/png;base64,/);
    assert.equal(await logo.getAttribute('src'), catalogued.logo, 'the logo is the catalogue’s data: URI');
    assert.ok(await logo.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0), 'and it is drawn (the page’s CSP allows it)');
    // A bank without a logo: its initials on its colour, or on the default one.
    await page.getByLabel('Search').fill('gingham');
    const plain = banks.getByRole('button', { name: /First Gingham Credit Union/ });
    await plain.waitFor();
    assert.equal(await plain.getByRole('img').count(), 0);
    assert.equal(await plain.locator('.logo').innerText(), 'FG');

    await (await findPlatypus(page)).click();
    await page.getByRole('button', { name: 'Continue', exact: true }).click(); // the consent pane
    await page.getByRole('heading', { name: 'Connect First Platypus Bank through Plaid' }).waitFor();
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Continue to Plaid', 'focus is on the way forward');
    assert.deepEqual(await connections(userId), [], 'nothing is created before the user continues');
    // The first sync page is slow, so the steps can be seen.
    fake.delay('/transactions/sync', 1500, 1);
    const popup = await openPlaid(context, () => page.getByRole('button', { name: 'Continue to Plaid' }).click());
    assert.equal(await popup.locator('#institution-name').innerText(), 'First Platypus Bank', 'Plaid’s page has the bank chosen already');
    await page.getByText('Waiting for Plaid…').waitFor();
    await popup.locator('#continue').click();
    await popup.getByRole('heading', { name: 'Bank connected' }).waitFor();
    const progress = page.getByRole('list', { name: 'Progress' });
    await progress.waitFor({ timeout: 15_000 });
    await progress.getByText('Fetching your transactions').waitFor();
    await shots(page, 'plaid-connect-progress');
    await page.getByRole('heading', { name: 'First Platypus Bank is connected' }).waitFor({ timeout: 20_000 });
    await shots(page, 'plaid-connect-done');
    const [c] = await connections(userId);
    assert.deepEqual([c.status, c.method, c.provider, c.institution.id], ['active', 'hosted', 'plaid', PLATYPUS]);
    assert.ok((await t.api('GET', `/v1/users/${userId}/accounts`)).body.data.length > 0, 'the accounts came');
    assert.deepEqual(errors, []);
    await context.close();
  });

  it('leaving Plaid’s page is “Not connected” in plain words, and Try again links the same connection', async () => {
    const userId = await t.createUser();
    const { context, page, errors } = await openPage(browser);
    await page.goto(`${base}/connect?token=${await tokenFor(userId)}`);
    await (await findPlatypus(page)).click();
    await page.getByRole('button', { name: 'Continue', exact: true }).click(); // the consent pane
    const left = await openPlaid(context, () => page.getByRole('button', { name: 'Continue to Plaid' }).click());
    await left.locator('#exit').click();
    await left.getByRole('heading', { name: 'Not connected' }).waitFor();
    const alert = page.getByRole('alert');
    await alert.getByText('Not connected').waitFor({ timeout: 15_000 });
    await alert.getByText('Nothing was shared: the sign-in at Plaid was not finished.').waitFor();
    const tryAgain = page.getByRole('button', { name: 'Try again' });
    assert.equal(await tryAgain.evaluate((b) => b === document.activeElement), true, 'focus is on Try again');
    await shots(page, 'plaid-connect-exited');
    const [failed] = await connections(userId);
    assert.deepEqual([failed.status, failed.statusReason], ['failed', 'authorization_denied']);

    await tryAgain.click();
    const again = await openPlaid(context, () => page.getByRole('button', { name: 'Continue to Plaid' }).click());
    await again.locator('#continue').click();
    await page.getByRole('heading', { name: 'First Platypus Bank is connected' }).waitFor({ timeout: 20_000 });
    assert.deepEqual((await connections(userId)).map((c) => [c.id, c.status]), [[failed.id, 'active']], 'the same connection, now active');
    assert.deepEqual(errors, []);
    await context.close();
  });

  it('linking a bank the user already connected says so in plain words, and the first connection stays', async () => {
    const { userId, connectionId } = await linkedUser();
    const { context, page, errors } = await openPage(browser);
    await page.goto(`${base}/connect?token=${await tokenFor(userId)}`);
    await (await findPlatypus(page)).click();
    await page.getByRole('button', { name: 'Continue', exact: true }).click(); // the consent pane
    const popup = await openPlaid(context, () => page.getByRole('button', { name: 'Continue to Plaid' }).click());
    await popup.locator('#continue').click();
    await page.getByRole('heading', { name: 'First Platypus Bank was already connected' }).waitFor({ timeout: 15_000 });
    await page.getByText('You had already connected this bank, so that connection is being updated instead.').waitFor();
    const all = await connections(userId);
    assert.deepEqual(all.map((c) => [c.id === connectionId, c.status, c.statusReason]).sort(),
      [[false, 'failed', 'duplicate_connection'], [true, 'active', null]].sort());
    assert.deepEqual(errors, []);
    await context.close();
  });
});

/** Breaks the Item's login at Plaid and tells Causeway by Plaid's ERROR webhook; answers once the connection shows it. */
async function breakLogin(userId: string, connectionId: string, itemId: string): Promise<void> {
  fake.setItemError(itemId, 'ITEM_LOGIN_REQUIRED');
  assert.equal((await fake.fireWebhook(itemId, { webhook_code: 'ERROR' })).status, 200);
  await until('reconnect_required', async () => (await t.api('GET', `/v1/users/${userId}/connections/${connectionId}`)).body.status === 'reconnect_required');
}

describe('connect widget, mode=repair, with Plaid', () => {
  it('fixes a hosted connection in Plaid’s update mode from the repair answer’s link', async () => {
    const { userId, connectionId, itemId } = await linkedUser();
    await breakLogin(userId, connectionId, itemId);
    const { context, page, errors } = await openPage(browser);
    await page.goto(`${base}/connect?${new URLSearchParams({ token: await tokenFor(userId), mode: 'repair', connectionId })}`);
    await page.getByRole('heading', { name: 'Fix your connection' }).waitFor();
    const popup = await openPlaid(context, () => page.getByRole('button', { name: 'Continue to Plaid' }).click());
    await popup.getByRole('heading', { name: 'Reconnect your account' }).waitFor();
    await popup.locator('#continue').click();
    await page.getByRole('heading', { name: 'First Platypus Bank is connected' }).waitFor({ timeout: 20_000 });
    assert.deepEqual((await connections(userId)).map((c) => [c.id, c.status]), [[connectionId, 'active']]);
    assert.equal(fake.item(itemId).error, null);
    assert.deepEqual(errors, []);
    await context.close();
  });
});

describe('manage page with Plaid', () => {
  it('shows a login broken at Plaid in plain words with the bank’s logo, and fixes it in update mode on the same connection', async () => {
    const { userId, connectionId, itemId } = await linkedUser();
    await breakLogin(userId, connectionId, itemId);

    const { context, page, errors } = await openPage(browser);
    await page.goto(`${base}/manage?token=${await tokenFor(userId)}`);
    const card = page.getByRole('article', { name: 'First Platypus Bank' });
    await card.getByText('Needs your attention', { exact: true }).waitFor();
    await card.getByText('Your bank needs you to sign in again through Plaid. Fix the connection to start updating again.').waitFor();
    await card.getByText('Linked through').waitFor();
    const logo = card.getByRole('img', { name: 'First Platypus Bank logo' });
    await logo.waitFor();
    assert.match((await logo.getAttribute('src'))!, /^data:image\/png;base64,/);
    await shots(page, 'plaid-manage-broken');

    const items = fake.items().length;
    const popup = await openPlaid(context, () => card.getByRole('button', { name: 'Fix' }).click());
    await popup.getByRole('heading', { name: 'Reconnect your account' }).waitFor(); // Plaid's update mode
    await card.getByText('Waiting for Plaid… Finish in the new window.').waitFor();
    await popup.locator('#continue').click();
    await card.getByText('Connected', { exact: true }).waitFor({ timeout: 20_000 });
    await shots(page, 'plaid-manage-fixed');

    const all = await connections(userId);
    assert.deepEqual(all.map((c) => [c.id, c.status]), [[connectionId, 'active']], 'the same connection, active again');
    assert.equal(fake.items().length, items, 'the same Item at Plaid (update mode)');
    assert.equal(fake.item(itemId).error, null, 'its login works again');
    const jobs = (await t.api('GET', `/v1/users/${userId}/connections/${connectionId}/jobs`)).body.data;
    assert.deepEqual([jobs[0].type, jobs[0].status], ['repair', 'succeeded']);
    assert.deepEqual(errors, []);
    await context.close();
  });
});
