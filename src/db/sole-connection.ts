import pg from 'pg';
import { statementFailure } from './database-errors.js';

/**
 * One connection of a database's own, beside its pool, for a caller that sends one statement at a time
 * on the hottest path: the lone check (usage/check-reads.ts). Every pool.query defers its checkout to the
 * next tick and arms a timer for the connection timeout; measured on the one-connection check, that is
 * a visible share of the time between the request and its query reaching PostgreSQL. Opened on first
 * use; a connection that errs or ends is dropped, and the next statement opens another, as the pool's
 * idle clients are replaced.
 */
export class SoleConnection {
  private open: pg.Client | undefined;
  private opening: Promise<pg.Client> | undefined;
  private closed = false;

  constructor(private readonly config: pg.ClientConfig) {}

  /** Runs a named prepared statement; anything but PostgreSQL's own answer is PostgresUnreachable. */
  async query<Row>(name: string, text: string, values: unknown[]): Promise<Row[]> {
    try {
      const client = this.open ?? (await this.connect());
      const result = await client.query<Row & pg.QueryResultRow>({ name, text, values });
      return result.rows;
    } catch (error) {
      throw statementFailure(error);
    }
  }

  private connect(): Promise<pg.Client> {
    if (this.closed) return Promise.reject(new Error('the database has been closed'));
    this.opening ??= (async () => {
      const client = new pg.Client(this.config);
      // Unheard, a client's 'error' would crash the process; heard, it retires the client.
      const retire = () => {
        if (this.open === client) this.open = undefined;
      };
      client.on('error', retire);
      client.on('end', retire);
      // A client that failed to connect keeps its listeners: a late socket error on it must not crash
      // the process either, and retiring a client that is not the open one does nothing.
      try {
        await client.connect();
      } finally {
        this.opening = undefined;
      }
      if (this.closed) {
        await client.end().catch(() => undefined);
        throw new Error('the database has been closed');
      }
      this.open = client;
      return client;
    })();
    return this.opening;
  }

  async end(): Promise<void> {
    this.closed = true;
    const client = this.open ?? (await this.opening?.catch(() => undefined));
    this.open = undefined;
    await client?.end().catch(() => undefined);
  }
}
