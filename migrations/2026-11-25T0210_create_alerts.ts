import { sql, type Kysely } from 'kysely';

// Unusual usage found by the alerts job: one row per account, rule and window, so a rerun raises nothing new.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table alerts (
      id bigserial primary key,
      user_id text not null references accounts (user_id),
      rule text not null check (rule in ('burst', 'rejections', 'rate', 'around_the_clock')),
      window_start timestamptz not null,
      window_end timestamptz not null,
      observed integer not null,
      threshold integer not null,
      details jsonb not null,
      notification_id text references notifications (id),
      raised_at timestamptz not null,
      unique (user_id, rule, window_end)
    );
    create index alerts_raised on alerts (raised_at desc);
    create index usage_events_rejected on usage_events (occurred_at) where status = 'rejected';
  `.execute(db);
}
