/**
 * What an operator's tooling reads from every process:
 *
 *   X-Request-Id  taken from the request when sane (1-128 of [A-Za-z0-9._:-]), else `req_…`;
 *                 echoed on every answer, quoted in every problem (http/errors.ts), bound to every
 *                 request log line (Fastify's reqId; http/auth.ts adds the application and key)
 *   /ready        readiness: 200 while the database answers `select 1` within 2 s, else 503 not_ready
 *   /metrics      Prometheus text (src/metrics.ts), the queue gauges read from the database per scrape
 *
 * /metrics is open by default on the API port, as Prometheus and every exporter expect (scrape
 * configs need nothing more); CAUSEWAY_METRICS_TOKEN asks scrapes for a bearer token, which
 * Prometheus sends with `authorization: { credentials: … }`; CAUSEWAY_METRICS=off removes it; and
 * CAUSEWAY_METRICS_PORT moves it to a port of its own (listenForMetrics), kept off the public one,
 * which is also how a worker process, serving no API, is scraped.
 */
import { randomFillSync, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { AppError } from '../domain/errors.js';
import { recordHttp, registry } from '../metrics.js';
import type { Core } from '../services/core.js';
import { databaseProblem, updateQueueGauges } from '../services/observability.js';
import { errorHandler, notFoundHandler, sendProblem } from './errors.js';

export const REQUEST_ID_HEADER = 'x-request-id';
const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Random bytes for the next ids, filled 512 ids at a time: one call to the system's generator, not one a request. */
const ID_BYTES = 10;
const idPool = Buffer.alloc(ID_BYTES * 512);
let idAt = idPool.length;

/** A fresh id: 80 random bits, so ids from many processes do not collide. */
export function newRequestId(): string {
  if (idAt === idPool.length) {
    randomFillSync(idPool);
    idAt = 0;
  }
  const id = idPool.toString('hex', idAt, idAt + ID_BYTES);
  idAt += ID_BYTES;
  return `req_${id}`;
}

/**
 * One line a request at info, when it is answered: the request (method, URL as requestForLog
 * writes it, address), its status and time, with the request's bindings (reqId, and once
 * authenticated the application and key). Fastify's second line, "incoming request", is written
 * at debug: the completed line says all it says, and at info it doubled the logging a request
 * costs. Everything else (errors, streams closed early) is Fastify's own.
 */
export class RequestLog extends LogController {
  override incomingRequest(request: FastifyRequest): void {
    if (!this.isLogDisabled(request)) request.log.debug({ req: request }, 'incoming request');
  }

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (this.isLogDisabled(request)) return;
    if (error) reply.log.error({ req: request, res: reply, err: error, responseTime: reply.elapsedTime }, 'request errored');
    else reply.log.info({ req: request, res: reply, responseTime: reply.elapsedTime }, 'request completed');
  }
}

/** Fastify's genReqId: the caller's X-Request-Id when it is sane (one header, allowed characters, 1-128 long), else a new one. */
export function requestIdOf(req: { headers: IncomingHttpHeaders }): string {
  const given = req.headers[REQUEST_ID_HEADER];
  return typeof given === 'string' && SANE_REQUEST_ID.test(given) ? given : newRequestId();
}

/** Probes and scrapes arrive every few seconds: their lines are kept out of the info log. */
const QUIET = { hide: true } as const;

/**
 * The request id on every answer, the HTTP metrics, /ready, and /metrics unless it is off or
 * served on its own port. Registered before the other hooks, so a refusal by any of them carries the id.
 */
export function registerObservability(app: FastifyInstance, core: Core, opts: { serveMetrics?: boolean } = {}): void {
  app.addHook('onRequest', async (request, reply) => {
    reply.header(REQUEST_ID_HEADER, request.id);
  });
  app.addHook('onResponse', async (request, reply) => {
    recordHttp(request.method, request.routeOptions.url ?? null, reply.statusCode, reply.elapsedTime);
  });
  app.get('/ready', { schema: QUIET, logLevel: 'warn' }, async (request, reply) => {
    const problem = await databaseProblem(core);
    if (problem === null) return { status: 'ready' };
    request.log.warn({ problem }, 'not ready: the database does not answer');
    return sendProblem(reply, new AppError('not_ready', 'The database does not answer; this process cannot serve requests until it does. Retry shortly.', {}, { 'retry-after': '5' }));
  });
  const { enabled, port } = core.config.metrics;
  if (opts.serveMetrics ?? (enabled && port === null)) {
    app.get('/metrics', { schema: QUIET, logLevel: 'warn' }, (request, reply) => scrape(core, request, reply));
  }
}

async function scrape(core: Core, request: FastifyRequest, reply: FastifyReply) {
  const token = core.config.metrics.token;
  if (token !== null && !bearerMatches(request.headers.authorization, token)) {
    throw new AppError('unauthenticated', 'Metrics need the token set in CAUSEWAY_METRICS_TOKEN: send it as Authorization: Bearer <token>.');
  }
  // A database that does not answer still leaves the process's own series to scrape.
  await updateQueueGauges(core).catch((err) => request.log.warn({ err }, 'queue gauges not read'));
  return reply.type(registry.contentType).header('cache-control', 'no-store').send(await registry.metrics());
}

function bearerMatches(header: string | undefined, token: string): boolean {
  const presented = Buffer.from(/^Bearer\s+(\S+)$/i.exec(header ?? '')?.[1] ?? '');
  const expected = Buffer.from(token);
  return presented.length === expected.length && timingSafeEqual(presented, expected);
}

/**
 * The metrics port (CAUSEWAY_METRICS_PORT): /metrics, /ready and /health only, on the same host as
 * the API. Answers its address, and the server to close.
 */
export async function listenForMetrics(core: Core): Promise<{ url: string; app: FastifyInstance }> {
  const app = Fastify({ logger: false, genReqId: requestIdOf });
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler(notFoundHandler);
  registerObservability(app, core, { serveMetrics: true });
  app.get('/health', { schema: QUIET }, async () => ({ status: 'ok' }));
  const url = await app.listen({ port: core.config.metrics.port ?? 0, host: core.config.host });
  return { url, app };
}
