import { sql, type Kysely } from 'kysely';

// An account's open holds are read on every reserve (the cap), on every read of its balance while it
// holds tokens (expiry at the instant) and by GET /v1/accounts/{userId}/holds.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`create index holds_open_by_account on holds (user_id, expires_at) where status = 'open'`.execute(db);
}
