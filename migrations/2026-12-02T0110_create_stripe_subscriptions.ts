import { sql, type Kysely } from 'kysely';

// What Stripe told about each subscription, keyed on its id: the account it belongs to, its status, price
// and plan, its current billing period, whether it ends at the period end. state_at/state_rank/state_event_id
// name the newest subscription snapshot applied, so an older event never overrides newer state.
// started_at orders an account's subscriptions: the most recently started one is the account's current one.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table stripe_subscriptions (
      id text primary key,
      user_id text references accounts (user_id),
      status text,
      price_id text,
      plan_id text references plans (id),
      metadata_plan text,
      checkout_session_id text,
      current_period_start timestamptz,
      current_period_end timestamptz,
      cancel_at_period_end boolean not null default false,
      cancel_at timestamptz,
      ended_at timestamptz,
      started_at timestamptz,
      state_at timestamptz,
      state_rank integer,
      state_event_id text,
      updated_at timestamptz not null
    );
    create index stripe_subscriptions_account on stripe_subscriptions (user_id);
  `.execute(db);
}
