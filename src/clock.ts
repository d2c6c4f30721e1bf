import type { RedisClient } from './redis.js';

/** Every billing decision asks this for the time, so tests (and operators with a test clock) can move it. */
export interface Clock {
  now(): Promise<Date>;
  /**
   * The same time without waiting, for a clock kept in this process; absent on a clock that must ask
   * elsewhere. For the one-connection check, where a turn of the microtask queue is measurable.
   */
  current?(): Date;
}

export const systemClock: Clock = {
  now: async () => new Date(),
  current: () => new Date(),
};

/**
 * A frozen clock shared by every process through Redis, like a payment provider's test clock: until it
 * is first set it follows real time, and the first setting may name any time (a test starting in the
 * past); from then on it stays put until moved, and moves only forward.
 */
export class SharedTestClock implements Clock {
  constructor(
    private readonly redis: RedisClient,
    private readonly key: string,
  ) {}

  async now(): Promise<Date> {
    const stored = await this.redis.get(this.key);
    return stored ? new Date(Number(stored)) : new Date();
  }

  /** Moves the clock to `target`; returns false (and changes nothing) if that would go backwards. */
  async set(target: Date): Promise<boolean> {
    const stored = await this.redis.get(this.key);
    if (stored && target.getTime() < Number(stored)) return false;
    await this.redis.set(this.key, String(target.getTime()));
    return true;
  }
}

/** A clock a test holds in its own hand, for domain functions called without Redis. */
export class ManualClock implements Clock {
  constructor(private time: Date) {}
  async now(): Promise<Date> {
    return this.current();
  }
  current(): Date {
    return new Date(this.time);
  }
  set(to: Date): void {
    this.time = new Date(to);
  }
  advance(seconds: number): void {
    this.time = new Date(this.time.getTime() + seconds * 1000);
  }
}
