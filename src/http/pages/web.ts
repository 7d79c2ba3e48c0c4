/**
 * The hosted pages (src/web, built by `npm run build` into dist/web): /connect and /manage (for end
 * users, with a client token; embeddable in an iframe) and /dashboard (for operators; never
 * framed). Their address may carry a token, so no page sends a Referer. Images may come from any
 * https host: institutions' logos are the provider's (an https URL or a data: URI).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

const DIST = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../dist/web');

const PAGES = { connect: true, manage: true, dashboard: false } as const; // page → may be framed

function headers(framable: boolean): Record<string, string> {
  return {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'referrer-policy': 'no-referrer',
    'x-content-type-options': 'nosniff',
    'content-security-policy': [
      "default-src 'self'", "script-src 'self'", "style-src 'self' 'unsafe-inline'", "img-src 'self' data: https:", "connect-src 'self'",
      "base-uri 'none'", "form-action 'self'", `frame-ancestors ${framable ? '*' : "'none'"}`,
    ].join('; '),
    ...(framable ? {} : { 'x-frame-options': 'DENY' }),
  };
}

export async function webPageRoutes(app: FastifyInstance): Promise<void> {
  const built = fs.existsSync(path.join(DIST, 'connect.html'));
  if (built) {
    await app.register(fastifyStatic, {
      root: path.join(DIST, 'assets'), prefix: '/web/assets/', index: false, list: false,
      immutable: true, maxAge: '365d', // file names carry a content hash
    });
  }
  for (const [page, framable] of Object.entries(PAGES)) {
    const html = built ? fs.readFileSync(path.join(DIST, `${page}.html`)) : null; // read once: the build does not change under a running server
    app.get(`/${page}`, { schema: { hide: true } }, async (_req, reply) => {
      if (!html) {
        return reply.code(503).type('text/plain; charset=utf-8')
          .send('The Causeway pages are not built. Run `npm run build` (npm install does it), then restart.\n');
      }
      return reply.headers(headers(framable)).send(html);
    });
  }
}
