import { sql, type Kysely } from 'kysely';

// Per-day aggregates, so analytics never scan the ledger; a day is recomputed whole from its own
// entries, so rerunning it gives the same numbers.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    alter table ledger_entries add column plan_id text;
    create table usage_daily (
      day date not null,
      feature_key text not null,
      plan_id text not null,
      uses integer not null,
      tokens integer not null,
      primary key (day, feature_key, plan_id)
    );
    create table activity_daily (
      day date primary key,
      active_users integer not null,
      uses integer not null,
      tokens integer not null,
      rejected integer not null
    );
    create table rollup_state (
      name text primary key,
      last_entry_id bigint not null,
      last_settled_at timestamptz not null,
      updated_at timestamptz not null
    );
    -- When a usage event settled, in the database's own time: what changed since the last rollup.
    alter table usage_events add column settled_at timestamptz not null default now();
    create index usage_events_settled_at on usage_events (settled_at);
    create index ledger_entries_uses on ledger_entries (occurred_at) where kind = 'use';
  `.execute(db);
}
