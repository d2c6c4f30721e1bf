import { EngineError } from '../errors.js';

/**
 * Lets one request at a time per account into a transaction that locks it, in this process. A request
 * for a busy account waits here, holding no database connection, rather than in PostgreSQL's row lock
 * holding one of the pool's: 25 concurrent reserves on one user take one connection, not the whole
 * pool, and every other account goes on. A waiter gives up after `maxWaitMs` (503 account_busy:
 * TOKENS_BUSY_ACCOUNT_WAIT_MS, long enough for a burst of quick requests to queue rather than fail);
 * once in, the session's lock_timeout bounds its wait for a row held by another process.
 */
export class AccountGate {
  private readonly tails = new Map<string, Promise<void>>();

  constructor(private readonly maxWaitMs: number) {}

  async run<T>(userId: string, work: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(userId) ?? Promise.resolve();
    let leave!: () => void;
    const done = new Promise<void>((resolve) => (leave = resolve));
    // The next waiter goes in once this one and every one before it are out, even if this one gave up.
    const tail = previous.then(() => done);
    this.tails.set(userId, tail);
    void tail.then(() => {
      if (this.tails.get(userId) === tail) this.tails.delete(userId);
    });
    try {
      if (!(await within(previous, this.maxWaitMs))) {
        throw new EngineError('account_busy', `account "${userId}" is busy with other requests; retry shortly`, { userId }, 1);
      }
      return await work();
    } finally {
      leave();
    }
  }
}

/** Whether `promise` settles within `ms` (0: waits as long as it takes). */
async function within(promise: Promise<void>, ms: number): Promise<boolean> {
  if (ms <= 0) return promise.then(() => true);
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise.then(() => true), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
