import { createHash } from 'node:crypto';
import type { Queue } from 'bullmq';
import type { QueuedUsageEvent } from './usage-event.js';

interface Pending {
  events: QueuedUsageEvent[];
  done: (error?: unknown) => void;
}

/**
 * Collects accepted usage events for a few milliseconds and adds them as few jobs: many events per
 * job is what lets the worker apply them in batched transactions. Events are split into shards by
 * account, so jobs of different shards touch disjoint accounts and never wait on each other's locks:
 * one hot account serialises only its own shard. A caller's promise resolves once its events are in
 * Redis, never before.
 */
export class UsageBatcher {
  private pending: Pending[] = [];
  private count = 0;
  private timer: NodeJS.Timeout | undefined;
  private inFlight = new Set<Promise<void>>();

  constructor(
    private readonly queue: Queue,
    private readonly opts: { shards: number; maxEvents: number; maxWaitMs: number },
  ) {}

  add(events: QueuedUsageEvent[]): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({ events, done: (error) => (error ? reject(error) : resolve()) });
      this.count += events.length;
      if (this.count >= this.opts.maxEvents) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), this.opts.maxWaitMs);
    });
  }

  private shardOf(userId: string): number {
    return createHash('md5').update(userId).digest().readUInt32BE(0) % this.opts.shards;
  }

  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const taken = this.pending;
    this.pending = [];
    this.count = 0;
    if (taken.length === 0) return Promise.resolve();
    const shards = new Map<number, QueuedUsageEvent[]>();
    for (const p of taken) {
      for (const e of p.events) {
        const s = this.shardOf(e.userId);
        const list = shards.get(s) ?? [];
        list.push(e);
        shards.set(s, list);
      }
    }
    const jobs = [...shards.entries()].flatMap(([shard, events]) => {
      const chunks = [];
      for (let i = 0; i < events.length; i += this.opts.maxEvents) chunks.push(events.slice(i, i + this.opts.maxEvents));
      return chunks.map((chunk) => ({ name: `shard-${shard}`, data: { events: chunk } }));
    });
    const added = this.queue.addBulk(jobs).then(
      () => taken.forEach((p) => p.done()),
      (error: unknown) => taken.forEach((p) => p.done(error)),
    );
    this.inFlight.add(added);
    void added.finally(() => this.inFlight.delete(added));
    return added;
  }

  /** Flushes what is waiting and waits for every add in flight (shutdown). */
  async drain(): Promise<void> {
    await this.flush();
    await Promise.all(this.inFlight);
  }
}
