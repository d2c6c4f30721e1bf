import type { RedisClient } from '../redis.js';
import type { Logger } from '../log.js';
import type { QueuedUsageEvent } from '../usage/usage-event.js';
import type { UsageOutcome } from '../usage/apply-usage.js';

/**
 * The live feed of usage: the usage worker appends one entry per committed transaction to a capped Redis
 * stream under the engine's prefix, and every API process reads the stream and fans it out to the admin
 * consoles connected to it (Server-Sent Events). A stream rather than pub/sub, so that a console that
 * connects (or reconnects with Last-Event-ID) gets the recent entries it missed.
 */
export const liveFeedKey = (prefix: string): string => `${prefix}:live:usage`;

/** Entries kept (approximately: Redis trims whole nodes); enough for a console to catch up on. */
const KEPT_ENTRIES = 1000;
/** Uses listed in one entry; a larger transaction is summed up in `totals` and counted in `more`. */
const USES_PER_ENTRY = 50;

export interface LiveUse {
  idempotencyKey: string;
  userId: string;
  feature: string;
  status: 'applied' | 'rejected';
  cost: number;
  balanceAfter: number | null;
  reason: string | null;
}

export interface LiveBatch {
  /** Wall-clock milliseconds just after the applying transaction committed (to measure the feed's delay). */
  committedAt: number;
  /** The engine's time the uses were applied at (the test clock where it is on). */
  appliedAt: string;
  totals: { applied: number; rejected: number; tokens: number };
  uses: LiveUse[];
  /** Uses of the transaction not listed in `uses`. */
  more: number;
}

export interface LiveEntry {
  /** The stream entry id: the SSE event id a console resumes from. */
  id: string;
  batch: LiveBatch;
}

/** What one committed usage transaction did, for the feed; null when it settled nothing new. */
export function liveBatch(events: readonly QueuedUsageEvent[], outcomes: readonly UsageOutcome[], appliedAt: Date, committedAt: number): LiveBatch | null {
  const features = new Map(events.map((e) => [e.idempotencyKey, e.feature]));
  const settled = outcomes.filter((o): o is UsageOutcome & { status: 'applied' | 'rejected' } => o.status !== 'duplicate');
  if (settled.length === 0) return null;
  const totals = { applied: 0, rejected: 0, tokens: 0 };
  for (const o of settled) {
    totals[o.status]++;
    if (o.status === 'applied') totals.tokens += o.cost;
  }
  return {
    committedAt,
    appliedAt: appliedAt.toISOString(),
    totals,
    uses: settled.slice(0, USES_PER_ENTRY).map((o) => ({
      idempotencyKey: o.idempotencyKey,
      userId: o.userId,
      feature: features.get(o.idempotencyKey) ?? '',
      status: o.status,
      cost: o.cost,
      balanceAfter: o.balanceAfter ?? null,
      reason: o.reason ?? null,
    })),
    more: Math.max(0, settled.length - USES_PER_ENTRY),
  };
}

/**
 * The usage worker's side: one XADD per committed transaction, not awaited by the transaction's jobs. The
 * ledger is the truth; a feed entry lost while Redis is away is only a line a console did not show.
 */
export class LiveFeedPublisher {
  private readonly key: string;
  private lastWarning = 0;

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
    private readonly log: Logger,
  ) {
    this.key = liveFeedKey(prefix);
  }

  published(events: readonly QueuedUsageEvent[], outcomes: readonly UsageOutcome[], appliedAt: Date): void {
    const batch = liveBatch(events, outcomes, appliedAt, Date.now());
    if (!batch) return;
    this.redis.xadd(this.key, 'MAXLEN', '~', KEPT_ENTRIES, '*', 'b', JSON.stringify(batch)).catch((error: unknown) => {
      // While Redis is down every transaction would say so; once a minute is enough.
      if (Date.now() - this.lastWarning < 60_000) return;
      this.lastWarning = Date.now();
      this.log.warn({ err: error }, 'live feed entry not published');
    });
  }
}

type StreamEntries = Array<[id: string, fields: string[]]>;

function toEntry([id, fields]: [string, string[]]): LiveEntry | null {
  const at = fields.indexOf('b');
  if (at < 0 || at + 1 >= fields.length) return null;
  try {
    return { id, batch: JSON.parse(fields[at + 1]!) as LiveBatch };
  } catch {
    return null;
  }
}

/** Stream ids are `ms-seq`: compared as numbers, part by part. */
function after(a: string, b: string): boolean {
  const [am, as] = a.split('-').map(Number) as [number, number];
  const [bm, bs] = b.split('-').map(Number) as [number, number];
  return am > bm || (am === bm && as > bs);
}

export interface LiveSubscription {
  /** The recent entries (or those after the Last-Event-ID given), oldest first. */
  backlog: LiveEntry[];
  unsubscribe(): void;
}

interface Listener {
  send: (entry: LiveEntry) => void;
  lastId: string;
  /** Entries read while the listener's backlog is being read; null once it is caught up. */
  pending: LiveEntry[] | null;
}

/**
 * The API's side: one blocking reader of the stream per process, however many consoles listen, started
 * by the first listener and stopped after the last one leaves.
 */
export class LiveFeedHub {
  private readonly key: string;
  private readonly listeners = new Set<Listener>();
  private loop: Promise<void> | undefined;
  private reader: RedisClient | undefined;
  private readFrom = '0-0';
  private closed = false;

  constructor(
    private readonly redis: RedisClient,
    /** Opens the reader's own connection: XREAD BLOCK holds it while it waits. */
    private readonly openReader: () => RedisClient,
    prefix: string,
    private readonly log: Logger,
  ) {
    this.key = liveFeedKey(prefix);
  }

  /** Subscribes `send` to every entry after the backlog: the last `recent` entries, or those after `lastEventId`. */
  async subscribe(send: (entry: LiveEntry) => void, opts: { recent: number; lastEventId?: string | undefined }): Promise<LiveSubscription> {
    // Listening before the backlog is read: what the reader fans out meanwhile is kept, not lost.
    const listener: Listener = { send, lastId: opts.lastEventId ?? '0-0', pending: [] };
    this.listeners.add(listener);
    const unsubscribe = () => this.listeners.delete(listener);
    try {
      // At least the newest entry is read, so that the backlog ends where the stream does even when none is wanted.
      const raw = opts.lastEventId
        ? (((await this.redis.xrange(this.key, `(${opts.lastEventId}`, '+', 'COUNT', KEPT_ENTRIES)) as StreamEntries | null) ?? [])
        : (((await this.redis.xrevrange(this.key, '+', '-', 'COUNT', Math.max(1, opts.recent))) as StreamEntries | null) ?? []).reverse();
      const newest = raw.at(-1)?.[0] ?? listener.lastId;
      const wanted = opts.lastEventId ? raw : raw.slice(raw.length - Math.min(raw.length, opts.recent));
      const backlog = wanted.map(toEntry).filter((e): e is LiveEntry => e !== null);
      const caughtUp = [...backlog, ...listener.pending!.filter((e) => after(e.id, newest))];
      listener.pending = null;
      listener.lastId = caughtUp.at(-1)?.id ?? newest;
      // The reader starts where this backlog ends, so nothing published in between is missed.
      if (!this.loop && !this.closed) this.start(newest);
      return { backlog: caughtUp, unsubscribe };
    } catch (error) {
      unsubscribe();
      throw error;
    }
  }

  private start(from: string): void {
    this.readFrom = from;
    this.loop = this.read().finally(() => {
      this.loop = undefined;
      // A listener that came while the reader was stopping for want of listeners.
      if (this.listeners.size > 0 && !this.closed) this.start(this.readFrom);
    });
  }

  get listening(): number {
    return this.listeners.size;
  }

  private async read(): Promise<void> {
    const reader = this.openReader();
    this.reader = reader;
    reader.on('error', () => {
      // reconnects by itself; the read below waits for it
    });
    try {
      while (this.listeners.size > 0 && !this.closed) {
        let reply: Array<[string, StreamEntries]> | null;
        try {
          reply = (await reader.xread('COUNT', 500, 'BLOCK', 2000, 'STREAMS', this.key, this.readFrom)) as Array<[string, StreamEntries]> | null;
        } catch (error) {
          if (this.closed) break;
          this.log.warn({ err: error }, 'live feed read failed; retrying');
          await new Promise((r) => setTimeout(r, 1000));
          continue;
        }
        for (const [, entries] of reply ?? []) {
          for (const raw of entries) {
            this.readFrom = raw[0];
            const entry = toEntry(raw);
            if (entry) this.fanOut(entry);
          }
        }
      }
    } finally {
      this.reader = undefined;
      reader.disconnect();
    }
  }

  private fanOut(entry: LiveEntry): void {
    for (const l of this.listeners) {
      if (l.pending) {
        l.pending.push(entry);
        continue;
      }
      if (!after(entry.id, l.lastId)) continue; // already in that listener's backlog
      l.lastId = entry.id;
      try {
        l.send(entry);
      } catch (error) {
        this.log.warn({ err: error }, 'live feed listener failed');
        this.listeners.delete(l);
      }
    }
  }

  /** Stops reading; listeners are left to their owners (the route ends their streams). */
  async close(): Promise<void> {
    this.closed = true;
    this.listeners.clear();
    this.reader?.disconnect();
    await this.loop;
  }
}
