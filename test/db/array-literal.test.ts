import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withDefaultUser } from '../../src/db/database.js';
import { arrayLiteral } from '../../src/db/array-literal.js';
import { SHARED_PG } from '../support/databases.js';

// The ledger's flush and the usage apply send their rows as array literals: what PostgreSQL reads back
// must be exactly what was sent, whatever a caller put in an idempotency key or a metadata string.
describe('array parameters reach PostgreSQL as sent', () => {
  const client = new pg.Client({ connectionString: withDefaultUser(`${SHARED_PG}/postgres`) });
  beforeAll(() => client.connect());
  afterAll(() => client.end());

  it('text with quotes, backslashes, commas, braces, spaces, NULL words and non-ASCII, and nulls', async () => {
    const values = ['plain', 'a"b', 'back\\slash', '\\"', 'a,b', '{x}', ' padded ', 'NULL', '', 'ünï 🎉', '{"k":"v\\n"}', null];
    const { rows } = await client.query<{ v: Array<string | null> }>('select $1::text[] as v', [arrayLiteral(values)]);
    expect(rows[0]!.v).toEqual(values);
  });

  it('integers, instants and undefined as NULL', async () => {
    const at = new Date('2026-12-02T08:00:00.123Z');
    const { rows } = await client.query<{ n: Array<number | null>; t: Array<Date | null> }>('select $1::int[] as n, $2::timestamptz[] as t', [
      arrayLiteral([1, -2, 0, undefined]),
      arrayLiteral([at, null]),
    ]);
    expect(rows[0]!.n).toEqual([1, -2, 0, null]);
    expect(rows[0]!.t).toEqual([at, null]);
  });

  it('repeated neighbours, as a batch has them, each reach PostgreSQL as themselves', async () => {
    const [a, b] = [new Date('2026-12-03T10:00:00.001Z'), new Date('2026-12-03T10:00:00.002Z')];
    const instants = [a, new Date(a.getTime()), b, a, null, a];
    const texts = ['{"c":1}', '{"c":1}', 'plain', '{"c":1}', '{"c":2}', 'x\\y', 'x\\y', '{"c":1}'];
    const { rows } = await client.query<{ t: Array<Date | null>; s: string[] }>('select $1::timestamptz[] as t, $2::text[] as s', [
      arrayLiteral(instants),
      arrayLiteral(texts),
    ]);
    expect(rows[0]!.t).toEqual(instants);
    expect(rows[0]!.s).toEqual(texts);
  });

  it('an invalid instant is refused as data (22007), like any other value PostgreSQL cannot store', async () => {
    await expect(client.query('select $1::timestamptz[]', [arrayLiteral([new Date(Number.NaN)])])).rejects.toMatchObject({ code: '22007' });
  });

  it('an empty list is an empty array', async () => {
    const { rows } = await client.query<{ v: string[] }>('select $1::text[] as v', [arrayLiteral([])]);
    expect(rows[0]!.v).toEqual([]);
  });
});
