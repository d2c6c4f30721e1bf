import pg from 'pg';
import { withDefaultUser } from '../src/db/database.js';
import { BENCH_APPLICATION } from './cpu.js';

/**
 * How many events of a load the ledger has applied so far, read from its accounts' period_used (one
 * indexed query over a few hundred rows: cheap enough to poll every few milliseconds while the
 * workers write). Every event of the load costs `cost` and none may be rejected.
 */
export class LedgerProgress {
  private readonly db: pg.Client;
  private baseline = 0;

  constructor(databaseUrl: string, private readonly userIds: string[], private readonly cost: number) {
    this.db = new pg.Client({ connectionString: withDefaultUser(databaseUrl), application_name: BENCH_APPLICATION });
  }

  async start(): Promise<this> {
    await this.db.connect();
    this.baseline = await this.used();
    return this;
  }

  private async used(): Promise<number> {
    const { rows } = await this.db.query('select coalesce(sum(period_used), 0)::float8 as used from accounts where user_id = any($1)', [this.userIds]);
    return Number(rows[0].used);
  }

  /** Events applied since start(). */
  async applied(): Promise<number> {
    return (await this.used() - this.baseline) / this.cost;
  }

  /** Polls until `events` are applied; throws when nothing moves for `stallMs`. Resolves with the count seen. */
  async waitFor(events: number, stallMs = 30_000): Promise<number> {
    let last = -1;
    let movedAt = Date.now();
    for (;;) {
      const now = await this.applied();
      if (now >= events) return now;
      if (now !== last) [last, movedAt] = [now, Date.now()];
      else if (Date.now() - movedAt > stallMs) {
        throw new Error(`ledger stalled at ${now} of ${events} events applied for ${stallMs / 1000} s`);
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** Settled events whose key starts with `label-`, by outcome: `applied`, `rejected/insufficient_tokens`, ... */
  async outcomes(label: string): Promise<Record<string, number>> {
    const { rows } = await this.db.query<{ outcome: string; n: string }>(
      `select status || coalesce('/' || reason, '') as outcome, count(*) as n from usage_events
       where starts_with(idempotency_key, $1) group by 1`,
      [`${label}-`],
    );
    return Object.fromEntries(rows.map((r) => [r.outcome, Number(r.n)]));
  }

  async end(): Promise<void> {
    await this.db.end();
  }
}
