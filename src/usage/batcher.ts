import { createHash } from 'node:crypto';
import type { Queue } from 'bullmq';
import type { QueuedUsageEvent } from './usage-event.js';
import type { UsageBacklog } from './backlog.js';
import type { ReplicatedWrites } from '../redis-replication.js';

interface ShardBuffer {
  events: QueuedUsageEvent[];
  waiters: Array<(error?: unknown) => void>;
}

/**
 * Collects accepted usage events for a few milliseconds and adds them as few jobs: many events per
 * job is what lets the worker apply them in batched transactions. Events are split into shards by
 * account, so jobs of different shards touch disjoint accounts and never wait on each other's locks:
 * one hot account serialises only its own shard. A shard is flushed when it holds a full job (so spread
 * traffic still makes full jobs) or when the wait is over. A caller's promise resolves once all its
 * events are in Redis, never before, and, where replicas are asked for, once replicas hold them (one
 * WAIT per flushed shard, shared by every request in it).
 */
export class UsageBatcher {
  private shards = new Map<number, ShardBuffer>();
  private timer: NodeJS.Timeout | undefined;
  private inFlight = new Set<Promise<void>>();

  constructor(
    private readonly queue: Queue,
    private readonly opts: { shards: number; maxEvents: number; maxWaitMs: number; backlog: UsageBacklog; replication?: ReplicatedWrites },
  ) {}

  add(events: QueuedUsageEvent[]): Promise<void> {
    const byShard = new Map<number, QueuedUsageEvent[]>();
    for (const e of events) {
      const s = this.shardOf(e.userId);
      const list = byShard.get(s) ?? [];
      list.push(e);
      byShard.set(s, list);
    }
    const waits = [...byShard.entries()].map(([shard, list]) => {
      const buffer = this.shards.get(shard) ?? { events: [], waiters: [] };
      this.shards.set(shard, buffer);
      buffer.events.push(...list);
      // The waiters share what the enqueue failed with, whatever it threw.
      // oxlint-disable-next-line typescript/prefer-promise-reject-errors
      const done = new Promise<void>((resolve, reject) => buffer.waiters.push((error) => (error ? reject(error) : resolve())));
      if (buffer.events.length >= this.opts.maxEvents) void this.flushShard(shard);
      return done;
    });
    if (this.shards.size > 0) this.timer ??= setTimeout(() => void this.flush(), this.opts.maxWaitMs);
    return Promise.all(waits).then(() => undefined);
  }

  private shardOf(userId: string): number {
    return createHash('md5').update(userId).digest().readUInt32BE(0) % this.opts.shards;
  }

  private flushShard(shard: number): Promise<void> {
    const buffer = this.shards.get(shard);
    this.shards.delete(shard);
    if (this.shards.size === 0 && this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (!buffer || buffer.events.length === 0) return Promise.resolve();
    const jobs = [];
    for (let i = 0; i < buffer.events.length; i += this.opts.maxEvents) {
      jobs.push({ name: `shard-${shard}`, data: { events: buffer.events.slice(i, i + this.opts.maxEvents) } });
    }
    // Counted once the jobs are in, without waiting for the reply: a count that ran ahead of its jobs
    // could be reset while the queue looked idle, and lost; one that lags behind is at worst briefly high.
    const { backlog, replication } = this.opts;
    // A failed WAIT fails the flush's requests (503) although their jobs are in: sent again, applied once.
    const added = this.queue
      .addBulk(jobs)
      .then(() => backlog.added(buffer.events.length))
      .then(() => replication?.confirm())
      .then(
        () => buffer.waiters.forEach((done) => done()),
        (error: unknown) => buffer.waiters.forEach((done) => done(error)),
      );
    this.inFlight.add(added);
    void added.finally(() => this.inFlight.delete(added));
    return added;
  }

  /** Flushes every shard now. */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    return Promise.all([...this.shards.keys()].map((s) => this.flushShard(s))).then(() => undefined);
  }

  /** Flushes what is waiting and waits for every add in flight (shutdown). */
  async drain(): Promise<void> {
    await this.flush();
    await Promise.all(this.inFlight);
  }
}
