import { preparedQuery, type Db } from '../db/database.js';
import type { UsageStatus } from '../db/schema.js';
import { remember } from './remembered.js';

export interface SettledKey {
  payloadHash: string;
  status: UsageStatus;
}

export interface IntakeFacts {
  /** When each account asked about was created; an account missing here does not exist. */
  createdAt: ReadonlyMap<string, Date>;
  /** The keys asked about that have settled in usage_events. */
  settled: ReadonlyMap<string, SettledKey>;
}

const intakeLookup = `
select 'account' as kind, user_id as key, null as payload_hash, null as status, created_at from accounts where user_id = any($1::text[])
union all
select 'settled', idempotency_key, payload_hash, status, null from usage_events where idempotency_key = any($2::text[])`;

type Row = { kind: 'account' | 'settled'; key: string; payload_hash: string | null; status: UsageStatus | null; created_at: Date | null };

/** Accounts remembered at most; the oldest is forgotten first. */
const MAX_KNOWN_ACCOUNTS = 100_000;

interface Found {
  accounts: ReadonlyMap<string, Date>;
  settled: ReadonlyMap<string, SettledKey>;
}

interface Pending {
  userIds: Set<string>;
  keys: Set<string>;
  result: Promise<Found>;
}

/**
 * What the intake must know from PostgreSQL before it accepts events: which accounts exist (and since
 * when), and which keys have settled. An account, once created, exists for good with the same creation
 * time, so one seen is remembered and never asked for again. Every request that asks within one turn of
 * the event loop shares one query (one round trip for all of them, none of them waits longer for it).
 */
export class IntakeLookup {
  private readonly known = new Map<string, Date>();
  private pending: Pending | undefined;

  constructor(private readonly db: Db) {}

  async lookup(userIds: readonly string[], keys: readonly string[]): Promise<IntakeFacts> {
    const createdAt = new Map<string, Date>();
    const unknown: string[] = [];
    for (const u of userIds) {
      const known = this.known.get(u);
      if (known) createdAt.set(u, known);
      else unknown.push(u);
    }
    const pending = this.pending ?? this.schedule();
    for (const u of unknown) pending.userIds.add(u);
    for (const k of keys) pending.keys.add(k);
    const found = await pending.result;
    for (const u of unknown) {
      const created = found.accounts.get(u);
      if (created) createdAt.set(u, created);
    }
    return { createdAt, settled: found.settled };
  }

  private schedule(): Pending {
    const userIds = new Set<string>();
    const keys = new Set<string>();
    const result = new Promise<void>((resolve) => setImmediate(resolve)).then(async (): Promise<Found> => {
      this.pending = undefined;
      const rows = userIds.size + keys.size === 0 ? [] : await preparedQuery<Row>(this.db, 'usage_intake_lookup_v2', intakeLookup, [[...userIds], [...keys]]);
      const accounts = new Map<string, Date>();
      const settled = new Map<string, SettledKey>();
      for (const r of rows) {
        if (r.kind === 'account') {
          accounts.set(r.key, r.created_at!);
          remember(this.known, r.key, r.created_at!, MAX_KNOWN_ACCOUNTS);
        } else settled.set(r.key, { payloadHash: r.payload_hash!, status: r.status! });
      }
      return { accounts, settled };
    });
    this.pending = { userIds, keys, result };
    return this.pending;
  }
}
