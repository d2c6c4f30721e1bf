import { createHash, randomUUID } from 'node:crypto';
import { remember } from './remembered.js';
import type { Queue } from 'bullmq';
import type { Logger } from '../log.js';
import type { RedisClient } from '../redis.js';
import type { StageKeys } from './usage-stage.js';

// Takes the lease (or keeps it) and reads the head of the list: the events, or false while another
// process holds the lease.
const takeHeadScript = `
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then return false end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return redis.call('LRANGE', KEYS[2], 0, tonumber(ARGV[3]) - 1)`;

// Drops the head once its jobs are in, only while the lease is still ours: a mover that stalled past
// its lease must not trim what its successor has not moved yet.
const dropHeadScript = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('LTRIM', KEYS[2], tonumber(ARGV[2]), -1)
return 1`;

export interface StageMoverOptions {
  /** Accounts are split into this many shards; a job holds one shard's events (TOKENS_USAGE_SHARDS). */
  shards: number;
  /** Events per job at most (TOKENS_BATCH_MAX_EVENTS). */
  maxEvents: number;
  /** The pause between moves while events keep coming (TOKENS_BATCH_MAX_WAIT_MS). */
  maxWaitMs: number;
  /** How long the lease outlives a mover that stopped renewing it. */
  leaseMs?: number;
  /** The pause between moves while the list is empty, at most. */
  idleMs?: number;
}

/** Accounts whose hash is remembered at most; the oldest is forgotten first. */
const MAX_REMEMBERED_SHARDS = 100_000;
const accountHashes = new Map<string, number>();

/** The shard of an account: jobs of different shards touch disjoint accounts and never wait on each other's locks. */
export function shardOf(userId: string, shards: number): number {
  // An MD5 per event was 5 % of a workers process's CPU; an account's hash never changes.
  let h = accountHashes.get(userId);
  if (h === undefined) {
    h = createHash('md5').update(userId).digest().readUInt32BE(0);
    remember(accountHashes, userId, h, MAX_REMEMBERED_SHARDS);
  }
  return h % shards;
}

/**
 * Turns staged usage events into usage jobs: the head of the list, split by shard into jobs of at most
 * `maxEvents`, added in one addBulk, then dropped from the list. One process at a time moves (a lease
 * in Redis, renewed by every move); a mover that dies leaves its lease to expire and another worker
 * process takes over within `leaseMs` and a second. A mover that dies between adding the jobs and
 * dropping the head leaves them to be added again: the worker settles each key once, so a job added
 * twice applies nothing twice.
 */
export class StageMover {
  private readonly token = randomUUID();
  private readonly leaseMs: number;
  private readonly idleMs: number;
  private stopped = true;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;

  constructor(
    private readonly redis: RedisClient,
    private readonly queue: Queue,
    private readonly keys: StageKeys,
    private readonly opts: StageMoverOptions,
    private readonly log?: Logger,
  ) {
    this.leaseMs = opts.leaseMs ?? 5000;
    this.idleMs = opts.idleMs ?? 50;
  }

  private get batchEvents(): number {
    return this.opts.maxEvents * this.opts.shards;
  }

  /**
   * One move: the number of events moved, or null while another process holds the lease. Each move
   * takes at most `maxEvents × shards` events, so one shard's job may hold fewer than a full job.
   */
  async moveOnce(): Promise<number | null> {
    const { lease, staged } = this.keys;
    // EVAL rather than a defined command: a few calls a second, and a cluster's auto-pipelining has been
    // seen to miss a command defined on it while its slots were still loading.
    const head = (await this.redis.eval(takeHeadScript, 2, lease, staged, this.token, this.leaseMs, this.batchEvents)) as string[] | null;
    if (head === null) return null;
    if (head.length === 0) return 0;
    await this.queue.addBulk(this.jobsOf(head));
    await this.redis.eval(dropHeadScript, 2, lease, staged, this.token, head.length);
    return head.length;
  }

  private jobsOf(head: string[]): Array<{ name: string; data: { events: unknown[] } }> {
    const byShard = new Map<number, unknown[]>();
    for (const raw of head) {
      let event: unknown = raw;
      try {
        event = JSON.parse(raw);
      } catch {
        // Not written by the intake: the worker refuses it on its own, the rest of the job goes on.
      }
      const userId = (event as { userId?: unknown } | null)?.userId;
      const shard = typeof userId === 'string' ? shardOf(userId, this.opts.shards) : 0;
      const list = byShard.get(shard) ?? [];
      list.push(event);
      byShard.set(shard, list);
    }
    const jobs = [];
    for (const [shard, events] of byShard) {
      for (let i = 0; i < events.length; i += this.opts.maxEvents) {
        jobs.push({ name: `shard-${shard}`, data: { events: events.slice(i, i + this.opts.maxEvents) } });
      }
    }
    return jobs;
  }

  /** Moves until stopped: at once after a full move, after `maxWaitMs` after a partial one, backing off to `idleMs` while idle. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    let idle = this.opts.maxWaitMs;
    let failing = false;
    while (!this.stopped) {
      let pause: number;
      try {
        const moved = await this.moveOnce();
        if (failing) this.log?.info('usage events are moving into jobs again');
        failing = false;
        if (moved === null) pause = this.leaseMs / 5;
        else if (moved >= this.batchEvents) pause = 0;
        else if (moved > 0) pause = this.opts.maxWaitMs;
        else pause = idle = Math.min(this.idleMs, Math.max(1, idle * 2));
        if (moved) idle = this.opts.maxWaitMs;
      } catch (error) {
        if (!failing) this.log?.warn({ err: error instanceof Error ? error.message : String(error) }, 'staged usage events could not be moved into jobs; retrying');
        failing = true;
        pause = 500;
      }
      if (pause > 0 && !this.stopped) await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, pause);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  /** Stops after the move in progress; what is still staged waits for the next mover. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.wake?.();
    await this.loop;
    // Handing the lease over at once spares the next mover its wait.
    await this.redis.eval(`if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`, 1, this.keys.lease, this.token).catch(() => undefined);
  }
}
