import { DependencyUnavailable } from './errors.js';
import { isCluster, type RedisClient } from './redis.js';

/**
 * Redis replicates asynchronously: a job its master acknowledged can vanish with that master when a
 * replica takes over before it was copied. Before the engine answers for a write that must survive a
 * failover (a 202 for a usage event, a fired schedule), `confirm()` sends WAIT to the master of the
 * queues' slot on the connection that wrote, which returns once `replicas` replicas hold every write
 * that connection made before it; fewer within the timeout is a 503 (the write may or may not
 * survive: the caller sends it again, with the same idempotency key, and it is applied once).
 */
export class ReplicatedWrites {
  constructor(
    private readonly redis: RedisClient,
    private readonly opts: {
      /** 0: nothing is waited for (a single Redis without replicas). */
      replicas: number;
      timeoutMs: number;
      /** A key in the slot whose master took the writes (the queues' hash tag). */
      slotKey: string;
    },
  ) {}

  private next: Promise<void> | undefined;

  get enabled(): boolean {
    return this.opts.replicas > 0;
  }

  /**
   * Resolves once replicas hold every write this connection made before the call. Callers of one turn
   * of the event loop share one WAIT: each made its writes before it asked, so a WAIT sent after all of
   * them have asked covers them all.
   */
  confirm(): Promise<void> {
    if (!this.enabled) return Promise.resolve();
    this.next ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
      this.next = undefined;
      return this.waitForReplicas();
    });
    return this.next;
  }

  private async waitForReplicas(): Promise<void> {
    const { replicas, timeoutMs, slotKey } = this.opts;
    let acknowledged: number;
    if (isCluster(this.redis)) {
      // WAIT names no key: a pipeline with a key of the slot takes it to that slot's master, on the
      // same connection as the writes it follows.
      const replies = (await this.redis.pipeline().exists(slotKey).wait(replicas, timeoutMs).exec()) ?? [];
      const [error, result] = replies[1] ?? [new Error('no reply to WAIT')];
      if (error) throw error;
      acknowledged = Number(result);
    } else {
      acknowledged = await this.redis.wait(replicas, timeoutMs);
    }
    if (acknowledged < replicas) {
      throw new DependencyUnavailable('redis', new Error(`WAIT: ${acknowledged} of ${replicas} replica(s) acknowledged within ${timeoutMs} ms`));
    }
  }
}
