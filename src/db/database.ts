import { userInfo } from 'node:os';
import {
  DummyDriver,
  Kysely,
  PostgresAdapter,
  PostgresDialect,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type PostgresPool,
  type PostgresPoolClient,
  type RawBuilder,
  type Transaction,
} from 'kysely';
import pg from 'pg';
import type { Database } from './schema.js';
import { PostgresUnreachable, statementFailure } from './database-errors.js';
import { SoleConnection } from './sole-connection.js';

export type Db = Kysely<Database>;
export type Trx = Transaction<Database>;
/** Domain functions take either, so a caller can compose them inside its own transaction. */
export type Executor = Db | Trx;

const INT8 = 20;
const NUMERIC = 1700;

// Counts and sums come back as int8/numeric; every quantity here is far below 2^53.
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8 || oid === NUMERIC) return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format as 'text');
  },
};

export interface DbOptions {
  /** Connections in the pool. */
  max?: number;
  /**
   * Every session's `lock_timeout` and `statement_timeout` (ms; 0 or unset: none). A statement waiting
   * for a row another transaction holds gives up after lockTimeoutMs instead of holding its connection.
   */
  lockTimeoutMs?: number;
  statementTimeoutMs?: number;
  connectionTimeoutMs?: number;
  /** What pg_stat_activity shows for this pool's sessions, so an operator tells the pools apart. */
  applicationName?: string;
}

interface GuardedPool extends PostgresPool {
  connect(): Promise<PostgresPoolClient & { query: pg.PoolClient['query'] }>;
}

const pools = new WeakMap<Db, pg.Pool>();
const soles = new WeakMap<Db, SoleConnection>();

export function createDb(databaseUrl: string, options: DbOptions | number = {}): Db {
  const opts = typeof options === 'number' ? { max: options } : options;
  // What every connection of this database is opened with, the pool's and the sole one's alike.
  const connection: pg.ClientConfig = {
    connectionString: withDefaultUser(databaseUrl),
    types,
    connectionTimeoutMillis: opts.connectionTimeoutMs ?? 5000,
    ...(opts.applicationName ? { application_name: opts.applicationName } : {}),
    ...(opts.lockTimeoutMs ? { lock_timeout: opts.lockTimeoutMs } : {}),
    ...(opts.statementTimeoutMs ? { statement_timeout: opts.statementTimeoutMs } : {}),
  };
  const pool = new pg.Pool({ ...connection, max: opts.max ?? 10 });
  const sole = new SoleConnection(connection);
  pool.on('error', () => {
    // An idle client lost its server (restart, network); the pool replaces it on next use.
  });
  const broken = new WeakSet<pg.PoolClient>();
  // A client in use when its server goes away emits 'error' as well as failing its query, and pg-pool
  // listens only while a client is idle: unheard, that event would crash the process. The query still
  // fails (a 503, a retried job), and the pool discards the broken client when it is released.
  pool.on('connect', (client) => {
    client.on('error', () => broken.add(client));
    client.on('end', () => broken.add(client));
  });
  const guarded = guardPool(pool, broken, sole);
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: guarded }) });
  pools.set(db, pool);
  soles.set(db, sole);
  return db;
}

/**
 * node-postgres reports a failed connect and a query on a connection that broke as plain errors, with
 * no SQLSTATE; they are raised here as PostgresUnreachable, so callers tell an outage from a bug by class.
 */
function guardPool(pool: pg.Pool, broken: WeakSet<pg.PoolClient>, sole: SoleConnection): GuardedPool {
  return {
    async connect() {
      let client: pg.PoolClient;
      try {
        client = await pool.connect();
      } catch (error) {
        throw new PostgresUnreachable(error);
      }
      const query = ((...args: Parameters<pg.PoolClient['query']>) => {
        const result = (client.query as (...a: unknown[]) => unknown)(...args);
        if (!(result instanceof Promise)) return result;
        return result.catch((error: unknown) => {
          throw broken.has(client) && !(error instanceof pg.DatabaseError) ? new PostgresUnreachable(error) : error;
        });
      }) as pg.PoolClient['query'];
      return { query, release: (destroy?: boolean) => client.release(destroy) };
    },
    end: async () => {
      await sole.end();
      await pool.end();
    },
  };
}

/**
 * Runs one query as a named prepared statement on the database's own pool: for the hottest read path,
 * where parsing and planning cost more than executing (measured 0.4 ms against 0.09 ms).
 */
export async function preparedQuery<Row>(db: Db, name: string, text: string, values: unknown[]): Promise<Row[]> {
  const pool = pools.get(db);
  if (!pool) throw new Error('preparedQuery needs a database made by createDb');
  // pool.query checks a client out and back in itself: measured under 50 connections of checks, the
  // promise-returning connect() and release() pair left about 480 bytes per query for the old generation
  // (the heap grew 3.5 MB/s until a full collection), pool.query nothing.
  try {
    const result = await pool.query<Row & pg.QueryResultRow>({ name, text, values });
    return result.rows;
  } catch (error) {
    throw statementFailure(error);
  }
}

/**
 * preparedQuery on the database's sole connection (db/sole-connection.ts) instead of its pool: for a
 * caller that has at most one statement out at a time (a second waits behind the first on the same
 * connection) and whose latency the pool's checkout is a measurable part of.
 */
export function soleQuery<Row>(db: Db, name: string, text: string, values: unknown[]): Promise<Row[]> {
  const sole = soles.get(db);
  if (!sole) throw new Error('soleQuery needs a database made by createDb');
  return sole.query<Row>(name, text, values);
}

// Builds statement text without a database (Kysely's "compile only" set-up).
const compiler = new Kysely<Database>({
  dialect: {
    createAdapter: () => new PostgresAdapter(),
    createDriver: () => new DummyDriver(),
    createIntrospector: (db) => new PostgresIntrospector(db),
    createQueryCompiler: () => new PostgresQueryCompiler(),
  },
});

/**
 * The text of a statement built from shared SQL fragments, for preparedQuery. Its placeholders are
 * written in it (`sql.raw('$1')`), so it must carry no values of its own.
 */
export function statementText(statement: RawBuilder<unknown>): string {
  const compiled = statement.compile(compiler);
  if (compiled.parameters.length > 0) throw new Error('a prepared statement takes its values as $n placeholders, not as bound values');
  return compiled.sql;
}

/**
 * libpq falls back to the OS user when a URL names none; node-postgres reads $USER, which service
 * managers and CI often leave unset. Fill it in the way libpq would.
 */
export function withDefaultUser(databaseUrl: string): string {
  const url = new URL(databaseUrl);
  if (!url.username) url.username = process.env.PGUSER ?? process.env.USER ?? userInfo().username;
  return url.toString();
}
