import { sql, type RawBuilder } from 'kysely';
import { preparedQuery, soleQuery, statementText, type Db } from '../db/database.js';
import { arrayLiteral } from '../db/array-literal.js';
import { accountColumnsOf, spendableAt, spendableFromRowAt } from '../ledger/spendable.js';

/** The account's side of a plain check: the catalog version read with it, whether it exists, what it can spend. */
export interface CheckRead {
  pricing_version: number;
  account_exists: boolean;
  spendable: number | null;
}

const accountColumns = accountColumnsOf('a');

// $1 the account, $2 the time. The feature's price and the rules come from the PricingCache, kept current
// by the version read here. LONE reads the account's row alone, and answers whenever the row is the whole
// answer (nothing held, no grant past its expiry); otherwise its spendable is null, and ONE (the whole
// rule) follows.
const oneRow = (spendable: RawBuilder<number | null>) =>
  statementText(sql`
  select (select version from pricing_state where id = 1) as pricing_version,
    a.user_id is not null as account_exists,
    ${spendable} as spendable
  from (select 1) as one
  left join accounts a on a.user_id = $1`);
const LONE = oneRow(spendableFromRowAt(accountColumns, sql.raw('$2::timestamptz')));
const ONE = oneRow(spendableAt(accountColumns, sql.raw('$2::timestamptz')));

// The same read for many checks at once: $1 the accounts, $2 the time of each. The lateral subquery with
// its `offset 0` keeps every account an index probe: joined plainly, a small accounts table is
// seq-scanned into a hash (the planner takes unnest for 100 rows).
const MANY = statementText(sql`
  select (select version from pricing_state where id = 1) as pricing_version,
    a.user_id is not null as account_exists,
    ${spendableAt(accountColumns, sql.ref('c.at'))} as spendable
  from unnest($1::text[], $2::timestamptz[]) with ordinality as c(user_id, at, n)
  left join lateral (select a.user_id, a.balance, a.held, a.next_grant_expiry from accounts a where a.user_id = c.user_id offset 0) a on true
  order by c.n`);

/** Checks read together at most; more in one turn of the event loop go in further statements. */
const MAX_PER_STATEMENT = 500;

interface Waiting {
  userId: string;
  at: Date;
  resolve(read: CheckRead): void;
  reject(error: unknown): void;
}

/**
 * Reads the accounts of plain checks (no hold: nothing locked, nothing written). A check that finds
 * nothing being read goes at once, alone, in the one-row statement; the checks that ask while a statement
 * is out share one statement at the end of the event loop's turn: one round trip and one plan execution
 * for all of them, each at its own time. Under fifty concurrent checks this is what PostgreSQL's
 * per-statement cost and the driver's per-query cost are paid once for.
 */
export class CheckReads {
  private waiting: Waiting[] = [];
  /** Statements sent and not yet answered. */
  private reading = 0;

  constructor(private readonly db: Db) {}

  read(userId: string, at: Date): Promise<CheckRead> {
    return new Promise<CheckRead>((resolve, reject) => {
      const check = { userId, at, resolve, reject };
      // Alone (nothing waiting, nothing being read), a check has no one to wait for: its statement goes
      // now rather than a turn of the event loop later. Under load a statement is always out, and the
      // checks that arrive meanwhile wait for the turn's end and go together.
      if (this.waiting.length === 0 && this.reading === 0) return void this.readTogether([check], soleQuery);
      if (this.waiting.length === 0) setImmediate(() => this.flush());
      this.waiting.push(check);
    });
  }

  private flush(): void {
    const all = this.waiting;
    this.waiting = [];
    for (let i = 0; i < all.length; i += MAX_PER_STATEMENT) void this.readTogether(all.slice(i, i + MAX_PER_STATEMENT));
  }

  /**
   * One statement for `checks`. A check read alone, when nothing else is being read, goes on the sole
   * connection (db/sole-connection.ts), which is then free: no pool checkout between the request and
   * its statement. A single check flushed while other statements are out goes on the pool, beside them.
   */
  private async readTogether(checks: Waiting[], query: typeof preparedQuery = preparedQuery): Promise<void> {
    this.reading++;
    try {
      if (checks.length === 1) {
        const [check] = checks as [Waiting];
        const values = [check.userId, check.at];
        const [lone] = await query<CheckRead>(this.db, 'tokens-check-lone-v3', LONE, values);
        check.resolve(lone!.account_exists && lone!.spendable === null ? (await query<CheckRead>(this.db, 'tokens-check-v7', ONE, values))[0]! : lone!);
        return;
      }
      const rows = await preparedQuery<CheckRead>(this.db, 'tokens-check-many-v2', MANY, [
        arrayLiteral(checks.map((c) => c.userId)),
        arrayLiteral(checks.map((c) => c.at)),
      ]);
      checks.forEach((check, i) => check.resolve(rows[i]!));
    } catch (error) {
      for (const check of checks) check.reject(error);
    } finally {
      this.reading--;
    }
  }
}
