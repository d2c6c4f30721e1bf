import { sql, type Kysely } from 'kysely';

// Which payment a payment intent or charge paid: learned from invoice_payment.paid (current API shape),
// from an invoice or checkout session (legacy shape), or from a refund that named both ids. Unique per id;
// a refund that arrives first leaves the row without a target, and waits on it.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table stripe_payment_refs (
      ref text primary key,
      invoice_id text,
      checkout_session_id text,
      check (num_nonnulls(invoice_id, checkout_session_id) <= 1)
    );
    create index stripe_payment_refs_invoice on stripe_payment_refs (invoice_id) where invoice_id is not null;
  `.execute(db);
}
