import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';

type CreatedAt = ColumnType<Date, Date | string | undefined, never>;
type Timestamp = ColumnType<Date, Date | string, Date | string>;
type Json = ColumnType<unknown, string, string>;

export interface PlansTable {
  id: string;
  name: string;
  monthly_tokens: number;
  price_cents: number;
  currency: Generated<string>;
  billing_interval: 'month' | 'year';
  rollover_max: Generated<number>;
  rank: number;
  created_at: CreatedAt;
  updated_at: Timestamp;
}

export interface FeaturesTable {
  key: string;
  name: string;
  enabled: Generated<boolean>;
  created_at: CreatedAt;
}

/** A feature's cost is a history: the row in force at time t is the latest with effective_from <= t. */
export interface FeaturePricesTable {
  id: Generated<number>;
  feature_key: string;
  cost: number;
  effective_from: Timestamp;
  changed_by: string;
  created_at: CreatedAt;
}

export interface AccountsTable {
  user_id: string;
  plan_id: string;
  email: string | null;
  balance: Generated<number>;
  held: Generated<number>;
  anchor_at: Timestamp;
  period_index: number;
  period_start: Timestamp;
  period_end: Timestamp;
  period_allocated: Generated<number>;
  period_used: Generated<number>;
  /** The highest warning level already sent in the period starting at warned_period_start (src/notify). */
  warned_level: Generated<number>;
  warned_period_start: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  /** Bumped each time the account falls back under a warned level, so the next crossing is a new notification. */
  warning_arming: Generated<number>;
  /** When the earliest live grant expires, null if none does: kept by triggers on grants (migrations/2026-12-03T1500_accounts_next_grant_expiry.ts). */
  next_grant_expiry: ColumnType<Date | null, never, never>;
  created_at: CreatedAt;
  updated_at: Timestamp;
}

export type GrantSource = 'plan' | 'purchase' | 'bonus' | 'adjustment' | 'rollover';

export interface GrantsTable {
  id: Generated<number>;
  user_id: string;
  source: GrantSource;
  source_ref: string | null;
  tokens: number;
  remaining: number;
  expires_at: Timestamp | null;
  idempotency_key: string;
  created_at: CreatedAt;
}

export type HoldStatus = 'open' | 'used' | 'released' | 'expired';

export interface HoldsTable {
  id: string;
  user_id: string;
  feature_key: string;
  cost: number;
  status: HoldStatus;
  /** [{grantId, tokens}]: which grants the held tokens came from, so a release puts them back. */
  allocations: Json;
  expires_at: Timestamp;
  created_at: Timestamp;
  settled_at: Timestamp | null;
  settled_by: string | null;
  pricing: Json | null;
}

export type UsageStatus = 'applied' | 'rejected';

export interface UsageEventsTable {
  idempotency_key: string;
  user_id: string;
  feature_key: string;
  payload_hash: string;
  status: UsageStatus;
  reason: string | null;
  cost: number;
  balance_after: number | null;
  reservation_id: string | null;
  occurred_at: Timestamp;
  applied_at: Timestamp;
  metadata: Json | null;
  settled_at: ColumnType<Date, Date | string | undefined, never>;
}

export type LedgerKind = 'grant' | 'use' | 'hold' | 'release' | 'expiry' | 'reversal';

export interface LedgerEntriesTable {
  id: Generated<number>;
  user_id: string;
  kind: LedgerKind;
  /** Change to the spendable balance (negative for a use, a hold, an expiry). */
  amount: number;
  /** Change to the held tokens. */
  held_delta: Generated<number>;
  balance_after: number;
  held_after: number;
  feature_key: string | null;
  cost: number | null;
  grant_id: number | null;
  hold_id: string | null;
  usage_key: string | null;
  source: string | null;
  /** The account's plan when the entry was made, so rollups can split by plan without history joins. */
  plan_id: string | null;
  /** How a use's cost was set: the base price and the pricing rules applied, or null for no rule. */
  pricing: Json | null;
  occurred_at: Timestamp;
  created_at: CreatedAt;
  metadata: Json | null;
}

export interface AuditLogTable {
  id: Generated<number>;
  actor: string;
  action: string;
  subject: string;
  before: Json | null;
  after: Json | null;
  at: Timestamp;
}

export interface UsageDailyTable {
  day: ColumnType<string, string, string>;
  feature_key: string;
  plan_id: string;
  uses: number;
  tokens: number;
}

/** Per day and pricing rule: the uses it priced, the tokens they were charged, their base price. */
export interface PricingRuleDailyTable {
  day: ColumnType<string, string, string>;
  rule_id: string;
  uses: number;
  tokens: number;
  base_tokens: number;
}

export interface ActivityDailyTable {
  day: ColumnType<string, string, string>;
  active_users: number;
  uses: number;
  tokens: number;
  rejected: number;
}

export interface RollupStateTable {
  name: string;
  last_entry_id: number;
  last_settled_at: Timestamp;
  updated_at: Timestamp;
}

export type NotificationType = 'tokens.warning' | 'tokens.alert';
export type NotificationChannel = 'webhook' | 'email';
export type DeliveryStatus = 'pending' | 'delivered' | 'failed' | 'skipped';

/** The outbox: one row per thing to tell, written in the transaction that caused it. */
export interface NotificationsTable {
  /** The stable message id (Standard Webhooks `webhook-id`). */
  id: string;
  /** Recording order. */
  seq: Generated<number>;
  key: string;
  type: NotificationType;
  user_id: string | null;
  data: Json;
  occurred_at: Timestamp;
  created_at: CreatedAt;
}

export interface NotificationDeliveriesTable {
  id: Generated<number>;
  notification_id: string;
  channel: NotificationChannel;
  status: Generated<DeliveryStatus>;
  /** Incremented by an admin retry, so the retried delivery gets a fresh queue job. */
  round: Generated<number>;
  attempts: Generated<number>;
  last_error: string | null;
  updated_at: Timestamp;
  delivered_at: Timestamp | null;
}

export type AlertRule = 'burst' | 'rejections' | 'rate' | 'around_the_clock';

export interface AlertsTable {
  id: Generated<number>;
  user_id: string;
  rule: AlertRule;
  window_start: Timestamp;
  window_end: Timestamp;
  observed: number;
  threshold: number;
  details: Json;
  notification_id: string | null;
  raised_at: Timestamp;
}

/**
 * An invariant the reconcile job found broken (src/reconcile/reconcile.ts), one row per episode: open
 * (resolved_at null) while runs keep finding it, so a rerun raises no second alert.
 */
export interface ReconcileViolationsTable {
  /** Drawn from the alerts' sequence, so both kinds of admin alert list in one order. */
  id: Generated<number>;
  check_name: string;
  /** The account's user id, or the day of a rollup check. */
  subject: string;
  user_id: string | null;
  /** The rollup day of a day's violation (read back as a Date at midnight UTC; the subject has it as text). */
  day: ColumnType<Date | null, string | null, string | null>;
  expected: number;
  actual: number;
  details: Json;
  notification_id: string | null;
  first_seen_at: Timestamp;
  last_seen_at: Timestamp;
  resolved_at: Timestamp | null;
}

export type StripeEventStatus = 'received' | 'waiting' | 'applied' | 'ignored' | 'failed';

/** Every Stripe event received, under its id: applied once, and its outcome kept for admins. */
export interface StripeEventsTable {
  id: string;
  type: string;
  payload: Json;
  status: Generated<StripeEventStatus>;
  outcome_code: string | null;
  outcome_message: string | null;
  user_id: string | null;
  received_at: Timestamp;
  processed_at: Timestamp | null;
  /** The key of the state a waiting event needs (`subscription:{id}`, `ref:{paymentIntentOrCharge}`, `checkout:{id}`). */
  waiting_for: ColumnType<string | null, string | null | undefined, string | null>;
  /** Bumped at each re-application (wake, replay, sweep): the queue job of that round is a new one. */
  round: Generated<number>;
}

/** Money received (plan periods and token packs), with what it granted, for refunds and revenue. */
export type PaymentKind = 'plan' | 'topup' | 'proration';

export interface PaymentsTable {
  id: Generated<number>;
  user_id: string;
  kind: PaymentKind;
  plan_id: string | null;
  tokens: Generated<number>;
  grant_id: number | null;
  amount_cents: number;
  currency: string;
  period_start: Timestamp | null;
  period_end: Timestamp | null;
  stripe_event_id: string;
  checkout_session_id: string | null;
  invoice_id: string | null;
  payment_intent_id: string | null;
  subscription_id: string | null;
  refunded_cents: Generated<number>;
  tokens_reversed: Generated<number>;
  paid_at: Timestamp;
  /** Engine periods a plan payment pays (12 for a yearly plan); `tokens` is what they allocate. */
  periods: Generated<number>;
  /** The period was taken from the event's time, not yet from Stripe's billing dates. */
  period_estimated: Generated<boolean>;
  /** The engine period this payment started (a plan bought), so Stripe's exact dates can realign it. */
  opened_period_index: number | null;
  charge_id: string | null;
  /** Tokens the cumulative refunds call for so far (taken back, cancelled, or found already spent). */
  tokens_refunded: Generated<number>;
  /** Tokens of periods not yet begun that a refund cancelled: the paid coverage ends earlier. */
  tokens_cancelled: Generated<number>;
  refunds_seen_at: Timestamp | null;
  /** Refunded or disputed in full: it pays no period any more. */
  voided_at: Timestamp | null;
}

export interface StripeSubscriptionsTable {
  id: string;
  user_id: string | null;
  status: string | null;
  price_id: string | null;
  plan_id: string | null;
  metadata_plan: string | null;
  checkout_session_id: string | null;
  current_period_start: Timestamp | null;
  current_period_end: Timestamp | null;
  cancel_at_period_end: Generated<boolean>;
  cancel_at: Timestamp | null;
  ended_at: Timestamp | null;
  started_at: Timestamp | null;
  state_at: Timestamp | null;
  state_rank: number | null;
  state_event_id: string | null;
  updated_at: Timestamp;
}

export interface PlanPricesTable {
  price: string;
  plan_id: string;
  created_at: Timestamp;
}

export interface StripePaymentRefsTable {
  ref: string;
  invoice_id: string | null;
  checkout_session_id: string | null;
}

export interface PaymentAdjustmentsTable {
  stripe_id: string;
  payment_id: number;
  kind: 'refund_failed' | 'dispute_lost';
  amount_cents: number;
  occurred_at: Timestamp;
}

export interface LapsedPeriodsTable {
  user_id: string;
  period_index: number;
  plan_id: string;
  subscription_id: string | null;
  reason: string;
  paid_tokens_kept: Generated<number>;
  tokens_taken_back: Generated<number>;
  free_grant_id: number | null;
  lapsed_at: Timestamp;
  restored_at: Timestamp | null;
}

export type SubscriptionStatus = 'active' | 'lapsing' | 'lapsed';

/** What payments said about an account's plan: paid through when, lapsing, or a downgrade pending. */
export interface SubscriptionsTable {
  user_id: string;
  status: SubscriptionStatus;
  paid_through: Timestamp | null;
  lapse_reason: string | null;
  pending_plan_id: string | null;
  stripe_subscription_id: string | null;
  updated_at: Timestamp;
  /** The Stripe subscription whose billing dates the account's periods follow. */
  anchored_to: string | null;
  /** The current period was allocated on a paid plan before it was paid: unpaid at this instant, it lapses. */
  grace_until: Timestamp | null;
}

export interface PricingRulesTable {
  id: string;
  version: number;
  definition: Json;
  defined_from: Timestamp;
  defined_until: Timestamp | null;
  changed_by: string;
}

export interface DemandLevelsTable {
  rule_id: string;
  computed_at: Timestamp;
  multiplier: number;
  uses_per_minute: number;
}

export interface PricingStateTable {
  id: number;
  version: number;
}

export interface CampaignsTable {
  id: string;
  name: string;
  starts_at: Timestamp;
  ends_at: Timestamp;
  plans: string[] | null;
  bonus_tokens: number | null;
  bonus_percent: number | null;
  expires_at: Timestamp | null;
  updated_at: Timestamp;
}

export interface LoyaltySettingsTable {
  id: number;
  tiers: Json;
  updated_at: Timestamp;
}

export interface PlanMovesTable {
  id: Generated<number>;
  user_id: string;
  from_plan: string;
  to_plan: string;
  moved_at: Timestamp;
}

export interface Database {
  stripe_events: StripeEventsTable;
  payments: PaymentsTable;
  subscriptions: SubscriptionsTable;
  stripe_subscriptions: StripeSubscriptionsTable;
  plan_prices: PlanPricesTable;
  stripe_payment_refs: StripePaymentRefsTable;
  payment_adjustments: PaymentAdjustmentsTable;
  lapsed_periods: LapsedPeriodsTable;
  plans: PlansTable;
  features: FeaturesTable;
  feature_prices: FeaturePricesTable;
  accounts: AccountsTable;
  grants: GrantsTable;
  holds: HoldsTable;
  usage_events: UsageEventsTable;
  ledger_entries: LedgerEntriesTable;
  audit_log: AuditLogTable;
  notifications: NotificationsTable;
  notification_deliveries: NotificationDeliveriesTable;
  alerts: AlertsTable;
  reconcile_violations: ReconcileViolationsTable;
  usage_daily: UsageDailyTable;
  activity_daily: ActivityDailyTable;
  pricing_rule_daily: PricingRuleDailyTable;
  rollup_state: RollupStateTable;
  pricing_rules: PricingRulesTable;
  demand_levels: DemandLevelsTable;
  pricing_state: PricingStateTable;
  campaigns: CampaignsTable;
  loyalty_settings: LoyaltySettingsTable;
  plan_moves: PlanMovesTable;
}

export type Account = Selectable<AccountsTable>;
export type Plan = Selectable<PlansTable>;
export type Grant = Selectable<GrantsTable>;
export type Hold = Selectable<HoldsTable>;
export type NewLedgerEntry = Insertable<LedgerEntriesTable>;
