import { sql } from 'kysely';
import type { Db } from './database.js';

export interface ReplicaLag {
  /** How far behind the replica's data is in time; 0 when it has replayed everything the primary flushed. */
  seconds: number;
  /** WAL the primary has flushed that the replica has not replayed yet. */
  bytes: number;
}

/**
 * The replica's lag, by comparing positions in the WAL rather than trusting the replay timestamp alone:
 * `now() - pg_last_xact_replay_timestamp()` grows without bound while the primary is idle, though the
 * replica has nothing left to replay. So the primary's flushed position is read first; a replica that has
 * replayed up to it is 0 behind; one that has not is as old as the last transaction it replayed.
 *
 * ```sql
 * -- primary
 * select pg_current_wal_flush_lsn()::text
 * -- replica
 * select pg_wal_lsn_diff($1, pg_last_wal_replay_lsn()), extract(epoch from now() - pg_last_xact_replay_timestamp())
 * ```
 */
export async function readReplicaLag(primary: Db, replica: Db): Promise<ReplicaLag> {
  const { rows: flushed } = await sql<{ lsn: string }>`select pg_current_wal_flush_lsn()::text as lsn`.execute(primary);
  const { rows } = await sql<{ recovering: boolean; behind: number | null; age: number | null }>`
    select pg_is_in_recovery() as recovering,
      pg_wal_lsn_diff(${flushed[0]!.lsn}::pg_lsn, pg_last_wal_replay_lsn()) as behind,
      extract(epoch from now() - pg_last_xact_replay_timestamp())::float8 as age`.execute(replica);
  const r = rows[0]!;
  // Not a standby (DATABASE_READ_URL naming the primary, or a promoted replica): nothing to lag behind.
  if (!r.recovering || r.behind === null) return { seconds: 0, bytes: 0 };
  if (r.behind <= 0) return { seconds: 0, bytes: 0 };
  return { seconds: Math.max(0, r.age ?? 0), bytes: r.behind };
}
