import type { QueuedUsageEvent } from './usage-event.js';
import type { UsageOutcome } from './apply-usage.js';

/** Applies events in one transaction and returns one outcome per distinct idempotency key. */
export type ApplyTransaction = (events: QueuedUsageEvent[]) => Promise<UsageOutcome[]>;

/** Settles one event that PostgreSQL refused for its data, in a transaction of its own. */
export type RejectEvent = (event: QueuedUsageEvent, error: unknown) => Promise<UsageOutcome>;

interface Waiting {
  events: QueuedUsageEvent[];
  resolve: (outcomes: UsageOutcome[]) => void;
  reject: (error: unknown) => void;
}

interface Lane {
  waiting: Waiting[];
  running: boolean;
}

/**
 * Group commit for usage jobs. A worker takes many jobs from the queue at once, but runs at most one
 * transaction per lane: jobs that arrive while their lane's transaction runs wait, and the next
 * transaction applies all of them together (up to `maxEvents`). A transaction costs about a dozen
 * statements whatever its size, so when the queue holds a backlog of small jobs (single events sent
 * one by one) the worker applies them many jobs at a time and catches up, while a lone job on an idle
 * lane starts at once. Jobs of one shard go to one lane, so the lanes of a process touch disjoint
 * accounts.
 *
 * A transaction that fails for its data (`isDataError`: PostgreSQL refused a value) is split in halves
 * until the events it cannot apply stand alone, and each of those is settled by `reject`: the others are
 * applied, in their order, and one bad event fails only itself. Any other failure (PostgreSQL down, a
 * lock or statement timeout) fails every job of the group, to be retried whole: splitting would only
 * run more transactions against a database that cannot take them.
 */
export class ApplyLanes {
  private readonly lanes: Lane[];

  constructor(
    private readonly transact: ApplyTransaction,
    private readonly opts: {
      lanes: number;
      maxEvents: number;
      isDataError: (error: unknown) => boolean;
      reject: RejectEvent;
      onTransaction?: (jobs: number) => void;
    },
  ) {
    this.lanes = Array.from({ length: opts.lanes }, () => ({ waiting: [], running: false }));
  }

  /** Resolves with the outcomes of these events (one per distinct key) once their transaction committed. */
  apply(lane: number, events: QueuedUsageEvent[]): Promise<UsageOutcome[]> {
    const target = this.lanes[lane % this.lanes.length]!;
    const done = new Promise<UsageOutcome[]>((resolve, reject) => target.waiting.push({ events, resolve, reject }));
    if (!target.running) void this.run(target);
    return done;
  }

  private async run(lane: Lane): Promise<void> {
    lane.running = true;
    try {
      while (lane.waiting.length > 0) await this.applyGroup(this.takeGroup(lane));
    } finally {
      lane.running = false;
    }
  }

  /** The oldest waiting jobs, in arrival order, up to maxEvents (at least one job, whatever its size). */
  private takeGroup(lane: Lane): Waiting[] {
    let events = lane.waiting[0]!.events.length;
    let count = 1;
    while (count < lane.waiting.length && events + lane.waiting[count]!.events.length <= this.opts.maxEvents) {
      events += lane.waiting[count]!.events.length;
      count++;
    }
    return lane.waiting.splice(0, count);
  }

  private async applyGroup(group: Waiting[]): Promise<void> {
    let outcomes: UsageOutcome[];
    try {
      outcomes = await this.settle(group.flatMap((w) => w.events));
    } catch (error) {
      for (const w of group) w.reject(error);
      return;
    }
    share(group, outcomes);
    this.opts.onTransaction?.(group.length);
  }

  /** Applies the events in one transaction or, if their data is refused, in halves; outcomes in order. */
  private async settle(events: QueuedUsageEvent[]): Promise<UsageOutcome[]> {
    try {
      return await this.transact(events);
    } catch (error) {
      if (!this.opts.isDataError(error)) throw error;
      if (events.length === 1) return [await this.opts.reject(events[0]!, error)];
      const half = Math.ceil(events.length / 2);
      return [...(await this.settle(events.slice(0, half))), ...(await this.settle(events.slice(half)))];
    }
  }
}

/**
 * Each job gets the outcomes of its own keys; a key that an earlier job of the group carried is its
 * duplicate. A key split into two transactions has two outcomes: the first is what happened to it.
 */
function share(group: Waiting[], outcomes: UsageOutcome[]): void {
  const byKey = new Map<string, UsageOutcome>();
  for (const o of outcomes) if (!byKey.has(o.idempotencyKey)) byKey.set(o.idempotencyKey, o);
  const claimed = new Set<string>();
  for (const w of group) {
    const own = new Map<string, UsageOutcome>();
    for (const e of w.events) {
      if (own.has(e.idempotencyKey)) continue;
      const earlier = claimed.has(e.idempotencyKey);
      claimed.add(e.idempotencyKey);
      own.set(e.idempotencyKey, earlier ? { idempotencyKey: e.idempotencyKey, userId: e.userId, status: 'duplicate', cost: 0 } : byKey.get(e.idempotencyKey)!);
    }
    w.resolve([...own.values()]);
  }
}
