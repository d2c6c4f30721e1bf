import { sql, type Kysely } from 'kysely';

// Every quantity of tokens carries a check constraint: no code path, present or future, can store a
// negative balance, a negative grant remainder or an overspent grant.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table accounts (
      user_id text primary key check (user_id ~ '^[A-Za-z0-9_.:@-]{1,128}$'),
      plan_id text not null references plans (id),
      email text,
      balance integer not null default 0 check (balance >= 0),
      held integer not null default 0 check (held >= 0),
      anchor_at timestamptz not null,
      period_index integer not null default 0,
      period_start timestamptz not null,
      period_end timestamptz not null check (period_end > period_start),
      period_allocated integer not null default 0 check (period_allocated >= 0),
      period_used integer not null default 0 check (period_used >= 0),
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );
    create index accounts_period_end on accounts (period_end);

    create table grants (
      id bigserial primary key,
      user_id text not null references accounts (user_id),
      source text not null check (source in ('plan', 'purchase', 'bonus', 'adjustment', 'rollover')),
      source_ref text,
      tokens integer not null check (tokens > 0),
      remaining integer not null check (remaining >= 0 and remaining <= tokens),
      expires_at timestamptz,
      idempotency_key text not null unique,
      created_at timestamptz not null default now()
    );
    create index grants_live on grants (user_id, expires_at) where remaining > 0;

    create table holds (
      id uuid primary key,
      user_id text not null references accounts (user_id),
      feature_key text not null references features (key),
      cost integer not null check (cost >= 0),
      status text not null check (status in ('open', 'used', 'released', 'expired')),
      allocations jsonb not null,
      expires_at timestamptz not null,
      created_at timestamptz not null,
      settled_at timestamptz,
      settled_by text
    );
    create index holds_open on holds (expires_at) where status = 'open';

    create table ledger_entries (
      id bigserial primary key,
      user_id text not null references accounts (user_id),
      kind text not null check (kind in ('grant', 'use', 'hold', 'release', 'expiry', 'reversal')),
      amount integer not null,
      held_delta integer not null default 0,
      balance_after integer not null check (balance_after >= 0),
      held_after integer not null check (held_after >= 0),
      feature_key text,
      cost integer check (cost >= 0),
      grant_id bigint references grants (id),
      hold_id uuid references holds (id),
      usage_key text,
      source text,
      occurred_at timestamptz not null,
      created_at timestamptz not null default now(),
      metadata jsonb
    );
    create index ledger_entries_account on ledger_entries (user_id, id desc);
    create index ledger_entries_occurred on ledger_entries (occurred_at);
    create unique index ledger_entries_one_use_per_key on ledger_entries (usage_key) where kind = 'use';
  `.execute(db);
}
