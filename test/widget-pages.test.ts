/**
 * The connect widget as a person meets it, in a real browser (Debian's Chromium driven by
 * playwright-core) against Causeway in-process, at phone (390 px) and desktop (1280 px) width:
 * the picker shows each bank's logo; the consent pane names the application (as its operator named
 * it), the bank, the data shared in plain words and for how long; a refused login offers "Choose
 * another bank", which returns to the picker in the same session, where a second bank links; Exit
 * (confirmed mid-link) posts `causeway.exit` to the page that embeds the widget; a bogus token says
 * the link has expired and to ask the app for a new one. On every screen (and on the manage page)
 * no label or button is clipped and no word is split across lines. Screenshots go to
 * /tmp/shots/widget-*.png.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { clientToken, connectionsOf, DESKTOP, launchChromium, PHONE } from './helpers/browser.js';
import { startTestApp, type TestApp } from './helpers/app.js';
import { freePort, ROOT } from './helpers/process.js';
import { updateApplication } from '../src/db/repos/applications.js';

const APP_NAME = 'Acme Budget';
const SHOTS = '/tmp/shots';

let t: TestApp;
let base: string;
let browser: Browser;
/** The app's own page, on another origin, embedding the widget and keeping the messages it gets. */
let host: http.Server;
let hostUrl: string;

before(async () => {
  assert.ok(fs.existsSync(path.join(ROOT, 'dist/web/connect.html')), 'the pages are built: npm run build');
  fs.mkdirSync(SHOTS, { recursive: true });
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  t = await startTestApp({ config: { publicUrl: base } });
  await t.app.listen({ port, host: '127.0.0.1' });
  const application = (await t.api('GET', '/v1/application')).body;
  await updateApplication(t.core.db, application.id, { name: APP_NAME });
  host = http.createServer((req, res) => {
    const src = new URL(req.url!, 'http://x').searchParams.get('src') ?? '';
    res.writeHead(200, { 'content-type': 'text/html' }).end(`<!doctype html><title>App</title><body style="margin:0">
      <script>window.got = []; window.addEventListener('message', (e) => window.got.push(e.data));</script>
      <iframe title="Connect" src="${src.replace(/"/g, '&quot;')}" style="width:100%;height:840px;border:0"></iframe>`);
  });
  await new Promise<void>((r) => host.listen(0, '127.0.0.1', r));
  hostUrl = `http://localhost:${(host.address() as AddressInfo).port}/`;
  browser = await launchChromium();
});
after(async () => {
  await browser?.close().catch(() => {});
  host?.close();
  await t?.close();
});

/**
 * What is clipped or split on the page as shown: a label, button, heading, paragraph or cell whose
 * content is wider than its box, or a word whose letters sit on two lines. Words are cut at spaces,
 * hyphens and slashes (a line may break there).
 */
const LAYOUT_PROBLEMS = `(() => {
  const problems = [];
  const shown = (el) => el.getClientRects().length > 0 && !el.closest('.sr-only') && getComputedStyle(el).visibility !== 'hidden';
  for (const el of document.querySelectorAll('button, label, h1, h2, h3, p, dt, dd, li, td, th, .badge, .logo, a.btn, .widget-app')) {
    if (!shown(el) || getComputedStyle(el).display === 'inline') continue;
    if (el.scrollWidth > el.clientWidth + 1) problems.push('clipped: ' + el.tagName + ' ' + (el.textContent || '').trim().slice(0, 60));
  }
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const parent = node.parentElement;
    if (!parent || !shown(parent) || ['SCRIPT', 'STYLE', 'TEXTAREA', 'OPTION'].includes(parent.tagName)) continue;
    const words = /[^\\s\\-\\u2013\\u2014\\/]+/g;
    for (let m = words.exec(node.data); m; m = words.exec(node.data)) {
      const range = document.createRange();
      range.setStart(node, m.index);
      range.setEnd(node, m.index + m[0].length);
      const tops = new Set([...range.getClientRects()].filter((r) => r.width > 0).map((r) => Math.round(r.top)));
      if (tops.size > 1) problems.push('split: ' + m[0]);
    }
  }
  if (document.documentElement.scrollWidth > document.documentElement.clientWidth + 1) problems.push('sideways scrolling');
  return problems;
})()`;

/**
 * At phone and at desktop width: `check` (what must show at both), a screenshot, and nothing clipped
 * or split. The page is left at phone width.
 */
async function look(page: Page, name: string, check: () => Promise<void> = async () => {}) {
  for (const viewport of [DESKTOP, PHONE]) {
    await page.setViewportSize(viewport);
    await check();
    await page.screenshot({ path: path.join(SHOTS, `widget-${name}-${viewport.width}.png`), fullPage: true });
    assert.deepEqual(await page.evaluate(LAYOUT_PROBLEMS), [], `${name} at ${viewport.width} px`);
  }
}

async function newPage() {
  const context = await browser.newContext({ viewport: PHONE });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  return { context, page, errors };
}

describe('connect widget at 390 and 1280 px', () => {
  it('shows logos, a consent pane naming the app, the bank, the data and how long; an error offers another bank, and the second bank links', async () => {
    const userId = await t.createUser();
    const { context, page, errors } = await newPage();
    await page.goto(`${base}/connect?token=${await clientToken(t, userId)}&state=abc`);
    await page.getByText(APP_NAME, { exact: true }).waitFor();
    const banks = page.getByRole('list', { name: 'Banks' });
    const web = banks.getByRole('button', { name: /Sandbox Web Bank/ });
    await web.waitFor();
    await look(page, 'pick', async () => {
      const items = await banks.getByRole('listitem').count();
      assert.ok(items >= 6, `the sandbox banks are listed (${items})`);
      assert.equal(await banks.locator('li .choice > .logo:visible').count(), items, 'each bank shows its logo (or its initials on its colour)');
      assert.equal(await web.locator('.logo').innerText(), 'WB');
      assert.equal(await web.locator('.logo').evaluate((e) => getComputedStyle(e).backgroundColor), 'rgb(194, 65, 12)', 'on the bank’s colour');
    });

    await web.click();
    const pane = page.getByRole('region', { name: `${APP_NAME} uses Causeway to connect your Sandbox Web Bank account` });
    await pane.waitFor();
    await look(page, 'consent', async () => {
      const shared = await pane.getByRole('list', { name: 'Data shared' }).innerText();
      for (const words of ['Accounts', 'Balances', 'Transactions', 'Identity']) assert.match(shared, new RegExp(words));
      await pane.getByText('Until you disconnect it.').waitFor();
      await pane.getByText(`It is never shared with ${APP_NAME}.`, { exact: false }).waitFor();
      await pane.getByRole('link', { name: 'the page to manage your connections' }).waitFor();
      assert.equal(await pane.locator('.logo:visible').count(), 1, 'the bank’s logo on the pane');
    });
    await pane.getByRole('button', { name: 'Back' }).click();
    // An openbanking bank: its consent lasts as long as the catalogue says.
    await banks.getByRole('button', { name: /Sandbox Open Bank/ }).click();
    await page.getByRole('region', { name: /connect your Sandbox Open Bank account/ }).getByText('Up to 365 days', { exact: false }).waitFor();
    await page.getByRole('button', { name: 'Back' }).click();
    await web.click();
    await pane.getByRole('button', { name: 'Continue' }).click();

    await page.getByLabel('Login').fill('user_good');
    await page.getByLabel('Password').fill('pass_bad');
    await page.getByRole('button', { name: 'Connect' }).click();
    await page.getByRole('alert').getByText('The bank did not accept the login or password.').waitFor({ timeout: 15_000 });
    await look(page, 'error', () => page.getByRole('button', { name: 'Choose another bank' }).waitFor());
    await page.getByRole('button', { name: 'Choose another bank' }).click();

    await page.getByRole('heading', { name: 'Choose your bank' }).waitFor();
    await banks.getByRole('button', { name: /Sandbox Universal Bank/ }).click();
    await page.getByRole('button', { name: /Sign in with your bank login/ }).click();
    await page.getByRole('region', { name: /connect your Sandbox Universal Bank account/ }).getByRole('button', { name: 'Continue' }).click();
    await page.getByLabel('Login').fill('user_good');
    await page.getByLabel('Password').fill('pass_good');
    await page.getByRole('button', { name: 'Connect' }).click();
    await page.getByRole('heading', { name: 'Sandbox Universal Bank is connected' }).waitFor({ timeout: 20_000 });
    await look(page, 'done');
    const linked = await connectionsOf(t, userId);
    assert.deepEqual(linked.map((c) => [c.institution.id, c.status]).sort(), [['ins_sandbox_universal', 'active'], ['ins_sandbox_web', 'failed']]);

    // The manage page, with both connections.
    await page.goto(`${base}/manage?token=${await clientToken(t, userId)}`);
    const card = page.getByRole('article', { name: 'Sandbox Universal Bank' });
    await card.getByRole('table', { name: /Accounts/ }).waitFor();
    await card.getByRole('button', { name: 'Details' }).click();
    await card.getByText(/Fetching your transactions/).first().waitFor();
    await look(page, 'manage', () => card.getByRole('columnheader', { name: 'Balance' }).waitFor());
    assert.deepEqual(errors, []);
    await context.close();
  });

  it('Exit tells the embedding page, after a confirmation mid-link', async () => {
    const userId = await t.createUser();
    const { context, page } = await newPage();
    const src = `${base}/connect?token=${await clientToken(t, userId)}&state=exit-1`;
    await page.goto(`${hostUrl}?${new URLSearchParams({ src })}`);
    const frame = page.frameLocator('iframe[title="Connect"]');
    await frame.getByRole('button', { name: /Sandbox Web Bank/ }).click();
    await frame.getByRole('region', { name: /connect your Sandbox Web Bank account/ }).waitFor();
    await frame.getByRole('button', { name: 'Exit' }).click();
    const dialog = frame.getByRole('dialog', { name: 'Exit without connecting Sandbox Web Bank?' });
    await look(page, 'exit-confirm', () => dialog.waitFor());
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    assert.deepEqual(await page.evaluate('window.got'), [], 'nothing is said while the user stays');
    await frame.getByRole('button', { name: 'Exit' }).click();
    await dialog.getByRole('button', { name: 'Exit' }).click();
    await page.waitForFunction('window.got.length > 0');
    assert.deepEqual(await page.evaluate('window.got'), [{
      type: 'causeway.exit', state: 'exit-1', reason: 'user_exit', institutionId: 'ins_sandbox_web', connectionId: null, status: null,
    }]);
    await frame.getByRole('heading', { name: 'You left without connecting a bank' }).waitFor();
    await context.close();
  });

  it('a bogus token says the link has expired and to ask the app for a new one', async () => {
    const { context, page, errors } = await newPage();
    await page.goto(`${base}/connect?token=ct_${'x'.repeat(40)}`);
    await page.getByRole('heading', { name: 'This link has expired' }).waitFor();
    await look(page, 'expired', () => page.getByText('ask for a new link', { exact: false }).waitFor());
    assert.equal(await page.getByText(/client token|unauthenticated|HTTP 401/i).count(), 0, 'no raw error');
    assert.deepEqual(errors, []);
    await context.close();
  });
});
