import { sql, type Kysely } from 'kysely';

// Invariant violations found by the reconcile job. One row per episode: from the run that first finds a
// check broken for an account (or a rollup day) to the first run that finds it whole again, so reruns
// raise nothing new while a violation persists (the open-episode index) and a violation that comes back
// is a new alert. Ids are drawn from the alerts' sequence: GET /admin/api/alerts lists both kinds of
// admin alert, newest first, in one order.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table reconcile_violations (
      id bigint primary key default nextval('alerts_id_seq'),
      check_name text not null,
      subject text not null,
      user_id text,
      day date,
      expected bigint not null,
      actual bigint not null,
      details jsonb not null,
      notification_id text references notifications (id),
      first_seen_at timestamptz not null,
      last_seen_at timestamptz not null,
      resolved_at timestamptz
    );
    create unique index reconcile_violations_open on reconcile_violations (check_name, subject) where resolved_at is null;
    create index reconcile_violations_account on reconcile_violations (user_id, id desc);
  `.execute(db);
}
