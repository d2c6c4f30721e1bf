import { eachKey, type RedisClient } from '../redis.js';
import type { Clock } from '../clock.js';
import type { FeatureDirectory } from '../catalog/features.js';
import { EngineError } from '../errors.js';
import type { ReplicatedWrites } from '../redis-replication.js';
import type { UsageBacklog } from './backlog.js';
import type { IntakeLookup } from './intake-lookup.js';
import { STAGE_CHUNK, type UsageStage } from './usage-stage.js';
import { payloadHash, type QueuedUsageEvent, type UsageEvent } from './usage-event.js';
import { decodeRecord, encodeRecord, recordsPayload, type InFlightRecord } from './in-flight-record.js';

export interface AcceptedUsage {
  idempotencyKey: string;
  status: 'queued' | 'applied' | 'rejected';
}

/**
 * How long Redis keeps a key's record once it has settled: usage_events answers for it from then on,
 * and the record only covers a request that read PostgreSQL just before the settling commit and claims
 * the key just after it (so that it still finds a different payload a conflict). Minutes, not the
 * TOKENS_IDEMPOTENCY_TTL_HOURS an unsettled key is kept.
 */
export const SETTLED_RECORD_TTL_SECONDS = 300;

const FUTURE_SKEW_MS = 5 * 60_000;

/**
 * Accepts usage events for the queue: validates them against the catalog and the accounts, enforces
 * "same key, same payload" (409 otherwise), and stages them in Redis (UsageStage), from where a mover
 * in the workers turns them into jobs. Used by HTTP and by the in-process producer alike, so both
 * follow the same rules. A single event costs two round trips: PostgreSQL (shared with every request
 * of the same turn of the event loop) and one Redis script that claims its key and stages it.
 */
export class UsageIntake {
  constructor(
    private readonly deps: {
      redis: RedisClient;
      lookup: IntakeLookup;
      stage: UsageStage;
      replication: ReplicatedWrites;
      features: FeatureDirectory;
      clock: Clock;
      backlog: UsageBacklog;
      keyPrefix: string;
      idempotencyTtlSeconds: number;
      /** How far in the past occurredAt may lie (TOKENS_USAGE_MAX_AGE_DAYS). */
      maxAgeDays: number;
    },
  ) {}

  private redisKey(idempotencyKey: string): string {
    return `${this.deps.keyPrefix}:usage-key:${idempotencyKey}`;
  }

  async accept(input: UsageEvent[]): Promise<AcceptedUsage[]> {
    const { features, clock } = this.deps;
    this.deps.backlog.admit();
    const now = await clock.now();
    const events = this.dedupe(input);

    const late = events.filter((e) => e.occurredAt && new Date(e.occurredAt).getTime() > now.getTime() + FUTURE_SKEW_MS);
    if (late.length > 0) {
      throw new EngineError('validation_failed', 'occurredAt lies in the future', {
        idempotencyKeys: late.map((e) => e.idempotencyKey),
      });
    }
    const unknown = await features.unknown(events.map((e) => e.feature));
    if (unknown.length > 0) {
      throw new EngineError('unknown_feature', `unknown feature: ${unknown.join(', ')}`, { features: unknown });
    }
    const userIds = [...new Set(events.map((e) => e.userId))];
    const keys = events.map((e) => e.idempotencyKey);
    const { createdAt, settled: settledByKey } = await this.deps.lookup.lookup(userIds, keys);
    const missing = userIds.filter((u) => !createdAt.has(u));
    if (missing.length > 0) {
      throw new EngineError('account_not_found', `no account for userId: ${missing.join(', ')}`, { userIds: missing });
    }
    const conflicts = events.filter((e) => {
      const s = settledByKey.get(e.idempotencyKey);
      return s !== undefined && s.payloadHash !== payloadHash(e);
    });
    if (conflicts.length > 0) throw conflictError(conflicts.map((e) => e.idempotencyKey));

    const open = events.filter((e) => !settledByKey.has(e.idempotencyKey));
    this.refuseOutOfRange(open, createdAt, now);
    if (open.length > 0) {
      await this.claimAndStage(open, now);
      // Replicas must hold the staged events before the 202 says they are safe (TOKENS_REDIS_WAIT_REPLICAS).
      await this.deps.replication.confirm();
    }
    return events.map((e) => ({
      idempotencyKey: e.idempotencyKey,
      status: settledByKey.get(e.idempotencyKey)?.status ?? 'queued',
    }));
  }

  /**
   * A use is charged at the price of its occurredAt: one dated long ago, or before its account existed,
   * would buy at a price nobody could buy at any more. A settled event replayed is not judged again.
   */
  private refuseOutOfRange(events: UsageEvent[], createdAt: ReadonlyMap<string, Date>, now: Date): void {
    const oldest = now.getTime() - this.deps.maxAgeDays * 86_400_000;
    const out = events.flatMap((e) => {
      if (!e.occurredAt) return [];
      const earliest = Math.max(oldest, createdAt.get(e.userId)!.getTime());
      return Date.parse(e.occurredAt) < earliest ? [{ idempotencyKey: e.idempotencyKey, occurredAt: e.occurredAt, earliest: new Date(earliest).toISOString() }] : [];
    });
    if (out.length > 0) {
      throw new EngineError(
        'occurred_at_out_of_range',
        `occurredAt may lie at most ${this.deps.maxAgeDays} days in the past and not before the account was created: ${out.map((o) => `${o.idempotencyKey} (earliest ${o.earliest})`).join(', ')}`,
        out,
      );
    }
  }

  /** The same key twice in one request is one event if the payloads agree, and a conflict if not. */
  private dedupe(input: UsageEvent[]): UsageEvent[] {
    const byKey = new Map<string, UsageEvent>();
    const conflicts: string[] = [];
    for (const e of input) {
      const first = byKey.get(e.idempotencyKey);
      if (!first) byKey.set(e.idempotencyKey, e);
      else if (payloadHash(first) !== payloadHash(e)) conflicts.push(e.idempotencyKey);
    }
    if (conflicts.length > 0) throw conflictError([...new Set(conflicts)]);
    return [...byKey.values()];
  }

  /**
   * Records each open key's fingerprint in Redis (or finds the one recorded) and stages its event. A
   * replay of an accepted event is staged again with its first occurredAt: the worker settles a key
   * once, and staging again covers an earlier accept that claimed the key and failed before it staged
   * (a batch, or any event on a cluster, claims first and stages after). If any key conflicts, the keys
   * this call recorded are forgotten again and nothing is staged, so a refused request leaves nothing
   * behind.
   */
  private async claimAndStage(events: UsageEvent[], now: Date): Promise<void> {
    const { stage, idempotencyTtlSeconds: ttl } = this.deps;
    const records = events.map((e): InFlightRecord => ({ hash: payloadHash(e), occurredAt: e.occurredAt ? new Date(e.occurredAt) : now, feature: e.feature, userId: e.userId }));
    if (events.length === 1 && stage.stagesWithClaim) {
      const [event, ours] = [events[0]!, records[0]!];
      const existing = await stage.claimAndStage(this.redisKey(event.idempotencyKey), encodeRecord(ours), ttl, toQueued(event, ours));
      if (existing === null) return;
      const found = decodeRecord(existing);
      if (!recordsPayload(found, ours.hash)) throw conflictError([event.idempotencyKey]);
      await stage.stage([toQueued(event, { ...ours, occurredAt: found.occurredAt })]);
      return;
    }
    // On a single Redis, a batch of new keys is claimed and staged by one script; one that finds a key
    // recorded already (a replay) has written nothing and goes the way below, key by key.
    if (stage.stagesWithClaim && events.length <= STAGE_CHUNK) {
      const claims = events.map((e, i) => ({ key: this.redisKey(e.idempotencyKey), record: encodeRecord(records[i]!), event: toQueued(e, records[i]!) }));
      if (await stage.claimAndStageAll(claims, ttl)) return;
    }
    // The keys lie in many slots (of many masters, on a cluster): one claim each, sent together.
    const results = await eachKey<RedisClient>(
      this.deps.redis,
      events.map((e, i) => (c) => stage.claim(c, this.redisKey(e.idempotencyKey), encodeRecord(records[i]!), ttl)),
    );
    const conflicts: string[] = [];
    const newlyClaimed: string[] = [];
    const queued = events.map((e, i) => {
      const [error, existing] = results[i] ?? [new Error('no reply')];
      if (error) throw error;
      const ours = records[i]!;
      if (!existing) {
        newlyClaimed.push(e.idempotencyKey);
        return toQueued(e, ours);
      }
      // The same payload keeps the occurredAt the first accept gave it; another one is a conflict.
      const found = decodeRecord(existing as string);
      if (!recordsPayload(found, ours.hash)) conflicts.push(e.idempotencyKey);
      return toQueued(e, { ...ours, occurredAt: found.occurredAt });
    });
    if (conflicts.length > 0) {
      await eachKey<RedisClient>(this.deps.redis, newlyClaimed.map((k) => (c) => c.del(this.redisKey(k))));
      throw conflictError(conflicts);
    }
    await stage.stage(queued);
  }

  /** An accepted event that has not settled yet, as Redis remembers it. */
  async inFlight(idempotencyKey: string): Promise<{ feature: string; occurredAt: Date; userId: string } | undefined> {
    const raw = await this.deps.redis.get(this.redisKey(idempotencyKey));
    if (!raw) return undefined;
    const { feature, occurredAt, userId } = decodeRecord(raw);
    return { feature, occurredAt, userId };
  }

  /** Settled keys need their records only a little longer (SETTLED_RECORD_TTL_SECONDS); not awaited. */
  forgetSettled(idempotencyKeys: string[]): void {
    if (idempotencyKeys.length === 0) return;
    this.deps.stage.expire(idempotencyKeys.map((key) => this.redisKey(key)), SETTLED_RECORD_TTL_SECONDS).catch(() => undefined);
  }
}

function toQueued(e: UsageEvent, record: InFlightRecord): QueuedUsageEvent {
  return {
    userId: e.userId,
    feature: e.feature,
    idempotencyKey: e.idempotencyKey,
    occurredAt: record.occurredAt.toISOString(),
    payloadHash: record.hash,
    ...(e.reservationId ? { reservationId: e.reservationId.toLowerCase() } : {}),
    ...(e.metadata ? { metadata: e.metadata } : {}),
  };
}

function conflictError(keys: string[]): EngineError {
  return new EngineError('idempotency_conflict', `idempotencyKey reused with a different payload: ${keys.join(', ')}`, {
    idempotencyKeys: keys,
  });
}
