/**
 * The operator dashboard in Chromium at 1280 and 390 px, on realistic data: named users, two dozen
 * connections (active, wrong password, locked account, bank outage), webhook deliveries that
 * succeed and that fail. On every page at both widths: no text clipped or overflowing its box, no
 * word split across lines, no sideways scrolling; the charts have named axes, a legend and a
 * colour per status. The connections list runs newest first with the user's name, and pages on
 * and back; the delivery log filters by outcome and event type, pages, and shows a payload.
 * Screenshots go to /tmp/shots/dashboard-*.png (CAUSEWAY_SHOTS overrides the folder).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { DESKTOP, launchChromium, newPage, PHONE } from './helpers/browser.js';
import { client, createStorage, type Server, startServer, type Storage, tearDown } from './helpers/process.js';

const SHOTS = process.env.CAUSEWAY_SHOTS ?? '/tmp/shots';
const WIDTHS = [DESKTOP, PHONE];

let storage: Storage;
let server: Server | null = null;
let receiver: http.Server;
let browser: Browser;
let api: ReturnType<typeof client>;
let key: string;
let endpointId: string;
const people = [
  { name: 'Ada Lovelace', email: 'ada.lovelace@example.com', externalId: 'cust-1001' },
  { name: 'Grace Hopper', email: 'grace@example.org', externalId: 'cust-1002' },
  { name: 'Katherine Johnson', email: 'katherine.johnson@example.net', externalId: 'cust-1003' },
  { name: 'Alan Turing', email: 'alan.turing@example.co.uk', externalId: 'cust-1004' },
  { name: 'Hedy Lamarr', email: 'hedy@example.com', externalId: 'cust-1005' },
  { name: null, email: 'no.name@example.com', externalId: 'cust-1006' },
];
/** Every connection made, oldest first: its id and its user's name or email. */
const made: { id: string; who: string }[] = [];

before(async () => {
  storage = await createStorage('causeway-dashboard-');
  // An empty database: the server prints its first API key (no CLI run before it, one start of the database).
  server = await startServer(storage.env({
    CAUSEWAY_SANDBOX_LATENCY_MS: '0', CAUSEWAY_RETRY_DELAY_SECONDS: '0', CAUSEWAY_RETRY_LIMIT: '0', CAUSEWAY_ALLOW_PRIVATE_ADDRESSES: 'true',
  }), { timeoutMs: 180_000 });
  assert.match(server.printedKey ?? '', /^sk_sandbox_/);
  key = server.printedKey!;
  api = client(server.url, key);
  // The receiver takes every event but job.failed, which it answers 500 (those deliveries wait for their retry).
  receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => res.writeHead(/"type":"job\.failed"/.test(body) ? 500 : 200).end('ok'));
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  const ep = await api.post('/v1/webhook-endpoints', { url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks/causeway` });
  assert.equal(ep.status, 201, ep.text);
  endpointId = ep.body.id;

  const jobs: string[] = [];
  for (const [i, p] of people.entries()) {
    const userId = await api.createUser({ ...(p.name ? { name: p.name } : {}), email: p.email, externalId: p.externalId });
    const failure = [
      { institutionId: 'ins_sandbox_web', login: 'user_locked', password: 'pass_good' }, // account_locked
      { institutionId: 'ins_sandbox_web', login: 'jo.bloggs', password: 'not-it' }, // invalid_credentials
      { institutionId: 'ins_sandbox_outage', login: 'user_good', password: 'pass_good' }, // institution_unavailable
    ][i % 3]!;
    for (const c of [
      { institutionId: i % 3 === 0 ? 'ins_sandbox_mfa' : 'ins_sandbox_web', login: 'user_good', password: 'pass_good' },
      { institutionId: 'ins_sandbox_universal', login: 'user_new_accounts', password: 'pass_good' },
      { institutionId: 'ins_sandbox_slow', login: 'user_expiring', password: 'pass_good' },
      failure,
    ]) {
      const res = await api.post(`/v1/users/${userId}/connections`, { institutionId: c.institutionId, method: 'web', credentials: { login: c.login, password: c.password } });
      assert.equal(res.status, 202, res.text);
      made.push({ id: res.body.connection.id, who: p.name ?? p.email });
      jobs.push(res.body.job.id);
    }
  }
  // user_good at the MFA bank waits for its code: every other job finishes.
  for (const j of jobs) await api.waitForJob(j, { until: (job) => !['queued', 'running'].includes(job.status) || job.mfa, timeoutMs: 120_000 });
  // Deliveries: more than a page, some failed (answered 500), most succeeded.
  for (let i = 0; i < 200; i++) {
    const all = (await api.get(`/v1/webhook-endpoints/${endpointId}/deliveries?limit=100`)).body.data as any[];
    if (all.length > 25 && all.some((d) => d.lastStatusCode === 500) && all.filter((d) => d.status === 'succeeded').length > 20) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  fs.mkdirSync(SHOTS, { recursive: true });
  browser = await launchChromium();
});
after(async () => {
  await browser?.close().catch(() => {});
  receiver?.close();
  await tearDown(server, storage);
});

/** Boxes too small for their text, words split across lines, chart labels cut off at the SVG's edge. */
const LAYOUT_PROBLEMS = `(() => {
  const problems = [];
  const hidden = '.sr-only, dialog:not([open]), script, style';
  const sel = 'td, th, label, .badge, dt, dd, h1, h2, h3, button, .legend li, .pager, .sub, summary, .table-wrap, .card, p, li';
  for (const el of document.querySelectorAll(sel)) {
    if (el.closest(hidden)) continue;
    const cs = getComputedStyle(el);
    const r = el.getBoundingClientRect();
    if (cs.display === 'inline' || cs.display === 'none' || r.width === 0) continue;
    if (el.scrollWidth > el.clientWidth + 1) problems.push('too narrow for its text: ' + el.tagName + '.' + el.className + ' "' + (el.textContent || '').trim().slice(0, 50) + '" (' + el.scrollWidth + ' > ' + el.clientWidth + ')');
  }
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const parent = n.parentElement;
    if (!parent || parent.closest(hidden + ', pre, svg, .url, .endpoints')) continue; // URLs may break anywhere
    const text = n.textContent || '';
    for (const m of text.matchAll(/[^\\s\\-–—]+/g)) {
      const range = document.createRange();
      range.setStart(n, m.index);
      range.setEnd(n, m.index + m[0].length);
      const tops = [...range.getClientRects()].filter((r) => r.width > 0.5).map((r) => r.top);
      if (tops.length > 1 && Math.max(...tops) - Math.min(...tops) > 3) problems.push('word split across lines: "' + m[0] + '" in ' + parent.tagName + '.' + parent.className);
    }
  }
  for (const svg of document.querySelectorAll('.chart .recharts-wrapper > svg')) {
    const b = svg.getBoundingClientRect();
    for (const t of svg.querySelectorAll('text')) {
      const r = t.getBoundingClientRect();
      if (r.width > 0 && (r.left < b.left - 1 || r.right > b.right + 1 || r.top < b.top - 1 || r.bottom > b.bottom + 1)) problems.push('chart label cut at the edge: "' + t.textContent + '"');
    }
  }
  const sideways = document.documentElement.scrollWidth - document.documentElement.clientWidth;
  if (sideways > 1) problems.push('the page scrolls sideways by ' + sideways + ' px');
  return problems;
})()`;

async function checkLayout(page: Page, name: string): Promise<void> {
  const width = page.viewportSize()!.width;
  await page.mouse.move(0, 0); // no tooltip left open where the last click was
  await page.screenshot({ path: path.join(SHOTS, `dashboard-${name}-${width}.png`), fullPage: true });
  assert.deepEqual(await page.evaluate(LAYOUT_PROBLEMS), [], `${name} at ${width} px`);
}

/** Waits until a script (evaluated in the page: its policy forbids eval, so no waitForFunction) says true. */
async function until(page: Page, script: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await page.evaluate(script))) {
    if (Date.now() > deadline) assert.fail(`still not true after ${timeoutMs} ms: ${script}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function signIn(page: Page): Promise<void> {
  await page.goto(`${server!.url}/dashboard`);
  await page.getByLabel('API key', { exact: true }).fill(key);
  await page.getByRole('button', { name: 'Sign in with the key' }).click();
  await page.getByRole('heading', { name: /Connections by status/ }).waitFor();
}

/** The connection ids of the list's rows, as shown. */
const listedIds = (page: Page) => page.getByRole('table', { name: 'Connections' }).locator('tbody td:first-child code.sub').allInnerTexts();

describe('operator dashboard at 1280 and 390 px', () => {
  for (const size of WIDTHS) {
    it(`lays out every page without clipped or split text at ${size.width} px`, async () => {
      const { context, page, errors } = await newPage(browser);
      try {
        await page.setViewportSize(size);
        await signIn(page);
        // Overview: three charts, each axis named, a colour per status, legends in words.
        await page.locator('.chart svg .recharts-label').first().waitFor();
        await until(page, `document.querySelectorAll('.chart .recharts-wrapper > svg .recharts-label').length >= 4`);
        const charts = await page.evaluate(`[...document.querySelectorAll('.chart')].map((c) => ({
          name: c.getAttribute('aria-label').split(':')[0],
          labels: [...c.querySelectorAll('svg .recharts-label')].filter((t) => !t.closest('.recharts-label-list')).map((t) => t.textContent),
          counts: [...c.querySelectorAll('svg .recharts-label-list .recharts-label')].map((t) => Number(t.textContent)),
          xTicks: [...c.querySelectorAll('svg .recharts-xAxis-tick-labels text')].map((t) => t.textContent),
          yTicks: [...c.querySelectorAll('svg .recharts-yAxis-tick-labels text')].map((t) => t.textContent),
          fills: [...new Set([...c.querySelectorAll('svg .recharts-bar-rectangle path')].map((p) => p.getAttribute('fill')))],
          bars: c.querySelectorAll('svg .recharts-bar-rectangle path').length,
        }))`) as { name: string; labels: string[]; counts: number[]; xTicks: string[]; yTicks: string[]; fills: string[]; bars: number }[];
        const by = Object.fromEntries(charts.map((c) => [c.name, c]));
        assert.deepEqual(by['Connections by status']!.labels, ['Connections']);
        assert.deepEqual(by['Failed jobs by reason']!.labels, ['Failed jobs']);
        assert.equal(by['Connections by status']!.counts.reduce((a, b) => a + b, 0), made.length, 'each bar says its count');
        assert.equal(by['Jobs per hour']!.labels.length, 2);
        assert.match(by['Jobs per hour']!.labels.join(' '), /^Hour \(.+\) Jobs$/);
        for (const c of charts) assert.ok(c.xTicks.length >= 2 && c.yTicks.length >= 2, `${c.name}: ticks on both axes`);
        const statuses = (await page.getByRole('list', { name: 'Statuses' }).locator('li').allInnerTexts()).map((t) => /(\w+): \d+$/.exec(t)?.[1]);
        assert.ok(statuses.length >= 3, 'several statuses');
        assert.deepEqual(by['Connections by status']!.yTicks, statuses, 'each bar named by its status, as in the legend');
        assert.equal(by['Connections by status']!.fills.length, statuses.length, 'each status its own colour');
        const reasons = await page.getByRole('list', { name: 'Failure reasons' }).locator('li').allInnerTexts();
        for (const r of ['account_locked', 'invalid_credentials', 'institution_unavailable']) assert.ok(reasons.some((t) => t.includes(r)), `${r} named in words`);
        assert.equal(by['Failed jobs by reason']!.fills.length, reasons.length, 'each reason its own colour');
        assert.deepEqual(await page.locator('.recharts-legend-item-text').allInnerTexts(), ['Succeeded', 'Failed']);
        // A tooltip on the busiest hour says both figures.
        await page.locator('.chart .recharts-bar-rectangle path').last().hover();
        const tip = page.locator('.recharts-tooltip-wrapper');
        await tip.getByText(/Succeeded\s*:\s*\d+/).waitFor();
        await tip.getByText(/Failed\s*:\s*[1-9]/).waitFor();
        await checkLayout(page, 'overview');

        await page.getByRole('tab', { name: 'Users' }).click();
        await page.getByRole('table', { name: 'Users' }).getByText('Katherine Johnson').waitFor();
        await checkLayout(page, 'users');

        await page.getByRole('tab', { name: 'Connections' }).click();
        const list = page.getByRole('table', { name: 'Connections' });
        await list.getByText('Hedy Lamarr').first().waitFor();
        await checkLayout(page, 'connections');
        await list.getByRole('button', { name: made.at(-4)!.id }).click(); // the last user's linked connection, on page 1
        await page.getByRole('table', { name: 'Job history' }).waitFor();
        await checkLayout(page, 'connection');

        await page.getByRole('tab', { name: 'Webhooks' }).click();
        await page.getByRole('button', { name: /hooks\/causeway/ }).click();
        const log = page.getByRole('table', { name: 'Deliveries' });
        await log.locator('tbody tr').first().waitFor();
        await log.getByRole('button', { name: 'Payload' }).first().click();
        await page.locator('pre.payload').waitFor();
        await checkLayout(page, 'webhooks');

        await page.getByRole('tab', { name: 'Institutions' }).click();
        await page.getByRole('table', { name: 'Institutions' }).getByText('Sandbox Outage Bank').waitFor();
        await checkLayout(page, 'institutions');
        assert.deepEqual(errors, []);
      } finally {
        await context.close();
      }
    });
  }

  it('lists connections newest first with their users, a page at a time, on and back', async () => {
    const { context, page, errors } = await newPage(browser);
    try {
      await page.setViewportSize(PHONE);
      await signIn(page);
      await page.getByRole('tab', { name: 'Connections' }).click();
      const list = page.getByRole('table', { name: 'Connections' });
      await list.getByText('Hedy Lamarr').first().waitFor();
      const first = await listedIds(page);
      const newest = [...made].reverse();
      assert.deepEqual(first, newest.slice(0, 20).map((c) => c.id), 'newest first, 20 to a page');
      const rows = await list.locator('tbody tr').allInnerTexts();
      rows.forEach((text, i) => assert.ok(text.includes(newest[i]!.who), `row ${i} names its user (${newest[i]!.who})`));
      assert.ok(rows.some((t) => t.includes('hedy@example.com')), 'and the email beside the name');

      await page.getByRole('button', { name: 'Next →' }).click();
      await page.getByText('Page 2').waitFor();
      await list.getByRole('button', { name: newest[20]!.id }).waitFor();
      assert.deepEqual(await listedIds(page), newest.slice(20).map((c) => c.id), 'the rest on page 2');
      assert.ok(await page.getByRole('button', { name: 'Next →' }).isDisabled(), 'no page 3');
      await page.getByRole('button', { name: '← Previous' }).click();
      await page.getByText('Page 1').waitFor();
      await list.getByRole('button', { name: newest[0]!.id }).waitFor();
      assert.deepEqual(await listedIds(page), first, 'back to page 1');

      await page.getByLabel('Status').selectOption('failed');
      await list.locator('tbody tr').first().waitFor();
      await until(page, `[...document.querySelectorAll('table[aria-label="Connections"] tbody tr')].every((r) => /failed/.test(r.textContent))`);
      assert.ok((await listedIds(page)).length >= 4, 'the failed ones');
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
    }
  });

  it('filters the delivery log by outcome and event type, pages it, and shows a delivery’s payload', async () => {
    const { context, page, errors } = await newPage(browser);
    try {
      await page.setViewportSize(PHONE);
      await signIn(page);
      await page.getByRole('tab', { name: 'Webhooks' }).click();
      await page.getByRole('button', { name: /hooks\/causeway/ }).click();
      const log = page.getByRole('table', { name: 'Deliveries' });
      await log.locator('tbody tr').first().waitFor();
      assert.equal(await log.locator('tbody tr').count(), 20, 'a page, not the whole log');
      const firstPage = await log.locator('tbody tr').allInnerTexts();
      await page.getByRole('navigation', { name: 'Delivery pages' }).getByRole('button', { name: 'Next →' }).click();
      await page.getByText('Page 2').waitFor();
      await until(page, `document.querySelector('table[aria-label="Deliveries"] tbody tr')?.innerText !== ${JSON.stringify(firstPage[0])}`);
      const secondPage = await log.locator('tbody tr').allInnerTexts();
      assert.ok(secondPage.length > 0 && secondPage.every((r) => !firstPage.includes(r)), 'page 2 holds other deliveries');
      await page.getByRole('navigation', { name: 'Delivery pages' }).getByRole('button', { name: '← Previous' }).click();
      await page.getByText('Page 1').waitFor();
      await until(page, `document.querySelector('table[aria-label="Deliveries"] tbody tr')?.innerText === ${JSON.stringify(firstPage[0])}`);

      const rowsWhere = (test: string) => until(page, `[...document.querySelectorAll('table[aria-label="Deliveries"] tbody tr')].length > 0
        && [...document.querySelectorAll('table[aria-label="Deliveries"] tbody tr')].every((r) => ${test})`);
      await page.getByLabel('Outcome').selectOption('pending');
      await rowsWhere(`/job\\.failed/.test(r.textContent) && /pending/.test(r.textContent) && /HTTP 500/.test(r.textContent)`);
      const pending = (await api.get(`/v1/webhook-endpoints/${endpointId}/deliveries?status=pending&limit=100`)).body.data;
      assert.equal(await log.locator('tbody tr').count(), Math.min(20, pending.length), 'as many as the API has');
      await page.getByLabel('Outcome').selectOption('');
      await page.getByLabel('Event type').selectOption('connection.created');
      await rowsWhere(`/connection\\.created/.test(r.textContent) && /succeeded/.test(r.textContent)`);
      assert.equal(await log.locator('tbody tr').count(), made.length > 20 ? 20 : made.length);

      // The payload: the event as sent, in a row beneath the delivery.
      const row = log.locator('tbody tr').first();
      const eventId = (await row.locator('code.sub').innerText()).trim();
      await row.getByRole('button', { name: 'Payload' }).click();
      const pre = page.getByLabel(`Payload of ${eventId}`);
      await pre.waitFor();
      const shown = JSON.parse(await pre.innerText());
      assert.deepEqual([shown.id, shown.type], [eventId, 'connection.created']);
      assert.deepEqual(shown, (await api.get(`/v1/events/${eventId}`)).body, 'the event as the API gives it');
      await page.getByRole('list', { name: 'Attempts' }).getByText(/HTTP 200/).waitFor();
      await row.getByRole('button', { name: 'Hide payload' }).click();
      await pre.waitFor({ state: 'detached' });
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
    }
  });

  it('the API behind it: connections newest first with their users and cursor pages; deliveries by outcome and event type', async () => {
    const seen: any[] = [];
    let cursor: string | null = null;
    do {
      const res = await api.get(`/v1/connections?limit=10${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      assert.equal(res.status, 200, res.text);
      seen.push(...res.body.data);
      cursor = res.body.nextCursor;
    } while (cursor);
    assert.deepEqual(seen.map((c) => c.id), [...made].reverse().map((c) => c.id), 'newest first, every one once');
    assert.deepEqual(seen.map((c) => c.user.name ?? c.user.email), [...made].reverse().map((c) => c.who));
    assert.ok(seen.every((c) => c.user.id === c.userId && typeof c.user.email === 'string' && c.user.externalId.startsWith('cust-')));

    const base = `/v1/webhook-endpoints/${endpointId}/deliveries?limit=100`;
    const all = (await api.get(base)).body.data as any[];
    for (const [q, keep] of [
      ['status=succeeded', (d: any) => d.status === 'succeeded'],
      ['status=pending', (d: any) => d.status === 'pending'],
      ['eventType=job.failed', (d: any) => d.eventType === 'job.failed'],
      ['status=succeeded&eventType=connection.created', (d: any) => d.status === 'succeeded' && d.eventType === 'connection.created'],
    ] as const) {
      const got = (await api.get(`${base}&${q}`)).body.data as any[];
      const want = all.filter(keep).map((d) => d.id);
      assert.ok(want.length > 0, `${q}: some to find`);
      assert.ok(got.every(keep), `${q}: only matching deliveries`);
      // Outcomes here do not change (job.failed is always answered 500, the rest 200): every match among the newest 100 is found.
      if (got.length < 100) assert.deepEqual(want.filter((id) => !got.some((d) => d.id === id)), [], `${q}: all of them`);
    }
    const bad = await api.get(`${base}&eventType=no.such_type`);
    assert.equal(bad.status, 400);
    assert.equal(bad.body.code, 'validation_failed');
  });
});
