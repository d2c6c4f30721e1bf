import { sql, type Kysely } from 'kysely';

// No query reads usage_events by account: keys are looked up by the primary key, rejections by
// usage_events_rejected, the rollups by usage_events_settled_at, and an account's history comes from
// ledger_entries (ledger_entries_account). The index was one more entry to write for each settled event.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`drop index if exists usage_events_account`.execute(db);
}
