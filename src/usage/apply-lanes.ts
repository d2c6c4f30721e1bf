import type { QueuedUsageEvent } from './usage-event.js';
import type { UsageOutcome } from './apply-usage.js';

/** Applies events in one transaction and returns one outcome per distinct idempotency key. */
export type ApplyTransaction = (events: QueuedUsageEvent[]) => Promise<UsageOutcome[]>;

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
 * accounts. If a merged transaction fails, each of its jobs is retried alone, so one bad job fails only
 * itself.
 */
export class ApplyLanes {
  private readonly lanes: Lane[];

  constructor(
    private readonly transact: ApplyTransaction,
    private readonly opts: { lanes: number; maxEvents: number; onTransaction?: (jobs: number) => void },
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
      outcomes = await this.transact(group.flatMap((w) => w.events));
    } catch (error) {
      if (group.length === 1) return group[0]!.reject(error);
      for (const w of group) await this.applyGroup([w]);
      return;
    }
    share(group, outcomes);
    this.opts.onTransaction?.(group.length);
  }
}

/** Each job gets the outcomes of its own keys; a key that an earlier job of the group carried is its duplicate. */
function share(group: Waiting[], outcomes: UsageOutcome[]): void {
  const byKey = new Map(outcomes.map((o) => [o.idempotencyKey, o]));
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
