/**
 * The documentation pages, for integrators:
 *   /docs          the API reference: Scalar (@scalar/fastify-api-reference) rendering /openapi.json,
 *                  its script served from this server (/docs/js/scalar.js), nothing fetched elsewhere
 *   /docs/errors   the error catalogue: every code of ERROR_CATALOGUE with its status, title and what
 *                  to do, one section per code, so a problem's `type` (/docs/errors#<code>) lands on it
 * Neither is in the OpenAPI document. Both are public: they describe the API, not anyone's data.
 */
import { createHash } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import Fastify, { type FastifyInstance, type FastifyPluginAsync } from 'fastify';
import { ERROR_CATALOGUE, type ErrorCode } from '../../domain/errors.js';

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const sha256 = (s: string) => `'sha256-${createHash('sha256').update(s, 'utf8').digest('base64')}'`;
const statusText = (status: number) => `${status} ${STATUS_CODES[status] ?? ''}`.trim();
/** A catalogue text as HTML: escaped, with `names in backticks` as code. */
export const inlineCode = (s: string) => escape(s).replace(/`([^`]+)`/g, '<code>$1</code>');

/** Causeway's mark, inline, so no browser asks for /favicon.ico. */
const FAVICON = `data:image/svg+xml,${encodeURIComponent('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="7" fill="#1f5fbf"/><path d="M21 11.5a7 7 0 1 0 0 9" fill="none" stroke="#fff" stroke-width="3.5" stroke-linecap="round"/></svg>')}`;

/** The colours of src/web/shared/styles.css, so the pages look like the rest of Causeway. */
const COLOURS = '--fg:#1b1f24;--muted:#5b6470;--bg:#fff;--panel:#f5f7fa;--line:#d8dee6;--accent:#1f5fbf;--ok:#1e7d3a;--warn:#8a5a00;--bad:#b3261e';

const CATALOGUE_CSS = `:root{${COLOURS};font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg);line-height:1.5}
*{box-sizing:border-box}body{margin:0}a{color:var(--accent)}:focus-visible{outline:3px solid #f0b400;outline-offset:2px}
.bar{display:flex;flex-wrap:wrap;justify-content:space-between;gap:4px 18px;align-items:center;padding:8px 16px;border-bottom:1px solid var(--line);background:var(--panel);font-size:15px}
.links{display:flex;flex-wrap:wrap;gap:4px 18px}main{max-width:860px;margin:0 auto;padding:16px}
h1{font-size:1.5rem;margin:.3em 0 .5em}h2{font-size:1.2rem;margin:1.6em 0 .4em;padding-bottom:4px;border-bottom:1px solid var(--line)}
h3{font-size:1.05rem;margin:0 0 4px}p{margin:.4em 0}code{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.92em}
p code{white-space:nowrap;background:var(--panel);border-radius:4px;padding:0 3px}
pre{background:var(--panel);border-radius:8px;padding:10px 12px;overflow-x:auto;font-size:.85rem}
.index{list-style:none;padding:0;margin:.4em 0 0}.index li{margin:6px 0}.index a{margin-right:10px;white-space:nowrap;display:inline-block;padding:3px 0}
.code{border:1px solid var(--line);border-radius:12px;padding:12px 14px;margin:10px 0;scroll-margin-top:12px}
.code:target{border-color:var(--accent);box-shadow:0 0 0 3px #c7d9f3}
.code h3 code{overflow-wrap:anywhere}.title{font-weight:600}.fix{color:var(--fg)}
.status{display:inline-block;border:1px solid;border-radius:999px;padding:0 10px;font-size:.85rem;font-weight:600;margin-right:6px;white-space:nowrap}
.s4{color:var(--warn)}.s5{color:var(--bad)}.muted{color:var(--muted)}
@media (max-width:600px){main{padding:12px}h1{font-size:1.3rem}pre{font-size:.8rem}}`;

const EXAMPLE = JSON.stringify({
  type: '/docs/errors#validation_failed', title: ERROR_CATALOGUE.validation_failed.title, status: 400,
  detail: 'Fix these fields: body.institutionId Required.', instance: '/v1/users/usr_…/connections', code: 'validation_failed',
  errors: [{ field: 'body.institutionId', message: 'Required' }], requestId: 'req_…',
}, null, 2);

function nav(current: 'reference' | 'errors'): string {
  const link = (href: string, label: string, here: boolean) => (here ? `<a href="${href}" aria-current="page">${label}</a>` : `<a href="${href}">${label}</a>`);
  return `<nav class="bar" aria-label="Documentation"><strong>Causeway API</strong><span class="links">${link('/docs', 'API reference', current === 'reference')}`
    + `${link('/docs/errors', 'Error catalogue', current === 'errors')}<a href="/openapi.json">openapi.json</a></span></nav>`;
}

/** The catalogue page: server-rendered once (the catalogue is fixed for a running server), no JavaScript. */
export function errorCataloguePage(): string {
  const codes = (Object.keys(ERROR_CATALOGUE) as ErrorCode[])
    .map((code, i) => ({ code, i, ...ERROR_CATALOGUE[code] }))
    .sort((a, b) => a.status - b.status || a.i - b.i);
  const byStatus = new Map<number, typeof codes>();
  for (const c of codes) byStatus.set(c.status, [...(byStatus.get(c.status) ?? []), c]);
  const index = [...byStatus].map(([status, list]) =>
    `<li><span class="status s${String(status)[0]}">${escape(statusText(status))}</span> ${list.map((c) => `<a href="#${c.code}"><code>${c.code}</code></a>`).join(' ')}</li>`).join('');
  const sections = [...byStatus].map(([status, list]) => `<h2 id="status-${status}">${escape(statusText(status))}</h2>${list.map((c) => `
<section class="code" id="${c.code}" aria-labelledby="${c.code}-name">
<h3 id="${c.code}-name"><code>${c.code}</code></h3>
<p><span class="status s${String(status)[0]}">${status}</span> <span class="title">${escape(c.title)}</span></p>
<p class="fix"><strong>What to do:</strong> ${inlineCode(c.fix)}</p>
</section>`).join('')}`).join('\n');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Error catalogue · Causeway API</title><link rel="icon" href="${FAVICON}"><style>${CATALOGUE_CSS}</style></head><body>
${nav('errors')}
<main>
<h1>Error catalogue</h1>
<p>Every error the API answers is an <a href="https://www.rfc-editor.org/rfc/rfc9457">RFC 9457</a> problem document, sent as
<code>application/problem+json</code>. Its <code>code</code> is stable: act on it, not on <code>title</code> or <code>detail</code>,
which are for people. Its <code>type</code> links to the code's section on this page. Quote <code>requestId</code> (also the
<code>X-Request-Id</code> header) when you ask an operator why a request failed.</p>
<pre aria-label="An example problem document"><code>${escape(EXAMPLE)}</code></pre>
<p><code>errors</code> lists the fields at fault, where there are some. A refused connection action also says the connection's
<code>connectionStatus</code> and its <code>allowedActions</code>. A 429 or 503 says in <code>Retry-After</code> how many seconds to wait;
retry a POST with the same <code>Idempotency-Key</code> and it is not done twice.</p>
<h2 id="index">All ${codes.length} codes</h2>
<ul class="index">${index}</ul>
${sections}
</main></body></html>`;
}

const CATALOGUE_CSP = [
  "default-src 'none'", `style-src ${sha256(CATALOGUE_CSS)}`, "img-src data:", "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'",
].join('; ');

/**
 * Scalar, themed with Causeway's colours and fonts; the bar above it links the catalogue. On a phone
 * Scalar's sticky header names the section in view on one line: a long operation summary is cut
 * with an ellipsis instead of widening the page.
 */
const REFERENCE_CSS = `.light-mode{--scalar-color-accent:#1f5fbf;--scalar-color-1:#1b1f24;--scalar-color-2:#5b6470;--scalar-border-color:#d8dee6}
:root{--scalar-font:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;--scalar-font-code:ui-monospace,SFMono-Regular,Menlo,monospace}
.cw-bar{display:flex;flex-wrap:wrap;justify-content:space-between;gap:4px 18px;align-items:center;padding:8px 16px;border-bottom:1px solid #d8dee6;
background:#f5f7fa;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1b1f24}.cw-links{display:flex;flex-wrap:wrap;gap:4px 18px}.cw-bar a{color:#1f5fbf}
.cw-bar a:focus-visible{outline:3px solid #f0b400;outline-offset:2px}
.t-doc__header header>*{min-width:0}.t-doc__header header .whitespace-nowrap{overflow:hidden;text-overflow:ellipsis}`;
const REFERENCE_BAR = `<nav class="cw-bar" aria-label="Documentation"><strong>Causeway API</strong><span class="cw-links">`
  + `<a href="/docs" aria-current="page">API reference</a><a href="/docs/errors">Error catalogue</a><a href="/openapi.json">openapi.json</a></span></nav>`;

/** The reference page's policy: its own script, and the inline scripts it carries by hash; nothing from elsewhere. */
function referenceCsp(html: string): string {
  const inline = [...html.matchAll(/<script(?![^>]*\ssrc=)[^>]*>([\s\S]*?)<\/script>/g)].map((m) => sha256(m[1]!));
  return [
    "default-src 'self'", `script-src 'self' ${inline.join(' ')}`.trim(), "style-src 'self' 'unsafe-inline'", "img-src 'self' data:",
    "font-src 'self' data:", "connect-src 'self'", "worker-src 'self' blob:", "object-src 'none'", "base-uri 'none'", "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

const REFERENCE_ROUTES = ['/docs', '/docs/', '/docs/js/scalar.js'] as const;
type ReferenceAnswer = { status: number; headers: Record<string, string>; body: string | Buffer };

/**
 * Scalar's plugin module carries its 4.9 MB browser bundle as a string literal: once parsed, about
 * 20 MB of heap that every process would hold from its start (measured, bench/idle-memory.ts). So it
 * is imported on the first request for the reference, registered on a Fastify instance of its own,
 * and each of its answers (the same for every request: the configuration is fixed) asked once
 * through inject and kept (the bundle as a Buffer, outside the JS heap; the page as text, which the
 * onSend hook below finishes). A server whose reference nobody reads never loads it.
 */
let scalar: Promise<FastifyInstance> | null = null;
const answers = new Map<string, Promise<ReferenceAnswer>>();

function loadScalar(): Promise<FastifyInstance> {
  scalar ??= (async () => {
    const { default: apiReference } = await import('@scalar/fastify-api-reference');
    const inner = Fastify({ logger: false });
    await inner.register(apiReference, {
      routePrefix: '/docs',
      configuration: {
        url: '/openapi.json', // the document itself, not a copy: Scalar fetches it from this server
        pageTitle: 'Causeway API reference',
        favicon: FAVICON,
        withDefaultFonts: false, telemetry: false, showDeveloperTools: 'never', documentDownloadType: 'json',
        mcp: { disabled: true }, agent: { disabled: true },
        customCss: REFERENCE_CSS,
      },
    });
    await inner.ready();
    return inner;
  })();
  scalar.catch(() => { scalar = null; }); // a failed load (it should not) is tried again by the next request
  return scalar;
}

function referenceAnswer(url: (typeof REFERENCE_ROUTES)[number]): Promise<ReferenceAnswer> {
  let answer = answers.get(url);
  if (!answer) {
    answer = (async () => {
      const res = await (await loadScalar()).inject({ method: 'GET', url });
      const headers: Record<string, string> = {};
      for (const name of ['content-type', 'location']) if (typeof res.headers[name] === 'string') headers[name] = res.headers[name];
      return { status: res.statusCode, headers, body: headers['content-type']?.startsWith('text/html') ? res.body : res.rawPayload };
    })();
    answers.set(url, answer);
    answer.catch(() => answers.delete(url));
  }
  return answer;
}

export function docsPageRoutes(): FastifyPluginAsync {
  return async (app: FastifyInstance) => {
    const catalogue = errorCataloguePage();
    app.get('/docs/errors', { schema: { hide: true } }, async (_req, reply) => reply
      .headers({
        'content-type': 'text/html; charset=utf-8', 'content-security-policy': CATALOGUE_CSP, 'cache-control': 'no-cache',
        'x-frame-options': 'DENY', 'referrer-policy': 'no-referrer',
      })
      .send(catalogue));

    // Scalar's three routes: GET /docs (a redirect to /docs/), /docs/ and /docs/js/scalar.js, answered by Scalar's own plugin, loaded on first use.
    for (const url of REFERENCE_ROUTES) {
      app.get(url, { schema: { hide: true }, logLevel: 'warn' }, async (_request, reply) => {
        const answer = await referenceAnswer(url);
        return reply.code(answer.status).headers(answer.headers).send(answer.body);
      });
    }
    // Runs after the edge's onSend (which gives HTML the strict page policy): the reference page needs its own.
    app.addHook('onSend', async (request, reply, payload) => {
      const path = request.url.split('?')[0];
      if (path === '/docs/' && typeof payload === 'string' && String(reply.getHeader('content-type')).startsWith('text/html')) {
        const html = payload.replace('<html>', '<html lang="en">').replace(/<body>/, `<body>${REFERENCE_BAR}`);
        reply.header('content-security-policy', referenceCsp(html));
        reply.header('cache-control', 'no-cache');
        return html;
      }
      if (path === '/docs/js/scalar.js') reply.header('cache-control', 'public, max-age=3600');
      return payload;
    });
  };
}
