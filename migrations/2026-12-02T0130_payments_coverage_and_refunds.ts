import { sql, type Kysely } from 'kysely';

// A plan payment pays `periods` engine periods (12 for a yearly plan) worth `tokens`; a refund takes back
// the share its cumulative amount calls for (tokens_refunded), from periods not yet begun
// (tokens_cancelled: the paid coverage shrinks) and then from the unspent tokens of the current one
// (tokens_reversed). A proration payment pays the prorated part of an upgrade. refunds_seen_at is the
// Stripe time of the charge snapshot that set refunded_cents, so an older one never lowers it. A payment
// refunded (or disputed) in full is voided: it no longer pays any period.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    alter table payments drop constraint payments_kind_check;
    alter table payments add constraint payments_kind_check check (kind in ('plan', 'topup', 'proration'));
    alter table payments drop constraint payments_check;
    alter table payments add column periods integer not null default 1 check (periods >= 1);
    alter table payments add column period_estimated boolean not null default false;
    alter table payments add column opened_period_index integer;
    alter table payments add column charge_id text unique;
    alter table payments add column tokens_refunded integer not null default 0 check (tokens_refunded >= 0);
    alter table payments add column tokens_cancelled integer not null default 0 check (tokens_cancelled >= 0);
    alter table payments add column refunds_seen_at timestamptz;
    alter table payments add column voided_at timestamptz;
    alter table payments add constraint payments_tokens_back check (tokens_reversed + tokens_cancelled <= tokens);
    create index payments_subscription on payments (subscription_id, period_start) where subscription_id is not null;
  `.execute(db);
}
