import { sql } from 'kysely';
import type { Trx } from '../db/database.js';
import type { Hold, UsageStatus } from '../db/schema.js';
import { AccountBook } from '../ledger/account-book.js';
import { closeHold } from '../ledger/holds.js';
import { loadPriceBook, spanOf } from '../catalog/prices.js';
import type { QueuedUsageEvent } from './usage-event.js';

export type RejectionReason =
  | 'insufficient_tokens'
  | 'account_not_found'
  | 'unknown_feature'
  | 'feature_disabled'
  | 'reservation_mismatch';

export interface UsageOutcome {
  idempotencyKey: string;
  userId: string;
  /** `duplicate`: the key had already settled (or appears twice in the batch); nothing was done. */
  status: UsageStatus | 'duplicate';
  cost: number;
  balanceAfter?: number;
  reason?: RejectionReason;
}

export interface UsageHooks {
  /** Called with each account book after its uses are applied, before the flush (warnings live here). */
  afterAccount?: (trx: Trx, book: AccountBook, before: { periodUsed: number }, now: Date) => Promise<void>;
}

/**
 * Applies a batch of usage events in the caller's transaction: one lock and one balance write per
 * account, one statement per table. Each event settles exactly once: its key is claimed in
 * usage_events (primary key) before anything is charged, so a replayed or concurrent duplicate finds
 * the claim and does nothing.
 */
export async function applyUsage(trx: Trx, events: QueuedUsageEvent[], now: Date, hooks: UsageHooks = {}): Promise<UsageOutcome[]> {
  const unique = new Map<string, QueuedUsageEvent>();
  for (const e of events) if (!unique.has(e.idempotencyKey)) unique.set(e.idempotencyKey, e);
  const batch = [...unique.values()];

  const books = await AccountBook.lock(trx, batch.map((e) => e.userId));
  const claimed = await claimKeys(trx, batch, now);
  const fresh = batch.filter((e) => claimed.has(e.idempotencyKey));

  const [prices, holds] = await Promise.all([
    loadPriceBook(trx, fresh.map((e) => e.feature), spanOf(fresh.length ? fresh.map((e) => new Date(e.occurredAt)) : [now])),
    loadHolds(trx, fresh.flatMap((e) => (e.reservationId ? [e.reservationId] : []))),
  ]);
  const before = new Map([...books.values()].map((b) => [b.userId, { periodUsed: b.account.period_used }]));
  for (const book of books.values()) book.expireDue(now);

  const outcomes = new Map<string, UsageOutcome>();
  const usedHolds: Array<{ id: string; by: string }> = [];
  for (const e of fresh) {
    const book = books.get(e.userId);
    const occurredAt = new Date(e.occurredAt);
    const settle = (status: UsageStatus, cost: number, reason?: RejectionReason) =>
      outcomes.set(e.idempotencyKey, {
        idempotencyKey: e.idempotencyKey,
        userId: e.userId,
        status,
        cost,
        ...(book ? { balanceAfter: book.balance } : {}),
        ...(reason ? { reason } : {}),
      });
    if (!book) {
      settle('rejected', 0, 'account_not_found');
      continue;
    }
    const fields = { occurredAt, featureKey: e.feature, usageKey: e.idempotencyKey, metadata: e.metadata };
    const hold = e.reservationId ? holds.get(e.reservationId) : undefined;
    if (hold && hold.user_id === e.userId && hold.status === 'open') {
      if (hold.feature_key !== e.feature) {
        settle('rejected', hold.cost, 'reservation_mismatch');
        continue;
      }
      // A hold keeps the price it quoted, whatever the price is now.
      book.useHold(hold.cost, { ...fields, holdId: hold.id, pricing: hold.pricing ?? undefined });
      hold.status = 'used';
      usedHolds.push({ id: hold.id, by: e.idempotencyKey });
      settle('applied', hold.cost);
      continue;
    }
    const quote = prices.quote(e.feature, occurredAt);
    if (!quote) settle('rejected', 0, 'unknown_feature');
    else if (!quote.enabled) settle('rejected', quote.cost, 'feature_disabled');
    else if (!book.use(quote.cost, { ...fields, pricing: { baseCost: quote.baseCost, rules: quote.rules } })) {
      settle('rejected', quote.cost, 'insufficient_tokens');
    }
    else settle('applied', quote.cost);
  }

  if (hooks.afterAccount) {
    for (const book of books.values()) await hooks.afterAccount(trx, book, before.get(book.userId)!, now);
  }
  await AccountBook.flush(trx, books.values(), now);
  for (const h of usedHolds) await closeHold(trx, h.id, { status: 'used', settledBy: h.by }, now);
  await recordOutcomes(trx, [...outcomes.values()]);

  return batch.map(
    (e) =>
      outcomes.get(e.idempotencyKey) ?? { idempotencyKey: e.idempotencyKey, userId: e.userId, status: 'duplicate', cost: 0 },
  );
}

/** Inserts a row per key (sorted, so concurrent batches take index locks in one order); returns the keys won. */
async function claimKeys(trx: Trx, events: QueuedUsageEvent[], now: Date): Promise<Set<string>> {
  if (events.length === 0) return new Set();
  const sorted = [...events].sort((a, b) => (a.idempotencyKey < b.idempotencyKey ? -1 : 1));
  const won = new Set<string>();
  for (let i = 0; i < sorted.length; i += 1000) {
    const rows = await trx
      .insertInto('usage_events')
      .values(
        sorted.slice(i, i + 1000).map((e) => ({
          idempotency_key: e.idempotencyKey,
          user_id: e.userId,
          feature_key: e.feature,
          payload_hash: e.payloadHash,
          status: 'rejected' as const, // placeholder, replaced by recordOutcomes in the same transaction
          cost: 0,
          reservation_id: e.reservationId ?? null,
          occurred_at: e.occurredAt,
          applied_at: now,
          metadata: e.metadata ? JSON.stringify(e.metadata) : null,
        })),
      )
      .onConflict((oc) => oc.column('idempotency_key').doNothing())
      .returning('idempotency_key')
      .execute();
    for (const r of rows) won.add(r.idempotency_key);
  }
  return won;
}

async function loadHolds(trx: Trx, ids: string[]): Promise<Map<string, Hold>> {
  if (ids.length === 0) return new Map();
  const rows = await trx.selectFrom('holds').selectAll().where('id', 'in', [...new Set(ids)]).execute();
  return new Map(rows.map((h) => [h.id, h]));
}

async function recordOutcomes(trx: Trx, outcomes: UsageOutcome[]): Promise<void> {
  for (let i = 0; i < outcomes.length; i += 1000) {
    const rows = outcomes
      .slice(i, i + 1000)
      .map((o) => sql`(${o.idempotencyKey}::text, ${o.status}::text, ${o.reason ?? null}::text, ${o.cost}::int, ${o.balanceAfter ?? null}::int)`);
    await sql`update usage_events set status = v.status, reason = v.reason, cost = v.cost, balance_after = v.balance_after
              from (values ${sql.join(rows)}) as v(key, status, reason, cost, balance_after)
              where usage_events.idempotency_key = v.key`.execute(trx);
  }
}
