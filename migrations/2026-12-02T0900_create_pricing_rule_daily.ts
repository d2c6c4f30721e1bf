import { sql, type Kysely } from 'kysely';

// What each pricing rule did per day (uses it priced, tokens charged, their base price), so analytics stop
// scanning a month of raw ledger entries. Maintained with the other daily rollups (src/insight/rollups.ts):
// a touched day is recomputed whole. Starting the rollups over from the first entry fills it for the days
// before this migration at the next run, in the engine's own TOKENS_TIMEZONE (unknown here); recomputing
// a day gives the same numbers, so the other rollups are unchanged by it.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table pricing_rule_daily (
      day date not null,
      rule_id text not null,
      uses bigint not null,
      tokens bigint not null,
      base_tokens bigint not null,
      primary key (day, rule_id)
    );
    update rollup_state set last_entry_id = 0, last_settled_at = 'epoch' where name = 'daily';
  `.execute(db);
}
