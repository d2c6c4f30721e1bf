import { sql, type Kysely } from 'kysely';

// When an account's earliest live grant (remaining > 0) expires; null when none of its live grants
// expires. A reader that does not lock the account (the plain check, the account view, the admin
// search) looks for grants past their expiry only once this instant has come (src/ledger/spendable.ts):
// that look-up was most of the one-connection check's PostgreSQL time (pgbench, one client, on this
// repository's 2-core machines: the check's statement 129-168 µs with it, 92-104 µs without, the
// floor's 84-106). Kept by the schema, not by the engine, so that every writer of grants keeps it, a
// hand-written statement too: each change to whether a grant is live, or to when it expires, sets it
// again from the account's grants. A use that leaves a grant above zero changes neither and fires no
// trigger; one fires only when a use spends a grant's last token.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    alter table accounts add column next_grant_expiry timestamptz;
    create function set_next_grant_expiry() returns trigger language plpgsql as $$
    begin
      -- The grant's account, and the one it left if a statement moved it.
      update accounts a set next_grant_expiry =
        (select min(g.expires_at) from grants g where g.user_id = a.user_id and g.remaining > 0)
      where a.user_id in (new.user_id, old.user_id);
      return null;
    end $$;
    create trigger grants_made_set_next_expiry after insert on grants for each row
      when (new.remaining > 0 and new.expires_at is not null) execute function set_next_grant_expiry();
    create trigger grants_changed_set_next_expiry after update of remaining, expires_at, user_id on grants for each row
      when ((old.remaining > 0) is distinct from (new.remaining > 0) or old.expires_at is distinct from new.expires_at
        or old.user_id is distinct from new.user_id)
      execute function set_next_grant_expiry();
    create trigger grants_removed_set_next_expiry after delete on grants for each row
      when (old.remaining > 0 and old.expires_at is not null) execute function set_next_grant_expiry();
    update accounts a set next_grant_expiry = (select min(g.expires_at) from grants g where g.user_id = a.user_id and g.remaining > 0);
  `.execute(db);
}
