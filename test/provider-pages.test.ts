/**
 * The connect widget with GoCardless and SimpleFIN, in a real browser: Debian's Chromium driven by
 * playwright-core against Causeway in-process (listening on a port) and the stateful fakes of
 * GoCardless (test/fakes/gocardless, whose requisition page stands in for the bank's consent page)
 * and of a SimpleFIN bridge (test/fakes/simplefin).
 *
 * GoCardless: the user finds their bank in the widget, goes to the bank's page in a new window,
 * approves, and the widget follows the first job to "connected"; the accounts are the bank's.
 * SimpleFIN: the user pastes a setup token; a token already used is refused on the same screen in
 * plain words, a fresh one connects; the manage page tells the user to remove Causeway at their
 * bridge before disconnecting. Screenshots go to test/artifacts/ (not committed).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { clientToken, connectionsOf, launchChromium, newPage as openPage, shots } from './helpers/browser.js';
import { startSimpleFinFake, type SimpleFinFake } from './fakes/simplefin/index.js';
import { startGoCardlessFake, type GoCardlessFake } from './fakes/gocardless/index.js';
import { startTestApp, type TestApp } from './helpers/app.js';
import { freePort, ROOT } from './helpers/process.js';
import { until } from './helpers/wait.js';

const BRIDGE = 'ins_simplefin_bridge';
const HARBOUR = 'ins_gocardless_HARBOUR_HRBRGB2L';

let simplefin: SimpleFinFake;
let gocardless: GoCardlessFake;
let t: TestApp;
let base: string;
let browser: Browser;

before(async () => {
  assert.ok(fs.existsSync(path.join(ROOT, 'dist/web/connect.html')), 'the pages are built: npm run build');
  simplefin = await startSimpleFinFake();
  gocardless = await startGoCardlessFake({ seed: 'pages' });
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  // The bridge fake listens on 127.0.0.1: user-supplied addresses there are allowed for the test only.
  t = await startTestApp({
    config: {
      publicUrl: base, allowPrivateAddresses: true,
      providerEnv: { CAUSEWAY_GOCARDLESS_SECRET_ID: gocardless.secretId, CAUSEWAY_GOCARDLESS_SECRET_KEY: gocardless.secretKey, CAUSEWAY_GOCARDLESS_URL: gocardless.url, CAUSEWAY_GOCARDLESS_COUNTRIES: 'GB' },
    },
  });
  await t.app.listen({ port, host: '127.0.0.1' });
  await until('the SimpleFIN bridge in the catalogue', async () => (await t.api('GET', `/v1/institutions/${BRIDGE}`)).status === 200, 30_000);
  await until('GoCardless banks in the catalogue', async () => (await t.api('GET', `/v1/institutions/${HARBOUR}`)).status === 200, 30_000);
  browser = await launchChromium();
});
after(async () => {
  await browser?.close().catch(() => {});
  await t?.close();
  await simplefin?.stop();
  await gocardless?.stop();
});

const tokenFor = (userId: string) => clientToken(t, userId);
const connections = (userId: string) => connectionsOf(t, userId);

describe('connect widget: GoCardless', () => {
  it('finds the bank, approves at its page in a new window, and follows the first sync to connected', async () => {
    const user = await t.createUser();
    const { context, page, errors } = await openPage(browser);
    await page.goto(`${base}/connect?token=${await tokenFor(user)}`);
    await page.getByLabel('Search').fill('harbour');
    await page.getByRole('list', { name: 'Banks' }).getByRole('button', { name: /Harbour Bank/ }).click();
    await page.getByRole('button', { name: 'Continue', exact: true }).click(); // the consent pane
    await page.getByRole('heading', { name: /Approve access at Harbour Bank/ }).waitFor();
    await shots(page, 'gocardless-consent');
    const opened = context.waitForEvent('page');
    await page.getByRole('button', { name: 'Continue to your bank' }).click();
    const bank = await opened;
    await bank.waitForURL(/\/psd2\/start\//);
    await bank.locator('#approve').click();
    await bank.waitForURL(/\/link\/return/);
    await page.getByRole('heading', { name: /Harbour Bank is connected/ }).waitFor({ timeout: 30_000 });
    await shots(page, 'gocardless-done');
    const [c] = (await connections(user)).filter((x) => x.status === 'active');
    assert.ok(c, 'an active connection');
    assert.equal(c.provider, 'gocardless');
    assert.ok(c.consent.expiresAt, 'the consent ends when the agreement does');
    const accounts = (await t.api('GET', `/v1/users/${user}/accounts?connectionId=${c.id}`)).body.data;
    assert.ok(accounts.length > 0, 'the bank’s accounts');
    assert.ok(c.refreshBudget.providerScopes.length > 0, 'GoCardless’s own call budget is shown');
    assert.deepEqual(errors, []);
    await context.close();
  });
});

describe('connect widget: SimpleFIN setup token', () => {
  it('refuses a used token in plain words, connects with a fresh one, and the manage page says what to remove at the bridge', async () => {
    const user = await t.createUser();
    const used = simplefin.setupToken();
    // Someone claimed this one already (the protocol's warning case).
    const first = await t.api('POST', `/v1/users/${user}/connections/import`, { provider: 'simplefin', accessUrl: await claim(used.claimUrl) });
    assert.equal(first.status, 202, JSON.stringify(first.body));
    await t.waitForJob(first.body.job.id);
    await t.api('DELETE', `/v1/users/${user}/connections/${first.body.connection.id}`);

    const { context, page, errors } = await openPage(browser);
    await page.goto(`${base}/connect?token=${await tokenFor(user)}`);
    await page.getByLabel('Search').fill('simplefin');
    await page.getByRole('list', { name: 'Banks' }).getByRole('button', { name: /SimpleFIN Bridge/ }).click();
    await page.getByRole('button', { name: 'Continue', exact: true }).click(); // the consent pane
    await page.getByRole('heading', { name: /Paste your SimpleFIN setup token/ }).waitFor();
    await shots(page, 'simplefin-paste');

    await page.getByRole('textbox', { name: 'Setup token' }).fill(used.token);
    await page.getByRole('button', { name: 'Connect' }).click();
    const refusal = page.getByRole('alert');
    await refusal.waitFor();
    assert.match(await refusal.innerText(), /already claimed|not valid|new one|new setup token/i, 'the refusal says what to do');
    assert.equal((await connections(user)).filter((c) => c.status !== 'deleted').length, 0, 'nothing created for a used token');

    const fresh = simplefin.setupToken();
    await page.getByRole('textbox', { name: 'Setup token' }).fill(fresh.token);
    await page.getByRole('button', { name: 'Connect' }).click();
    await page.getByRole('heading', { name: /SimpleFIN Bridge is connected/ }).waitFor({ timeout: 30_000 });
    await shots(page, 'simplefin-done');
    const [c] = (await connections(user)).filter((x) => x.status === 'active');
    assert.ok(c, 'an active connection');
    assert.equal(c.method, 'token');
    assert.match(c.revokeNotice, /SimpleFIN/);
    const accounts = (await t.api('GET', `/v1/users/${user}/accounts?connectionId=${c.id}`)).body.data;
    assert.ok(accounts.length > 0, 'the bridge’s accounts');
    assert.deepEqual(errors, []);

    // The manage page: disconnecting tells the user what Causeway cannot do for them.
    await page.goto(`${base}/manage?token=${await tokenFor(user)}`);
    await page.getByRole('button', { name: 'Disconnect' }).first().click();
    const dialog = page.getByRole('dialog');
    await dialog.waitFor();
    assert.match(await dialog.innerText(), /SimpleFIN/);
    await shots(page, 'simplefin-disconnect');
    await context.close();
  });
});

/** Claims a setup token the way an app that held it elsewhere did: the access URL it answers. */
async function claim(claimUrl: string): Promise<string> {
  const res = await fetch(claimUrl, { method: 'POST', headers: { 'content-length': '0' } });
  assert.equal(res.status, 200);
  return (await res.text()).trim();
}
