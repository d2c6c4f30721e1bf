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

export interface Database {
  plans: PlansTable;
  features: FeaturesTable;
  feature_prices: FeaturePricesTable;
  accounts: AccountsTable;
  grants: GrantsTable;
  holds: HoldsTable;
  usage_events: UsageEventsTable;
  ledger_entries: LedgerEntriesTable;
  audit_log: AuditLogTable;
}

export type Account = Selectable<AccountsTable>;
export type Plan = Selectable<PlansTable>;
export type Grant = Selectable<GrantsTable>;
export type Hold = Selectable<HoldsTable>;
export type NewLedgerEntry = Insertable<LedgerEntriesTable>;
