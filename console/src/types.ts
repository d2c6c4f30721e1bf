// The shapes the admin API answers, taken from the engine's own definitions (type imports only: nothing of
// the engine is bundled), so the console and the API cannot disagree silently.
import type { z } from 'zod';
import type { adminAccountsApi } from '../../src/http/routes/admin/accounts.js';
import type { adminFeaturesApi } from '../../src/http/routes/admin/features.js';
import type { AdminPlanView } from '../../src/catalog/plans.js';
import type { liveBatchSchema } from '../../src/http/routes/admin/live.js';
import type { listAlerts } from '../../src/notify/alerts.js';
import type { listReconcileAlerts } from '../../src/reconcile/reconcile-alerts.js';
import type { listNotifications } from '../../src/notify/notification-admin.js';
import type { StripeEventView } from '../../src/billing/stripe-event-log.js';
import type { listAudit } from '../../src/audit/audit.js';
import type { RuleView } from '../../src/pricing/rules.js';
import type { CampaignView } from '../../src/rewards/campaigns.js';
import type { LoyaltyTier } from '../../src/rewards/loyalty.js';
import type { Tier } from '../../src/catalog/tiers.js';

type Answer<D extends { answer: z.ZodType }> = z.output<D['answer']>;

export type AccountPage = Answer<typeof adminAccountsApi.search>;
export type AccountSummary = AccountPage['accounts'][number];
export type AccountOverview = Answer<typeof adminAccountsApi.overview>;
export type LedgerPage = Answer<typeof adminAccountsApi.ledger>;
export type OpenHolds = Answer<typeof adminAccountsApi.holds>;
export type PlanChangeAnswer = Answer<typeof adminAccountsApi.changePlan>;
export type FeatureList = Answer<typeof adminFeaturesApi.list>;
export type Feature = FeatureList['features'][number];
export type AddedFeature = Answer<typeof adminFeaturesApi.add>;
export type PriceHistory = Answer<typeof adminFeaturesApi.prices>;
export type Plan = AdminPlanView;
export type PlanList = { plans: Plan[] };
export type LiveBatch = z.output<typeof liveBatchSchema>;
export type Alert = Awaited<ReturnType<typeof listAlerts>>[number] | Awaited<ReturnType<typeof listReconcileAlerts>>[number];
export type Notification = Awaited<ReturnType<typeof listNotifications>>[number];
export type StripeEvent = StripeEventView;
export type AuditEntry = Awaited<ReturnType<typeof listAudit>>[number];
export type PricingRule = RuleView;
export type Campaign = CampaignView;
export type { LoyaltyTier, Tier };

export interface QueueHealth {
  name: string;
  waiting: number;
  active: number;
  delayed: number;
  failed: number;
  completed: number;
  oldestWaitingSeconds: number;
}

export interface ScheduledJob {
  name: string;
  cron: string | null;
  description: string;
}

/** The part of GET /admin/api/analytics the console shows. */
export interface Analytics {
  generatedAt: string;
  range: { from: string; to: string; timeZone: string };
  today: { day: string; tokens: number; uses: number; activeUsers: number };
  totals: { tokens: number; uses: number };
  tokensPerDay: Array<{ day: string; tokens: number; uses: number; activeUsers: number; rejected: number }>;
  mostUsedFeatures: { byTokens: Array<{ feature: string; name: string; uses: number; tokens: number }> };
  revenue: { byCurrency: Array<{ currency: string; revenueCents: number; centsPerToken: number | null }> };
}
