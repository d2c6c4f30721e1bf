import { sql } from 'kysely';
import type { Executor } from './database.js';

/**
 * Every engine session carries lock_timeout and statement_timeout (src/db/database.ts), so that a request
 * never waits long on a busy row and no runaway statement holds a connection. A background job that
 * waits for another run of itself (an advisory lock) and scans whole tables lifts both, for the
 * transaction it runs in only.
 */
export async function liftTimeoutsForTransaction(trx: Executor): Promise<void> {
  await sql`set local lock_timeout = 0`.execute(trx);
  await sql`set local statement_timeout = 0`.execute(trx);
}
