import { accountsApi } from './routes/accounts.js';
import { gatingApi } from './routes/gating.js';
import { usageApi } from './routes/usage.js';
import { catalogApi } from './routes/catalog.js';
import { billingApi } from './routes/billing.js';
import { insightApi } from './routes/insight.js';
import { healthApi } from './routes/health.js';
import { metricsApi } from './routes/metrics.js';
import { stripeWebhookApi } from './routes/stripe-webhook.js';
import { docsApi } from './routes/docs.js';
import { adminClockApi } from './routes/admin/clock.js';
import { adminJobsApi } from './routes/admin/jobs.js';
import { adminCatalogApi } from './routes/admin/catalog.js';
import { adminBillingApi } from './routes/admin/billing.js';
import { adminNotificationsApi } from './routes/admin/notifications.js';
import { adminAlertsApi } from './routes/admin/alerts.js';
import { adminAnalyticsApi } from './routes/admin/analytics.js';
import { adminQueueHealthApi } from './routes/admin/queue-health.js';
import { adminFailedUsageApi } from './routes/admin/failed-usage.js';
import { adminPricingApi } from './routes/admin/pricing.js';
import { adminRewardsApi } from './routes/admin/rewards.js';
import { adminAccountsApi } from './routes/admin/accounts.js';
import { adminFeaturesApi } from './routes/admin/features.js';
import { adminStripePayloadApi } from './routes/admin/stripe-payload.js';
import { adminLiveApi } from './routes/admin/live.js';

/**
 * Every route of the API by group (a route file's definitions), in the document's order. The pages for
 * people (the admin console, bull-board, /docs) are not routes of the API; test/http/openapi.test.ts
 * checks that every other route the app registers is here, and everything here is registered.
 */
export const apiRoutes = {
  accounts: accountsApi,
  gating: gatingApi,
  usage: usageApi,
  catalog: catalogApi,
  billing: billingApi,
  insight: insightApi,
  stripe: stripeWebhookApi,
  health: healthApi,
  metrics: metricsApi,
  docs: docsApi,
  adminAccounts: adminAccountsApi,
  adminCatalog: adminCatalogApi,
  adminFeatures: adminFeaturesApi,
  adminBilling: adminBillingApi,
  adminStripePayload: adminStripePayloadApi,
  adminPricing: adminPricingApi,
  adminRewards: adminRewardsApi,
  adminAnalytics: adminAnalyticsApi,
  adminAlerts: adminAlertsApi,
  adminNotifications: adminNotificationsApi,
  adminJobs: adminJobsApi,
  adminClock: adminClockApi,
  adminQueueHealth: adminQueueHealthApi,
  adminFailedUsage: adminFailedUsageApi,
  adminLive: adminLiveApi,
} as const;
