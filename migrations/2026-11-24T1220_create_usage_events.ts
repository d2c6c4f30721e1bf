import { sql, type Kysely } from 'kysely';

// The primary key is the idempotency key: a usage event settles exactly once, whatever the retries.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table usage_events (
      idempotency_key text primary key,
      user_id text not null,
      feature_key text not null,
      payload_hash text not null,
      status text not null check (status in ('applied', 'rejected')),
      reason text,
      cost integer not null check (cost >= 0),
      balance_after integer,
      reservation_id uuid,
      occurred_at timestamptz not null,
      applied_at timestamptz not null,
      metadata jsonb
    );
    create index usage_events_account on usage_events (user_id, occurred_at);
  `.execute(db);
}
