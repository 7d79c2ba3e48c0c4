/** The Fastify application: plugins, hooks, routes, error mapping and the OpenAPI document. */
import Fastify, { type FastifyInstance } from 'fastify';
import formbody from '@fastify/formbody';
import swagger from '@fastify/swagger';
import { validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { AppError } from '../domain/errors.js';
import { loggerOptions, requestForLog } from '../logging.js';
import type { Core } from '../services/core.js';
import { registerAuth } from './auth.js';
import { registerRateLimit } from './rate-limit.js';
import { serializerCompiler } from './serializer.js';
import { clientError, frameworkError, registerEdge } from './edge.js';
import { errorHandler, notFoundHandler } from './errors.js';
import { registerIdempotency } from './idempotency.js';
import { swaggerOptions } from './openapi.js';
import { registerObservability, RequestLog, requestIdOf } from './observability.js';
import { providerRoutes } from './routes/providers.js';
import { linkPageRoutes } from './routes/link.js';
import { webPageRoutes } from './pages/web.js';
import { docsPageRoutes } from './pages/docs.js';
import { accessRoutes } from './routes/access.js';
import { applicationRoutes } from './routes/application.js';
import { connectionRoutes } from './routes/connections.js';
import { dataRoutes } from './routes/data.js';
import { webhookRoutes } from './routes/webhooks.js';
import { institutionRoutes } from './routes/institutions.js';
import { importRoutes } from './routes/imports.js';
import { jobRoutes } from './routes/jobs.js';
import { sandboxApiRoutes, sandboxPageRoutes } from './routes/sandbox.js';
import { userRoutes } from './routes/users.js';

/** `logStream`: where request log lines go instead of stdout (tests read them). */
export async function buildApp(core: Core, opts: { logger?: boolean; logStream?: { write(line: string): void } } = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger: opts.logger === false ? false : { ...loggerOptions(core.config.logLevel, { req: requestForLog }), ...(opts.logStream ? { stream: opts.logStream } : {}) },
    bodyLimit: 1024 * 1024,
    genReqId: requestIdOf,
    logController: new RequestLog(),
    frameworkErrors: frameworkError,
    trustProxy: core.config.trustProxy,
    clientErrorHandler: clientError,
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler); // writes what the schema declares, without a zod encode per answer (serializer.ts)
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler(notFoundHandler);

  // JSON bodies: an empty body with a JSON content type is no body (clients often send the header anyway).
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    const text = String(body);
    if (text.trim() === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch {
      done(new AppError('malformed_json', 'The body is not valid JSON. Check quotes, commas and brackets.'), undefined);
    }
  });
  await app.register(formbody);
  await app.register(swagger, swaggerOptions);

  registerObservability(app, core);
  registerEdge(app);
  registerAuth(app, core);
  registerRateLimit(app, core);
  registerIdempotency(app, core);

  app.get('/health', { schema: { hide: true } }, async () => ({ status: 'ok' }));
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  app.get('/', { schema: { hide: true } }, async (_req, reply) => reply.type('text/plain')
    .send('Causeway is running. API: /v1 (reference: /docs; document: /openapi.json; errors: /docs/errors). Pages: /dashboard for operators; /connect and /manage for end users (with a client token).\n'));
  await app.register(sandboxPageRoutes(core));
  await app.register(linkPageRoutes(core));
  await webPageRoutes(app);
  await app.register(docsPageRoutes());
  await app.register(async (v1) => {
    await v1.register(accessRoutes(core));
    await v1.register(applicationRoutes(core));
    await v1.register(userRoutes(core));
    await v1.register(institutionRoutes(core));
    await v1.register(connectionRoutes(core));
    await v1.register(jobRoutes(core));
    await v1.register(dataRoutes(core));
    await v1.register(sandboxApiRoutes(core));
    await v1.register(webhookRoutes(core));
    await v1.register(providerRoutes(core));
    await v1.register(importRoutes(core));
  }, { prefix: '/v1' });
  return app;
}
