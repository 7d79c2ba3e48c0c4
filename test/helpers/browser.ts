/** Debian's Chromium driven by playwright-core, for the page tests: launch, a fresh page, screenshots at two widths. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { ROOT } from './process.js';
import type { TestApp } from './app.js';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const ARTIFACTS = path.join(ROOT, 'test/artifacts');
export const DESKTOP = { width: 1280, height: 900 };
export const PHONE = { width: 390, height: 844 };

/** Chromium, after checking it is installed; screenshots go to test/artifacts/ (not committed). */
export async function launchChromium(): Promise<Browser> {
  assert.ok(fs.existsSync(CHROMIUM), `Chromium is needed at ${CHROMIUM}: apt-get install -y chromium (.ci/run does)`);
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** A page in its own context at desktop width, collecting uncaught page errors. */
export async function newPage(browser: Browser): Promise<{ context: BrowserContext; page: Page; errors: string[] }> {
  const context = await browser.newContext({ viewport: DESKTOP });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  return { context, page, errors };
}

/** The page as it is now, at desktop and at phone width; no sideways scrolling on a phone (the widest elements named if there is). */
export async function shots(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}-desktop.png`), fullPage: true });
  await page.setViewportSize(PHONE);
  // A page laid out by its own script (the API reference) re-renders after the resize: let it settle
  // (at most 20 s: on a busy machine its script waits its turn) before judging; one that still
  // scrolls sideways then fails below.
  await page.waitForFunction(() => document.documentElement.scrollWidth - document.documentElement.clientWidth <= 1, undefined, { timeout: 20_000 }).catch(() => {});
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}-phone.png`), fullPage: true });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  // The culprits: visible elements past the right edge that no ancestor of theirs scrolls or clips
  // (a wide table or code block in its own scroller does not widen the page).
  const wide = overflow > 1 ? await page.evaluate(`[...document.querySelectorAll('body *')].filter((e) => {
      if (e.getBoundingClientRect().right <= document.documentElement.clientWidth + 1 || !e.checkVisibility()) return false;
      for (let a = e.parentElement; a && a !== document.body; a = a.parentElement) if (getComputedStyle(a).overflowX !== 'visible') return false;
      return true;
    }).slice(0, 5).map((e) => e.tagName + '.' + e.className + ': ' + (e.textContent || '').slice(0, 40))`) : [];
  assert.ok(overflow <= 1, `${name}: no sideways scrolling at phone width (${overflow} px too wide: ${JSON.stringify(wide)})`);
  await page.setViewportSize(DESKTOP);
}

/** A client token for the pages (connect and manage by default), as the app's server would mint it. */
export async function clientToken(t: Pick<TestApp, 'api'>, userId: string, scopes = ['connect', 'manage']): Promise<string> {
  const res = await t.api('POST', `/v1/users/${userId}/client-tokens`, { scopes });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body.token;
}

/** The user's connections, as the API lists them. */
export async function connectionsOf(t: Pick<TestApp, 'api'>, userId: string): Promise<any[]> {
  return (await t.api('GET', `/v1/users/${userId}/connections`)).body.data;
}
