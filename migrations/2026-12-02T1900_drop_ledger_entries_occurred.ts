import { sql, type Kysely } from 'kysely';

// Every query of ledger entries by time asks for uses only (rollups, analytics, the dashboard, demand
// pricing, alerts), and ledger_entries_uses (occurred_at, where kind = 'use') answers them all. The
// index over every kind was one more entry to write for each use, unread.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`drop index if exists ledger_entries_occurred`.execute(db);
}
