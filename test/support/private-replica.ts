import pg from 'pg';
import { loadConfig } from '../../src/config.js';
import { ensureDatabase } from '../../src/db/ensure-database.js';
import { createLogger } from '../../src/log.js';
import { migrateAndSeed } from '../../src/startup.js';
import { waitFor } from './engine.js';
import { startPrivatePostgres, type PrivatePostgres } from './private-postgres.js';

export interface PrimaryAndReplica {
  primary: PrivatePostgres;
  replica: PrivatePostgres;
  /** The migrated and seeded database, on the primary and (replicated) on the replica. */
  primaryUrl: string;
  replicaUrl: string;
  /** Waits (a bounded poll) until the replica has replayed everything the primary had written when called. */
  caughtUp(): Promise<void>;
  /** pg_wal_replay_pause(): the replica keeps receiving WAL but shows nothing new until resumed. */
  pauseReplay(): Promise<void>;
  resumeReplay(): Promise<void>;
  /** A query on the replica's database, for assertions. */
  onReplica<R extends pg.QueryResultRow>(text: string, values?: unknown[]): Promise<R[]>;
  /** Stops and deletes both clusters. */
  remove(): Promise<void>;
}

/**
 * A private PostgreSQL primary and a streaming replica of it (pg_basebackup -R: standby.signal and
 * primary_conninfo), each in a temp folder on a free loopback port, with `database` migrated and seeded
 * on the primary. Both stop when `remove` is called, and at process exit whatever happened before.
 */
export async function startPrimaryAndReplica(database: string): Promise<PrimaryAndReplica> {
  const primary = await startPrivatePostgres();
  let replica: PrivatePostgres | undefined;
  const clients: pg.Client[] = [];
  try {
    const primaryUrl = primary.url(database);
    await ensureDatabase(primaryUrl);
    await migrateAndSeed(loadConfig({ DATABASE_URL: primaryUrl }), createLogger('silent'));
    replica = await startPrivatePostgres({ standbyOf: primary });
    const standby = replica;
    const replicaUrl = standby.url(database);
    const connect = async (url: string) => {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      clients.push(client);
      return client;
    };
    const onPrimary = await connect(primaryUrl);
    // Connected again after the replica has been stopped and started (a test may do that).
    let replicaClient: pg.Client | undefined;
    const queryReplica = async <R extends pg.QueryResultRow>(text: string, values?: unknown[]) => {
      if (!replicaClient) {
        const client = await waitFor(() => connect(replicaUrl), 'the replica to accept connections', 30_000);
        const forget = () => void (replicaClient === client && (replicaClient = undefined));
        client.on('error', forget);
        client.on('end', forget);
        replicaClient = client;
      }
      return (await replicaClient.query<R>(text, values)).rows;
    };
    const onReplica = { query: async <R extends pg.QueryResultRow>(text: string, values?: unknown[]) => ({ rows: await queryReplica<R>(text, values) }) };
    const { rows: recovering } = await onReplica.query<{ r: boolean }>('select pg_is_in_recovery() as r');
    if (!recovering[0]!.r) throw new Error('the replica is not in recovery: it is no standby');

    return {
      primary,
      replica: standby,
      primaryUrl,
      replicaUrl,
      async caughtUp() {
        const { rows } = await onPrimary.query<{ lsn: string }>('select pg_current_wal_lsn()::text as lsn');
        const target = rows[0]!.lsn;
        await waitFor(
          async () => (await onReplica.query<{ done: boolean }>('select pg_last_wal_replay_lsn() >= $1::pg_lsn as done', [target])).rows[0]!.done,
          `the replica to replay up to ${target}`,
          30_000,
        );
      },
      async pauseReplay() {
        await onReplica.query('select pg_wal_replay_pause()');
      },
      async resumeReplay() {
        await onReplica.query('select pg_wal_replay_resume()');
      },
      onReplica: queryReplica,
      async remove() {
        await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
        await standby.remove();
        await primary.remove();
      },
    };
  } catch (error) {
    await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
    await replica?.remove();
    await primary.remove();
    throw error;
  }
}
