import { sql, type Kysely } from 'kysely';

// A period of a Stripe-billed account that was not paid: it fell back to the free plan, with what was
// taken back and kept of the paid allocation, so that a late payment restores the plan for that period
// and allocates it once (the primary key).
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table lapsed_periods (
      user_id text not null references accounts (user_id),
      period_index integer not null,
      plan_id text not null references plans (id),
      subscription_id text,
      reason text not null,
      paid_tokens_kept integer not null default 0 check (paid_tokens_kept >= 0),
      tokens_taken_back integer not null default 0 check (tokens_taken_back >= 0),
      free_grant_id bigint references grants (id),
      lapsed_at timestamptz not null,
      restored_at timestamptz,
      primary key (user_id, period_index)
    );
  `.execute(db);
}
