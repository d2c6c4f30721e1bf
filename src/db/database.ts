import { userInfo } from 'node:os';
import { Kysely, PostgresDialect, type Transaction } from 'kysely';
import pg from 'pg';
import type { Database } from './schema.js';

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

export function createDb(databaseUrl: string, max = 10): Db {
  const pool = new pg.Pool({ connectionString: withDefaultUser(databaseUrl), max, types, connectionTimeoutMillis: 5000 });
  pool.on('error', () => {
    // An idle client lost its server (restart, network); the pool replaces it on next use.
  });
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
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
