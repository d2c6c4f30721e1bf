import { sql, type Kysely } from 'kysely';

// A grant's row is written when its unit of work flushes, at the end of the transaction (src/ledger/
// run-ledger.ts), but a payment or a lapsed period may name it before that: the references to grants are
// checked at commit instead of at each statement. They are still checked: a row naming a grant that was
// never written fails the commit.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    alter table payments alter constraint payments_grant_id_fkey deferrable initially deferred;
    alter table lapsed_periods alter constraint lapsed_periods_free_grant_id_fkey deferrable initially deferred;
  `.execute(db);
}
