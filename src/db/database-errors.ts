import pg from 'pg';

/**
 * PostgreSQL could not be reached, or dropped the connection under a query: an outage, not a bug. The
 * pool of src/db/database.ts raises it for every failure to connect and for every query of a client
 * whose connection broke, since node-postgres gives neither a SQLSTATE.
 */
export class PostgresUnreachable extends Error {
  constructor(cause: unknown) {
    super(`PostgreSQL is unreachable: ${(cause as Error)?.message ?? String(cause)}`, { cause });
    this.name = 'PostgresUnreachable';
  }
}

/** A statement's failure as callers see it: PostgreSQL's own answer as it is; anything else is a connection that could not be had or was lost. */
export function statementFailure(error: unknown): unknown {
  return error instanceof pg.DatabaseError ? error : new PostgresUnreachable(error);
}

function sqlstate(error: unknown): string | undefined {
  return error instanceof pg.DatabaseError && typeof error.code === 'string' ? error.code : undefined;
}

/**
 * The server is away or cannot serve now, by SQLSTATE class: 08 connection exception, 53 insufficient
 * resources (53300: out of connections), 57P operator intervention (shutdown, crash recovery, not yet
 * accepting), 57014 a statement cancelled by statement_timeout, 58 system error. Socket errors and
 * broken connections reach here as PostgresUnreachable.
 */
export function isPostgresOutage(error: unknown): boolean {
  if (error instanceof PostgresUnreachable) return true;
  const code = sqlstate(error);
  return code !== undefined && (/^(08|53|57P|58)/.test(code) || code === '57014');
}

/** 55P03 lock_not_available: lock_timeout ran out while another transaction held the row. */
export function isLockTimeout(error: unknown): boolean {
  return sqlstate(error) === '55P03';
}

/**
 * PostgreSQL refused the data itself, by SQLSTATE class: 22 data exception (a character or a date it
 * cannot store, a number out of range), 23 integrity constraint violation (a check, a missing
 * reference). Retrying the same data fails the same way; anything else (an outage, a timeout, a
 * serialization failure) may succeed later.
 */
export function isDataError(error: unknown): boolean {
  const code = sqlstate(error);
  return code !== undefined && /^(22|23)/.test(code);
}
