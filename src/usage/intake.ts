import { eachKey, type RedisClient } from '../redis.js';
import { preparedQuery, type Db } from '../db/database.js';
import type { UsageStatus } from '../db/schema.js';
import type { Clock } from '../clock.js';
import type { FeatureDirectory } from '../catalog/features.js';
import { EngineError } from '../errors.js';
import type { UsageBatcher } from './batcher.js';
import type { UsageBacklog } from './backlog.js';
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

// Reads the record of a key or, if there is none, writes ours: one round trip, no race between the two.
const claimScript = `
local current = redis.call('GET', KEYS[1])
if current then return current end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return false`;

const FUTURE_SKEW_MS = 5 * 60_000;

/**
 * Accepts usage events for the queue: validates them against the catalog and the accounts, enforces
 * "same key, same payload" (409 otherwise), and hands them to the batcher. Used by HTTP and by the
 * in-process producer alike, so both follow the same rules.
 */
export class UsageIntake {
  constructor(
    private readonly deps: {
      db: Db;
      redis: RedisClient;
      batcher: UsageBatcher;
      features: FeatureDirectory;
      clock: Clock;
      backlog: UsageBacklog;
      keyPrefix: string;
      idempotencyTtlSeconds: number;
      /** How far in the past occurredAt may lie (TOKENS_USAGE_MAX_AGE_DAYS). */
      maxAgeDays: number;
    },
  ) {
    if (!('claimUsageKey' in deps.redis)) deps.redis.defineCommand('claimUsageKey', { numberOfKeys: 1, lua: claimScript });
  }

  private redisKey(idempotencyKey: string): string {
    return `${this.deps.keyPrefix}:usage-key:${idempotencyKey}`;
  }

  async accept(input: UsageEvent[]): Promise<AcceptedUsage[]> {
    const { db, features, clock } = this.deps;
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
    const { accounts, settled } = await knownAccountsAndSettledKeys(db, userIds, keys);
    const createdAt = new Map(accounts.map((a) => [a.userId, a.createdAt]));
    const missing = userIds.filter((u) => !createdAt.has(u));
    if (missing.length > 0) {
      throw new EngineError('account_not_found', `no account for userId: ${missing.join(', ')}`, { userIds: missing });
    }
    const settledByKey = new Map(settled.map((s) => [s.idempotency_key, s]));
    const conflicts = events.filter((e) => {
      const s = settledByKey.get(e.idempotencyKey);
      return s !== undefined && s.payload_hash !== payloadHash(e);
    });
    if (conflicts.length > 0) throw conflictError(conflicts.map((e) => e.idempotencyKey));

    const open = events.filter((e) => !settledByKey.has(e.idempotencyKey));
    this.refuseOutOfRange(open, createdAt, now);
    const queued = await this.claim(open, now);
    if (queued.length > 0) await this.deps.batcher.add(queued);
    return events.map((e) => ({
      idempotencyKey: e.idempotencyKey,
      status: settledByKey.get(e.idempotencyKey)?.status ?? 'queued',
    }));
  }

  /**
   * A use is charged at the price of its occurredAt: one dated long ago, or before its account existed,
   * would buy at a price nobody could buy at any more. A settled event replayed is not judged again.
   */
  private refuseOutOfRange(events: UsageEvent[], createdAt: Map<string, Date>, now: Date): void {
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
   * Records each open key's fingerprint in Redis (or finds the one recorded). A replay of an accepted
   * event is enqueued again with its first occurredAt: the worker settles a key once, and re-enqueueing
   * covers an earlier accept whose enqueue failed. If any key conflicts, the keys this call recorded are
   * forgotten again, so a refused request leaves nothing behind.
   */
  private async claim(events: UsageEvent[], now: Date): Promise<QueuedUsageEvent[]> {
    if (events.length === 0) return [];
    type Claiming = { claimUsageKey(key: string, value: string, ttl: number): Promise<string | null> };
    const records = events.map((e): InFlightRecord => ({ hash: payloadHash(e), occurredAt: e.occurredAt ? new Date(e.occurredAt) : now, feature: e.feature, userId: e.userId }));
    // The keys lie in many slots (of many masters, on a cluster): one claim each, sent together.
    const results = await eachKey<Claiming>(
      this.deps.redis,
      events.map((e, i) => (c) => c.claimUsageKey(this.redisKey(e.idempotencyKey), encodeRecord(records[i]!), this.deps.idempotencyTtlSeconds)),
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
    return queued;
  }

  /** An accepted event that has not settled yet, as Redis remembers it. */
  async inFlight(idempotencyKey: string): Promise<{ feature: string; occurredAt: Date; userId: string } | undefined> {
    const raw = await this.deps.redis.get(this.redisKey(idempotencyKey));
    if (!raw) return undefined;
    const { feature, occurredAt, userId } = decodeRecord(raw);
    return { feature, occurredAt, userId };
  }

  /** Settled keys need their records only a little longer (SETTLED_RECORD_TTL_SECONDS); sent together, not awaited. */
  forgetSettled(idempotencyKeys: string[]): void {
    if (idempotencyKeys.length === 0) return;
    eachKey<RedisClient>(this.deps.redis, idempotencyKeys.map((key) => (c) => c.expire(this.redisKey(key), SETTLED_RECORD_TTL_SECONDS))).catch(() => undefined);
  }
}

const intakeLookup = `
select 'account' as kind, user_id as key, null as payload_hash, null as status, created_at from accounts where user_id = any($1::text[])
union all
select 'settled', idempotency_key, payload_hash, status, null from usage_events where idempotency_key = any($2::text[])`;

/**
 * Which of these accounts exist (and since when) and which of these keys have settled: one prepared
 * statement, one round trip. A single-event accept is mostly round trips, so this halves what it asks
 * of PostgreSQL.
 */
async function knownAccountsAndSettledKeys(db: Db, userIds: string[], keys: string[]) {
  type Row = { kind: 'account' | 'settled'; key: string; payload_hash: string | null; status: UsageStatus | null; created_at: Date | null };
  const rows = await preparedQuery<Row>(db, 'usage_intake_lookup_v2', intakeLookup, [userIds, keys]);
  return {
    accounts: rows.filter((r) => r.kind === 'account').map((r) => ({ userId: r.key, createdAt: r.created_at! })),
    settled: rows
      .filter((r) => r.kind === 'settled')
      .map((r) => ({ idempotency_key: r.key, payload_hash: r.payload_hash!, status: r.status! })),
  };
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
