import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Engine } from '../engine.js';
import { installErrorHandling } from './errors.js';
import { requireKey } from './auth.js';
import { healthRoutes } from './routes/health.js';
import { accountRoutes } from './routes/accounts.js';
import { gatingRoutes } from './routes/gating.js';
import { usageRoutes } from './routes/usage.js';
import { catalogRoutes } from './routes/catalog.js';
import { clockRoutes } from './routes/admin/clock.js';
import { jobRoutes } from './routes/admin/jobs.js';
import { adminCatalogRoutes } from './routes/admin/catalog.js';

/** The HTTP adapter: routes parse input and call the domain; auth and error mapping live here once. */
export async function buildApp(engine: Engine): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: engine.log.child({ role: 'api' }) as FastifyBaseLogger,
    // Per-request log lines would dominate the log at thousands of usage events a second.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 8 * 1024 * 1024,
    return503OnClosing: true,
  });
  installErrorHandling(app);
  healthRoutes(app, engine);

  await app.register(async (service) => {
    service.addHook('onRequest', requireKey(engine.config.apiKeys, 'the service API'));
    accountRoutes(service, engine);
    gatingRoutes(service, engine);
    usageRoutes(service, engine);
    catalogRoutes(service, engine);
  });

  await app.register(async (admin) => {
    admin.addHook('onRequest', requireKey(engine.config.adminKeys, 'the admin API', { basicChallenge: true }));
    clockRoutes(admin, engine);
    jobRoutes(admin, engine);
    adminCatalogRoutes(admin, engine);
  });
  return app;
}
