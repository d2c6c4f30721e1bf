import { sql, type Kysely } from 'kysely';

// pricing_state.version also moves with every change to the catalog's features and price versions, by
// whichever writer (the admin API, a seed, a hand-written statement): a process may then cache the
// catalog keyed by the version the check reads in its own query (src/pricing/pricing-cache.ts). A
// statement-level trigger: one bump per statement, in the writer's transaction, even for one that
// changes no row (a bump too many only makes a process reload).
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create function bump_pricing_version() returns trigger language plpgsql as $$
    begin
      update pricing_state set version = version + 1 where id = 1;
      return null;
    end $$;
    create trigger features_bump_pricing_version after insert or update or delete or truncate on features
      for each statement execute function bump_pricing_version();
    create trigger feature_prices_bump_pricing_version after insert or update or delete or truncate on feature_prices
      for each statement execute function bump_pricing_version();
  `.execute(db);
}
