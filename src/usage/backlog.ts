import type { Queue } from 'bullmq';
import type { RedisClient } from '../redis.js';
import { EngineError } from '../errors.js';
import { stageKeys } from './usage-stage.js';

// Resets the count when nothing is pending: whatever a crash or a removed job left it at, it is exact
// again as soon as the queue is empty.
const resetWhenIdleScript = `
for i = 2, #KEYS do
  local kind = redis.call('TYPE', KEYS[i]).ok
  if (kind == 'list' and redis.call('LLEN', KEYS[i]) > 0) or (kind == 'zset' and redis.call('ZCARD', KEYS[i]) > 0) then
    return redis.call('GET', KEYS[1]) or '0'
  end
end
redis.call('SET', KEYS[1], '0')
return '0'`;

/** How long a refused caller should wait: the figure is re-read every second, workers drain meanwhile. */
const RETRY_AFTER_SECONDS = 5;

/**
 * How many usage events wait to be applied, for back-pressure. One Redis counter that the intake adds
 * events to in the script that stages them (UsageStage), and workers take settled jobs' events from. Each API
 * process re-reads it once a second in the background, so refusing costs a request no round trip. Any
 * drift (a process that died between its jobs and its count, a job removed by hand) is undone the next
 * time the queue is empty. The counter's key carries the queues' prefix: on a cluster, its hash tag puts
 * it in the slot of the queue keys the reset script reads with it.
 */
export class UsageBacklog {
  private figure = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly key: string;
  private readonly staged: string;

  constructor(
    private readonly redis: RedisClient,
    private readonly queue: Queue,
    private readonly opts: { prefix: string; limit: number; refreshMs?: number },
  ) {
    ({ backlog: this.key, staged: this.staged } = stageKeys(opts.prefix));
    // A fixed number of keys: ioredis then knows which arguments are keys (a cluster routes by them).
    if (!('resetUsageBacklogWhenIdle2' in redis)) redis.defineCommand('resetUsageBacklogWhenIdle2', { numberOfKeys: 8, lua: resetWhenIdleScript });
  }

  /** The figure last read: usage events waiting to be applied. */
  get waiting(): number {
    return this.figure;
  }

  /** Refuses a request with 429 backlogged while the last figure read is over the limit. */
  admit(): void {
    if (this.figure > this.opts.limit) {
      throw new EngineError(
        'backlogged',
        `${this.figure} usage events are waiting to be applied (the limit is ${this.opts.limit}); nothing of this request was queued, retry later`,
        { waiting: this.figure, limit: this.opts.limit },
        RETRY_AFTER_SECONDS,
      );
    }
  }

  /** Takes applied (or finally failed) events off the count; a lost decrement is made good when the queue empties. */
  settled(events: number): void {
    this.redis.decrby(this.key, events).catch(() => undefined);
  }

  async refresh(): Promise<number> {
    const k = this.queue.keys;
    const keys = [this.key, this.staged, k.wait!, k.active!, k.paused!, k.delayed!, k.prioritized!, k['waiting-children']!];
    const value = await (this.redis as unknown as { resetUsageBacklogWhenIdle2(...keys: string[]): Promise<string> }).resetUsageBacklogWhenIdle2(...keys);
    this.figure = Math.max(0, Number(value) || 0);
    return this.figure;
  }

  start(): void {
    const tick = () => void this.refresh().catch(() => undefined);
    tick();
    this.timer = setInterval(tick, this.opts.refreshMs ?? 1000);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
