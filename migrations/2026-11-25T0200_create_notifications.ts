import { sql, type Kysely } from 'kysely';

// The notification outbox. A notification is written in the transaction that caused it (the debit that
// crossed a level, the alert run that found a burst), keyed by its business key, so a crash can neither
// lose it nor record it twice; each channel's delivery is tracked apart, so a webhook acknowledged while
// the mail server is down is never sent again.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    alter table accounts
      add column warned_level smallint not null default 0 check (warned_level in (0, 90, 95, 100)),
      add column warned_period_start timestamptz,
      add column warning_arming integer not null default 0 check (warning_arming >= 0);

    create table notifications (
      id text primary key,
      seq bigserial not null unique,
      key text not null unique,
      type text not null check (type in ('tokens.warning', 'tokens.alert')),
      user_id text,
      data jsonb not null,
      occurred_at timestamptz not null,
      created_at timestamptz not null default now()
    );
    create index notifications_user on notifications (user_id, seq desc);

    create table notification_deliveries (
      id bigserial primary key,
      notification_id text not null references notifications (id),
      channel text not null check (channel in ('webhook', 'email')),
      status text not null default 'pending' check (status in ('pending', 'delivered', 'failed', 'skipped')),
      round integer not null default 0,
      attempts integer not null default 0,
      last_error text,
      updated_at timestamptz not null default now(),
      delivered_at timestamptz,
      unique (notification_id, channel)
    );
    create index notification_deliveries_pending on notification_deliveries (id) where status = 'pending';
    create index notification_deliveries_failed on notification_deliveries (id) where status = 'failed';
  `.execute(db);
}
