import { sql, type Kysely } from 'kysely';

// The Stripe prices that buy each plan, by price id or lookup key: a subscription's plan is the plan of its
// price. A price names one plan (primary key), so a subscription can never be on two.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table plan_prices (
      price text primary key check (price <> ''),
      plan_id text not null references plans (id),
      created_at timestamptz not null
    );
    create index plan_prices_plan on plan_prices (plan_id);
  `.execute(db);
}
