import pg from 'pg';
import { inject } from 'vitest';
import { withDefaultUser } from '../../src/db/database.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The run's migrated and seeded database, which every test database copies (test/support/global-setup.ts). */
    templateDatabase: string;
  }
}

/** The shared PostgreSQL server the tests use (each file in a database of its own). */
export const SHARED_PG = process.env.TEST_PG_URL ?? 'postgres://127.0.0.1:5432';

export const quoteIdent = (name: string) => `"${name.replaceAll('"', '""')}"`;

/** A client of the server's `postgres` database, for creating and dropping databases. */
export async function maintenanceClient(serverUrl: string): Promise<pg.Client> {
  const url = new URL(withDefaultUser(serverUrl));
  url.pathname = '/postgres';
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  return client;
}

/**
 * Creates a test's database as a copy of the run's template, so that a file starts in milliseconds instead
 * of a migration run; the engine then finds it migrated and seeded. A database on another server (a fault
 * test's private PostgreSQL), or a run without the template, is left to the engine, which creates and
 * migrates it itself.
 */
export async function cloneTemplate(databaseUrl: string): Promise<void> {
  const template = inject('templateDatabase');
  const url = new URL(databaseUrl);
  if (!template || url.host !== new URL(SHARED_PG).host) return;
  const client = await maintenanceClient(databaseUrl);
  try {
    await client.query(`create database ${quoteIdent(decodeURIComponent(url.pathname.slice(1)))} template ${quoteIdent(template)}`);
  } catch (error) {
    if ((error as { code?: string }).code !== '42P04') throw error; // made already, for another process of the same test
  } finally {
    await client.end();
  }
}
