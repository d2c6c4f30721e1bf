import { sql, type Kysely } from 'kysely';

// Stripe events are kept under their id (primary key), so a retried or duplicated delivery is stored and
// applied once. A payment is unique by each Stripe object that can announce it (checkout session, invoice,
// payment intent): a subscription's first invoice arrives both as checkout.session.completed and as
// invoice.paid, and must allocate once.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table stripe_events (
      id text primary key,
      type text not null,
      payload jsonb not null,
      status text not null default 'received' check (status in ('received', 'applied', 'ignored', 'failed')),
      outcome_code text,
      outcome_message text,
      user_id text,
      received_at timestamptz not null,
      processed_at timestamptz
    );
    create index stripe_events_status on stripe_events (status, received_at desc);

    create table payments (
      id bigserial primary key,
      user_id text not null references accounts (user_id),
      kind text not null check (kind in ('plan', 'topup')),
      plan_id text references plans (id),
      tokens integer not null default 0 check (tokens >= 0),
      grant_id bigint references grants (id),
      amount_cents integer not null check (amount_cents >= 0),
      currency text not null,
      period_start timestamptz,
      period_end timestamptz,
      stripe_event_id text not null references stripe_events (id),
      checkout_session_id text unique,
      invoice_id text unique,
      payment_intent_id text unique,
      subscription_id text,
      refunded_cents integer not null default 0 check (refunded_cents >= 0),
      tokens_reversed integer not null default 0 check (tokens_reversed >= 0 and tokens_reversed <= tokens),
      paid_at timestamptz not null
    );
    create index payments_account on payments (user_id, paid_at);
  `.execute(db);
}
