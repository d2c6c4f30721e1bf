import pg from 'pg';
import { withDefaultUser } from '../src/db/database.js';
import { BENCH_APPLICATION } from './cpu.js';
import { spread, type Spread } from './stats.js';

/** Epoch milliseconds with a fraction (Date.now() has whole milliseconds only). */
const nowMs = () => performance.timeOrigin + performance.now();

export interface ApplyLagResult {
  /** Every `every`-th accepted event was followed until it settled. */
  every: number;
  pollMs: number;
  /** Accepted (the client had its 202) → first seen settled by a poll of usage_events: what a reader sees. */
  seen: Spread;
  /**
   * Accepted → usage_events.settled_at (PostgreSQL's now(): when the applying transaction began; it
   * commits later). Negative when a worker began applying before the 202 reached the client.
   */
  settledAt: Spread;
  /** Sampled events not settled when the tracker stopped. */
  unsettled: number;
}

/**
 * Follows a sample of accepted usage events to the ledger: the caller reports each 202 with
 * `accepted(key)`, and a poll of usage_events (one indexed query every `pollMs` over the keys still
 * outstanding) notes when each settled.
 */
export class ApplyLag {
  private readonly db: pg.Client;
  private readonly pending = new Map<string, number>();
  private seen: number[] = [];
  private settledAt: number[] = [];
  private all = { seen: [] as number[], settledAt: [] as number[] };
  private n = 0;
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> = Promise.resolve();
  private stopped = false;
  private failure: unknown;

  constructor(databaseUrl: string, private readonly every = 20, private readonly pollMs = 20) {
    this.db = new pg.Client({ connectionString: withDefaultUser(databaseUrl), application_name: BENCH_APPLICATION });
  }

  async start(): Promise<this> {
    await this.db.connect();
    const tick = () => {
      this.polling = this.poll()
        .catch((error: unknown) => void (this.failure ??= error))
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(tick, this.pollMs);
        });
    };
    tick();
    return this;
  }

  /** Reports one accepted event (its 202 body); every `every`-th is followed. */
  accepted(body: string): void {
    if (this.n++ % this.every !== 0) return;
    this.pending.set((JSON.parse(body) as { idempotencyKey: string }).idempotencyKey, nowMs());
  }

  private async poll(): Promise<void> {
    if (this.pending.size === 0) return;
    const { rows } = await this.db.query<{ k: string; settled_ms: number }>(
      'select idempotency_key as k, extract(epoch from settled_at)::float8 * 1000 as settled_ms from usage_events where idempotency_key = any($1::text[])',
      [[...this.pending.keys()]],
    );
    const at = nowMs();
    for (const r of rows) {
      const acceptedAt = this.pending.get(r.k)!;
      this.pending.delete(r.k);
      this.seen.push(at - acceptedAt);
      this.settledAt.push(r.settled_ms - acceptedAt);
    }
  }

  /** The lags measured since the last call (the soak reports them per window). */
  window(): { seen: Spread; settledAt: Spread } {
    const result = { seen: spread(this.seen), settledAt: spread(this.settledAt) };
    this.all.seen = this.all.seen.concat(this.seen);
    this.all.settledAt = this.all.settledAt.concat(this.settledAt);
    this.seen = [];
    this.settledAt = [];
    return result;
  }

  private stopping: Promise<ApplyLagResult> | undefined;

  /** Polls until every followed event settled (or `graceMs` passes), then stops; later calls get the same result. */
  stop(graceMs = 60_000): Promise<ApplyLagResult> {
    return (this.stopping ??= this.finish(graceMs));
  }

  private async finish(graceMs: number): Promise<ApplyLagResult> {
    const deadline = Date.now() + graceMs;
    while (this.pending.size > 0 && Date.now() < deadline && !this.failure) await new Promise((r) => setTimeout(r, this.pollMs));
    this.stopped = true;
    clearTimeout(this.timer);
    await this.polling;
    await this.db.end();
    // What the poll failed with, as it was thrown.
    // oxlint-disable-next-line typescript/only-throw-error
    if (this.failure) throw this.failure;
    this.window();
    return { every: this.every, pollMs: this.pollMs, seen: spread(this.all.seen), settledAt: spread(this.all.settledAt), unsettled: this.pending.size };
  }
}
