import pg from 'pg';
import { withDefaultUser } from '../src/db/database.js';
import { BENCH_APPLICATION } from './cpu.js';

/** How many of the engine's PostgreSQL sessions were in a state, on average over a phase. */
export interface WaitShare {
  /** `active: CPU` (running), `active: Lock/transactionid` (row lock), `idle in transaction: Client/ClientRead` (waiting for the engine's next statement), ... */
  state: string;
  sessions: number;
}

/**
 * Samples pg_stat_activity of the engine's database every `everyMs` while a phase runs (the bench's
 * own sessions left out) and reports the average number of sessions per state and wait event: where
 * the engine's transactions spend their time, as PostgreSQL sees it.
 */
export class PgWaits {
  private readonly db: pg.Client;
  private readonly counts = new Map<string, number>();
  private samples = 0;
  private running = false;
  private loop: Promise<void> = Promise.resolve();

  constructor(databaseUrl: string, private readonly everyMs = 50) {
    this.db = new pg.Client({ connectionString: withDefaultUser(databaseUrl), application_name: BENCH_APPLICATION });
  }

  async start(): Promise<this> {
    await this.db.connect();
    this.running = true;
    this.loop = (async () => {
      while (this.running) {
        const { rows } = await this.db.query<{ state: string }>(
          `select state || ': ' || coalesce(wait_event_type || '/' || wait_event, 'CPU') as state
           from pg_stat_activity
           where datname = current_database() and application_name <> $1 and backend_type = 'client backend' and state <> 'idle'`,
          [BENCH_APPLICATION],
        );
        this.samples++;
        for (const r of rows) this.counts.set(r.state, (this.counts.get(r.state) ?? 0) + 1);
        await new Promise((r) => setTimeout(r, this.everyMs));
      }
    })().catch(() => {
      this.running = false; // the figures stop at the failed sample
    });
    return this;
  }

  private stopped: Promise<void> | undefined;

  /** The states, most sessions first; `top` of them. Safe to call again (a `finally` after an error). */
  async stop(top = 6): Promise<WaitShare[]> {
    this.running = false;
    await (this.stopped ??= this.loop.then(() => this.db.end()));
    return [...this.counts]
      .map(([state, n]) => ({ state, sessions: n / Math.max(1, this.samples) }))
      .sort((a, b) => b.sessions - a.sessions)
      .slice(0, top);
  }
}
