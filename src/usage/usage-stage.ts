import { eachKey, isCluster, type RedisClient } from '../redis.js';
import type { QueuedUsageEvent } from './usage-event.js';

/**
 * The list where accepted usage events wait, in Redis, until a mover (StageMover) turns them into usage
 * jobs. An event is in it before its 202 is sent, so an API process can answer without waiting for
 * BullMQ: what it accepted is already where any other process can find it. The list and the backlog
 * counter carry the queues' prefix, so on a cluster they share the queue keys' slot.
 */
export interface StageKeys {
  staged: string;
  backlog: string;
  lease: string;
}

export function stageKeys(queuePrefix: string): StageKeys {
  return { staged: `${queuePrefix}:usage-staged`, backlog: `${queuePrefix}:usage-backlog`, lease: `${queuePrefix}:usage-mover` };
}

// Claims an idempotency key and stages its event in one step: the record of the key if there is one
// already (nothing is written then), false once the key is ours and its event is staged and counted.
const claimAndStageScript = `
local current = redis.call('GET', KEYS[1])
if current then return current end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
redis.call('RPUSH', KEYS[2], ARGV[3])
redis.call('INCRBY', KEYS[3], 1)
return false`;

// Claims many idempotency keys and stages their events in one step, all or nothing: the position of the
// first key that has a record already (nothing is written then), 0 once every key is ours and every event
// staged and counted. KEYS: the list, the backlog, then the keys; ARGV: the ttl, the records, the events.
const claimAndStageAllScript = `
local n = #KEYS - 2
for i = 1, n do
  if redis.call('EXISTS', KEYS[i + 2]) == 1 then return i end
end
for i = 1, n do
  redis.call('SET', KEYS[i + 2], ARGV[i + 1], 'EX', ARGV[1])
end
for i = 1, n, 500 do
  redis.call('RPUSH', KEYS[1], unpack(ARGV, n + 1 + i, n + math.min(i + 499, n) + 1))
end
redis.call('INCRBY', KEYS[2], n)
return 0`;

// Shortens the lives of claimed keys' records: KEYS the records, ARGV[1] their ttl from now.
const expireAllScript = `
for i = 1, #KEYS do
  redis.call('EXPIRE', KEYS[i], ARGV[1])
end
return #KEYS`;

// Stages events whose keys were claimed already (a batch, a replay, or any event on a cluster, where a
// key's slot is not the list's).
const stageScript = `
redis.call('RPUSH', KEYS[1], unpack(ARGV))
redis.call('INCRBY', KEYS[2], #ARGV)
return #ARGV`;

// Reads the record of a key or, if there is none, writes ours: one round trip, no race between the two.
const claimScript = `
local current = redis.call('GET', KEYS[1])
if current then return current end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return false`;

interface StageCommands {
  claimUsageKey(key: string, record: string, ttl: number): Promise<string | null>;
  claimAndStageUsage(key: string, staged: string, backlog: string, record: string, ttl: number, event: string): Promise<string | null>;
  stageUsage(staged: string, backlog: string, ...events: string[]): Promise<number>;
  claimAndStageAllUsage(numberOfKeys: number, ...keysAndArgs: Array<string | number>): Promise<number>;
  expireUsageKeys(numberOfKeys: number, ...keysAndArgs: Array<string | number>): Promise<number>;
}

/** Redis' arguments are strings: an unpack of more than a few thousand would overflow Lua's stack. */
export const STAGE_CHUNK = 1000;

export class UsageStage {
  readonly keys: StageKeys;

  constructor(
    private readonly redis: RedisClient,
    queuePrefix: string,
  ) {
    this.keys = stageKeys(queuePrefix);
    if (!('claimUsageKey' in redis)) redis.defineCommand('claimUsageKey', { numberOfKeys: 1, lua: claimScript });
    if (!('claimAndStageUsage' in redis)) redis.defineCommand('claimAndStageUsage', { numberOfKeys: 3, lua: claimAndStageScript });
    if (!('stageUsage' in redis)) redis.defineCommand('stageUsage', { numberOfKeys: 2, lua: stageScript });
    // Its number of keys is the call's own (the first argument).
    if (!('claimAndStageAllUsage' in redis)) redis.defineCommand('claimAndStageAllUsage', { lua: claimAndStageAllScript });
    if (!('expireUsageKeys' in redis)) redis.defineCommand('expireUsageKeys', { lua: expireAllScript });
  }

  private get commands(): StageCommands {
    return this.redis as unknown as StageCommands;
  }

  /** Whether one key can be claimed and its event staged in one script: on a single Redis, not across a cluster's slots. */
  get stagesWithClaim(): boolean {
    return !isCluster(this.redis);
  }

  /** Claims `key` and stages `event` at once: null when both were done, the key's record when it had one (nothing written). */
  claimAndStage(key: string, record: string, ttlSeconds: number, event: QueuedUsageEvent): Promise<string | null> {
    return this.commands.claimAndStageUsage(key, this.keys.staged, this.keys.backlog, record, ttlSeconds, JSON.stringify(event));
  }

  /**
   * Claims every key of `claims` and stages its event, or, if any key has a record already, nothing at
   * all: true when all was done. At most STAGE_CHUNK at once; on a single Redis only (stagesWithClaim).
   */
  async claimAndStageAll(claims: ReadonlyArray<{ key: string; record: string; event: QueuedUsageEvent }>, ttlSeconds: number): Promise<boolean> {
    if (claims.length > STAGE_CHUNK) throw new Error(`claimAndStageAll takes at most ${STAGE_CHUNK} events`);
    const keys = claims.map((c) => c.key);
    const records = claims.map((c) => c.record);
    const events = claims.map((c) => JSON.stringify(c.event));
    const firstFound = await this.commands.claimAndStageAllUsage(keys.length + 2, this.keys.staged, this.keys.backlog, ...keys, ttlSeconds, ...records, ...events);
    return firstFound === 0;
  }

  /** Claims `key` alone: null when it is ours now, its record when it had one. */
  claim(client: RedisClient, key: string, record: string, ttlSeconds: number): Promise<string | null> {
    return (client as unknown as StageCommands).claimUsageKey(key, record, ttlSeconds);
  }

  /** Gives the records of `keys` `ttlSeconds` more to live: one script per STAGE_CHUNK on a single Redis, one EXPIRE each on a cluster. */
  async expire(keys: readonly string[], ttlSeconds: number): Promise<void> {
    if (!this.stagesWithClaim) {
      await eachKey<RedisClient>(this.redis, keys.map((key) => (c) => c.expire(key, ttlSeconds)));
      return;
    }
    for (let i = 0; i < keys.length; i += STAGE_CHUNK) {
      const chunk = keys.slice(i, i + STAGE_CHUNK);
      await this.commands.expireUsageKeys(chunk.length, ...chunk, ttlSeconds);
    }
  }

  /** Stages events whose keys are claimed, and counts them in the backlog. */
  async stage(events: QueuedUsageEvent[]): Promise<void> {
    for (let i = 0; i < events.length; i += STAGE_CHUNK) {
      await this.commands.stageUsage(this.keys.staged, this.keys.backlog, ...events.slice(i, i + STAGE_CHUNK).map((e) => JSON.stringify(e)));
    }
  }

  /** Events staged and not moved into jobs yet. */
  waiting(): Promise<number> {
    return this.redis.llen(this.keys.staged);
  }
}
