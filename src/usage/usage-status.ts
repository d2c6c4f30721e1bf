import type { Db } from '../db/database.js';
import { loadPriceBook } from '../pricing/price-book.js';
import { EngineError } from '../errors.js';
import type { UsageIntake } from './intake.js';

export interface UsageStatusView {
  idempotencyKey: string;
  userId: string;
  feature: string;
  status: 'queued' | 'applied' | 'rejected';
  cost: number;
  balanceAfter?: number;
  reason?: string;
  occurredAt: string;
}

/** A settled event from the ledger; an accepted one still in the queue is `queued` with its quoted cost. */
export async function usageStatus(db: Db, intake: UsageIntake, idempotencyKey: string): Promise<UsageStatusView> {
  const row = await db.selectFrom('usage_events').selectAll().where('idempotency_key', '=', idempotencyKey).executeTakeFirst();
  if (row) {
    return {
      idempotencyKey,
      userId: row.user_id,
      feature: row.feature_key,
      status: row.status,
      cost: row.cost,
      ...(row.balance_after !== null ? { balanceAfter: row.balance_after } : {}),
      ...(row.reason ? { reason: row.reason } : {}),
      occurredAt: row.occurred_at.toISOString(),
    };
  }
  const pending = await intake.inFlight(idempotencyKey);
  if (!pending) throw new EngineError('usage_not_found', `no usage event with idempotencyKey "${idempotencyKey}"`);
  const quote = (await loadPriceBook(db, [pending.feature], pending.occurredAt)).quote(pending.feature, pending.occurredAt);
  return {
    idempotencyKey,
    userId: pending.userId,
    feature: pending.feature,
    status: 'queued',
    cost: quote?.cost ?? 0,
    occurredAt: pending.occurredAt.toISOString(),
  };
}
