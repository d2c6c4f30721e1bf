import { sql, type Kysely } from 'kysely';

// A day's uses and tokens are sums over every account: an int4 overflows long before any account's
// balance does, and a failed rollup would stop analytics. bigint reads back as a number (src/db).
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    alter table usage_daily alter column uses type bigint, alter column tokens type bigint;
    alter table activity_daily alter column uses type bigint, alter column tokens type bigint, alter column rejected type bigint;
  `.execute(db);
}
