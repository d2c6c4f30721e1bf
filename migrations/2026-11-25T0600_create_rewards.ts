import { sql, type Kysely } from 'kysely';

// Seasonal campaigns (a bonus per account per campaign: the grant's idempotency key), the loyalty tiers,
// and every move of an account between plans (written by the ledger when a plan changes), for analytics.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table campaigns (
      id text primary key,
      name text not null,
      starts_at timestamptz not null,
      ends_at timestamptz not null check (ends_at > starts_at),
      plans text[],
      bonus_tokens integer check (bonus_tokens >= 0),
      bonus_percent integer check (bonus_percent >= 0),
      expires_at timestamptz,
      updated_at timestamptz not null
    );
    create table loyalty_settings (
      id integer primary key check (id = 1),
      tiers jsonb not null,
      updated_at timestamptz not null
    );
    insert into loyalty_settings (id, tiers, updated_at)
    values (1, '[{"months":3,"bonusPercent":5},{"months":6,"bonusPercent":10},{"months":12,"bonusPercent":20}]', now());
    create table plan_moves (
      id bigserial primary key,
      user_id text not null references accounts (user_id),
      from_plan text not null,
      to_plan text not null,
      moved_at timestamptz not null
    );
    create index plan_moves_at on plan_moves (moved_at);
  `.execute(db);
}
