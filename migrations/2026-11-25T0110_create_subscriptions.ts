import { sql, type Kysely } from 'kysely';

// An account without a row here renews on its plan until told otherwise (accounts created by a trusted
// service). A row records what payments said: paid through when, lapsing, or a downgrade waiting for
// the next renewal.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table subscriptions (
      user_id text primary key references accounts (user_id),
      status text not null check (status in ('active', 'lapsing', 'lapsed')),
      paid_through timestamptz,
      lapse_reason text,
      pending_plan_id text references plans (id),
      stripe_subscription_id text unique,
      updated_at timestamptz not null
    );
  `.execute(db);
}
