import { sql, type Kysely } from 'kysely';

// Money that comes back to the customer other than through the charge's amount_refunded: a lost dispute
// (a chargeback), and a refund that failed (its money stays with the merchant). One row per Stripe object,
// so a second delivery counts once.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table payment_adjustments (
      stripe_id text primary key,
      payment_id bigint not null references payments (id),
      kind text not null check (kind in ('refund_failed', 'dispute_lost')),
      amount_cents integer not null check (amount_cents >= 0),
      occurred_at timestamptz not null
    );
    create index payment_adjustments_payment on payment_adjustments (payment_id);
  `.execute(db);
}
