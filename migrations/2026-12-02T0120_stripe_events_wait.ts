import { sql, type Kysely } from 'kysely';

// An event that needs state that has not arrived yet (a subscription not yet linked to an account, a
// refund of a payment not yet recorded) waits under the key of that state and is applied again when it
// arrives. Each re-application (wake, replay, sweep) is a new round, so it gets a queue job of its own.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    alter table stripe_events drop constraint stripe_events_status_check;
    alter table stripe_events add constraint stripe_events_status_check
      check (status in ('received', 'waiting', 'applied', 'ignored', 'failed'));
    alter table stripe_events add column waiting_for text;
    alter table stripe_events add column round integer not null default 0;
    create index stripe_events_waiting on stripe_events (waiting_for) where status = 'waiting';
    create index stripe_events_received on stripe_events (id) where status = 'received';
  `.execute(db);
}
