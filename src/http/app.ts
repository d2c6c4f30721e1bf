import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type RouteOptions } from 'fastify';
import type { Engine } from '../engine.js';
import { frameworkErrors, installErrorHandling } from './errors.js';
import { installJsonBodyParser, refuseUnstorableUrlText } from './request-input.js';
import { MAX_IDEMPOTENCY_KEY_LENGTH } from '../usage/usage-event.js';
import { requireKey } from './auth.js';
import { installAdminBoundary } from './admin-boundary.js';
import { serverOptions } from './server-options.js';
import { healthRoutes } from './routes/health.js';
import { accountRoutes } from './routes/accounts.js';
import { gatingRoutes } from './routes/gating.js';
import { usageRoutes } from './routes/usage.js';
import { catalogRoutes } from './routes/catalog.js';
import { clockRoutes } from './routes/admin/clock.js';
import { jobRoutes } from './routes/admin/jobs.js';
import { adminCatalogRoutes } from './routes/admin/catalog.js';
import { adminBillingRoutes } from './routes/admin/billing.js';
import { billingRoutes } from './routes/billing.js';
import { stripeWebhookRoutes } from './routes/stripe-webhook.js';
import { notificationRoutes } from './routes/admin/notifications.js';
import { alertRoutes } from './routes/admin/alerts.js';
import { queuesBoard } from './routes/admin/queues-board.js';
import { metricsRoutes } from './routes/metrics.js';
import { dashboardRoutes } from './routes/insight.js';
import { analyticsRoutes } from './routes/admin/analytics.js';
import { consoleRoutes } from './routes/admin/console.js';
import { queueHealthRoutes } from './routes/admin/queue-health.js';
import { failedUsageRoutes } from './routes/admin/failed-usage.js';
import { pricingRoutes } from './routes/admin/pricing.js';
import { rewardsRoutes } from './routes/admin/rewards.js';
import { adminAccountsRoutes } from './routes/admin/accounts.js';
import { adminFeaturesRoutes } from './routes/admin/features.js';
import { adminStripePayloadRoutes } from './routes/admin/stripe-payload.js';
import { adminLiveRoutes } from './routes/admin/live.js';
import { docsRoutes } from './routes/docs.js';
import { openApiDocument } from './openapi.js';
import { redisSettled } from '../redis.js';

// A path segment may carry any key POST /v1/usage accepts, percent-encoded: up to 9 characters (three
// UTF-8 bytes) for each of its UTF-16 code units.
const MAX_PARAM_LENGTH = MAX_IDEMPOTENCY_KEY_LENGTH * 9;

/** What both apps share: the contract's error shape for every refusal, Fastify's own included. */
function baseOptions(engine: Engine, role: string) {
  return {
    loggerInstance: engine.log.child({ role }) as FastifyBaseLogger,
    // Per-request log lines would dominate the log at thousands of usage events a second.
    logController: new LogController({ disableRequestLogging: true }),
    return503OnClosing: true,
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    frameworkErrors,
    ...serverOptions(engine.config.http),
  };
}

function installInputHandling(app: FastifyInstance, engine: Engine): void {
  installErrorHandling(app, { redisReady: () => redisSettled(engine.redis) });
  installJsonBodyParser(app);
  app.addHook('preValidation', refuseUnstorableUrlText);
}

/** The HTTP adapter: routes parse input and call the domain; auth and error mapping live here once. */
export async function buildApp(engine: Engine, observe: { onRoute?: (route: RouteOptions) => void } = {}): Promise<FastifyInstance> {
  const app = Fastify({ ...baseOptions(engine, 'api'), bodyLimit: 8 * 1024 * 1024 });
  // Who wants to see every route as it is registered (the test that holds them to the API document).
  if (observe.onRoute) app.addHook('onRoute', observe.onRoute);
  installInputHandling(app, engine);
  installAdminBoundary(app, engine.config);
  healthRoutes(app, engine);
  metricsRoutes(app, engine);
  await docsRoutes(app, openApiDocument());
  await stripeWebhookRoutes(app, engine);

  await app.register(async (service) => {
    service.addHook('onRequest', requireKey(engine.config.apiKeys, 'the service API'));
    accountRoutes(service, engine);
    gatingRoutes(service, engine);
    usageRoutes(service, engine);
    catalogRoutes(service, engine);
    billingRoutes(service, engine);
    dashboardRoutes(service, engine);
  });

  await app.register(async (admin) => {
    admin.addHook('onRequest', requireKey(engine.config.adminKeys, 'the admin API', { basicChallenge: true }));
    clockRoutes(admin, engine);
    jobRoutes(admin, engine);
    adminCatalogRoutes(admin, engine);
    adminBillingRoutes(admin, engine);
    notificationRoutes(admin, engine);
    alertRoutes(admin, engine);
    analyticsRoutes(admin, engine);
    queueHealthRoutes(admin, engine);
    failedUsageRoutes(admin, engine);
    pricingRoutes(admin, engine);
    rewardsRoutes(admin, engine);
    adminAccountsRoutes(admin, engine);
    adminFeaturesRoutes(admin, engine);
    adminStripePayloadRoutes(admin, engine);
    adminLiveRoutes(admin, engine);
  });

  // Pages for people: a browser logs in with HTTP Basic (any user name, an admin key as password).
  await app.register(async (pages) => {
    pages.addHook('onRequest', requireKey(engine.config.adminKeys, 'the admin pages', { basicChallenge: true }));
    await queuesBoard(pages, engine);
    consoleRoutes(pages, engine);
  });
  return app;
}

/**
 * What a process without the api role serves on TOKENS_METRICS_PORT: `/health` and `/metrics` only, so
 * worker and scheduler processes can be probed and scraped like the APIs (their counters are their own).
 */
export function buildOpsApp(engine: Engine): FastifyInstance {
  const app = Fastify(baseOptions(engine, 'ops'));
  installInputHandling(app, engine);
  healthRoutes(app, engine);
  metricsRoutes(app, engine);
  return app;
}

