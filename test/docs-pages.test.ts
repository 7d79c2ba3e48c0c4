/**
 * The documentation pages (src/http/pages/docs.ts): the error catalogue has a section for every
 * code, and the `type` of a real problem lands on it; the API reference (Scalar) renders the
 * server's own document in Chromium with nothing fetched from outside this server. Screenshots at
 * desktop and phone width go to test/artifacts/ (not committed).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { ERROR_CATALOGUE, type ErrorCode } from '../src/domain/errors.js';
import { startTestApp, type TestApp } from './helpers/app.js';
import { DESKTOP, launchChromium, newPage, PHONE, shots } from './helpers/browser.js';

const CODES = Object.keys(ERROR_CATALOGUE) as ErrorCode[];
/** What a reader sees of some HTML: the tags gone, the entities read. */
const text = (html: string) => html.replace(/<[^>]+>/g, '').replace(/&#(\d+);/g, (_, n) => String.fromCharCode(Number(n)));

describe('documentation pages', () => {
  let t: TestApp;
  let base: string;
  let browser: Browser;
  before(async () => {
    t = await startTestApp({ worker: false });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close().catch(() => {});
    await t.close();
  });

  const page = async (url: string) => {
    const res = await t.app.inject({ method: 'GET', url });
    return { status: res.statusCode, headers: res.headers, body: res.body };
  };
  /** The HTML of the section with this id: from its opening tag to the next section's. */
  const section = (html: string, id: string) => {
    const start = html.indexOf(`<section class="code" id="${id}"`);
    return start < 0 ? null : html.slice(start, html.indexOf('</section>', start));
  };

  it('lists every code of the catalogue once, with its status, title and what to do, without scripts', async () => {
    const res = await page('/docs/errors');
    assert.equal(res.status, 200);
    assert.match(String(res.headers['content-type']), /^text\/html/);
    assert.match(String(res.headers['content-security-policy']), /default-src 'none'/);
    assert.doesNotMatch(res.body, /<script/i);
    for (const code of CODES) {
      assert.equal(res.body.split(`id="${code}"`).length - 1, 1, `one anchor for ${code}`);
      const s = section(res.body, code);
      assert.ok(s, `a section for ${code}`);
      const entry = ERROR_CATALOGUE[code];
      assert.ok(s.includes(`>${entry.status}<`), `${code} shows ${entry.status}`);
      assert.ok(text(s).includes(entry.title), `${code} shows its title`);
      assert.ok(entry.fix.length > 20 && text(s).includes(`What to do: ${entry.fix.replace(/`/g, '')}`), `${code} says what to do`);
    }
    assert.equal((res.body.match(/<section class="code"/g) ?? []).length, CODES.length, 'no section for a code the catalogue lacks');
    assert.match(res.body, /<a href="\/docs"/, 'links the API reference');
  });

  it('resolves the type of real problems to their section of the catalogue', async () => {
    const problems = [
      await t.api('GET', '/v1/no-such-thing'),
      await t.app.inject({ method: 'GET', url: '/v1/users' }).then((r) => ({ status: r.statusCode, body: r.json() })),
      await t.api('POST', '/v1/users', { email: 'not an email' }),
      await t.api('GET', '/v1/users/usr_missing'),
      await t.api('POST', '/v1/users', '{"broken'),
    ];
    const html = (await page('/docs/errors')).body;
    assert.deepEqual(problems.map((p) => p.body.code), ['route_not_found', 'unauthenticated', 'validation_failed', 'not_found', 'malformed_json']);
    for (const p of problems) {
      const target = new URL(p.body.type, `${base}/v1/users`);
      assert.equal(`${target.origin}${target.pathname}`, `${base}/docs/errors`, `${p.body.code}: type ${p.body.type} points at the catalogue`);
      assert.equal(target.hash, `#${p.body.code}`);
      const s = section(html, p.body.code);
      assert.ok(s?.includes(`>${p.status}<`), `${p.body.code}'s section shows the status it was answered with (${p.status})`);
    }
  });

  it('lands on the code at phone width, readable without sideways scrolling', async () => {
    const { context, page: tab, errors } = await newPage(browser);
    try {
      await tab.goto(`${base}/docs/errors#invalid_state`);
      const target = tab.locator('#invalid_state');
      await target.getByRole('heading', { name: 'invalid_state' }).waitFor();
      assert.ok(await target.evaluate((e) => { const r = e.getBoundingClientRect(); return r.top >= 0 && r.top < innerHeight; }), 'the section is in view');
      await shots(tab, 'docs-errors');
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
    }
  });

  it('renders the API reference from /openapi.json in Chromium with nothing fetched from outside this server', async () => {
    const { context, page: tab, errors } = await newPage(browser);
    const requested: string[] = [];
    const refused: string[] = [];
    try {
      context.on('request', (r) => { requested.push(r.url()); });
      tab.on('console', (m) => { if (/Content Security Policy|Refused to/i.test(m.text())) refused.push(m.text()); });
      const res = await tab.goto(`${base}/docs`, { waitUntil: 'domcontentloaded', timeout: 90_000 });
      assert.equal(res?.status(), 200);
      assert.match(String(res?.headers()['content-security-policy']), /script-src 'self'/);
      // Scalar renders in the browser; on a busy machine that takes a while.
      await tab.getByRole('heading', { name: 'Causeway API', level: 1 }).waitFor({ timeout: 90_000 });
      await tab.getByRole('button', { name: 'connections' }).first().click();
      await tab.getByText('Create a connection').first().click();
      await tab.getByRole('heading', { name: 'Create a connection' }).waitFor({ timeout: 30_000 });
      assert.ok(requested.some((u) => u === `${base}/openapi.json`), 'the reference reads the server\'s own document');
      assert.ok(requested.some((u) => u === `${base}/docs/js/scalar.js`), 'its script comes from this server');
      const link = tab.getByRole('link', { name: 'Error catalogue' });
      assert.equal(await link.getAttribute('href'), '/docs/errors');
      await shots(tab, 'docs-reference');
      // On a phone Scalar's sticky header names the section in view on one line: which section that
      // is depends on timing, so the longest title is put there by hand; it must not widen the page.
      await tab.setViewportSize(PHONE);
      const title = tab.locator('.t-doc__header header .whitespace-nowrap').first();
      await title.waitFor({ state: 'attached' });
      await title.evaluate((e) => { e.textContent = 'Delete a user with every connection and all their data, the longest title of the reference and then some'; });
      assert.equal(await tab.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth), 0, 'a long title in the phone header does not widen the page');
      await tab.setViewportSize(DESKTOP);
      assert.deepEqual(requested.filter((u) => !u.startsWith(`${base}/`) && !/^(data|blob):/.test(u)), [], 'no request leaves this server');
      assert.deepEqual(refused, [], 'the content security policy lets the reference run');
      assert.deepEqual(errors, []);
      await link.click();
      await tab.getByRole('heading', { name: 'Error catalogue' }).waitFor();
    } finally {
      await context.close();
    }
  });

  it('keeps the documentation routes out of the OpenAPI document, and / names them', async () => {
    const paths = Object.keys(JSON.parse((await page('/openapi.json')).body).paths);
    assert.ok(paths.length > 40, 'the document lists the API');
    assert.deepEqual(paths.filter((p) => !p.startsWith('/v1/')), []);
    assert.match((await page('/')).body, /\/docs\b.*\/docs\/errors/);
  });
});
