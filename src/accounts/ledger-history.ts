import type { Executor } from '../db/database.js';
import type { LedgerKind } from '../db/schema.js';
import { EngineError } from '../errors.js';
import { requireAccount } from './accounts.js';

export interface LedgerEntryView {
  id: number;
  kind: LedgerKind;
  amount: number;
  heldDelta: number;
  balanceAfter: number;
  heldAfter: number;
  feature: string | null;
  cost: number | null;
  source: string | null;
  grantId: number | null;
  reservationId: string | null;
  idempotencyKey: string | null;
  occurredAt: string;
  recordedAt: string;
  metadata: unknown;
}

function decodeCursor(cursor: string): number {
  const id = Number(Buffer.from(cursor, 'base64url').toString());
  if (!Number.isSafeInteger(id) || id <= 0) throw new EngineError('validation_failed', 'cursor is not one this API gave out', { cursor });
  return id;
}

/** Newest first, paged by an opaque cursor (the last id seen). */
export async function listLedger(
  exec: Executor,
  userId: string,
  opts: { limit: number; cursor?: string | undefined },
): Promise<{ entries: LedgerEntryView[]; nextCursor: string | null }> {
  await requireAccount(exec, userId);
  let query = exec.selectFrom('ledger_entries').selectAll().where('user_id', '=', userId).orderBy('id', 'desc').limit(opts.limit + 1);
  if (opts.cursor) query = query.where('id', '<', decodeCursor(opts.cursor));
  const rows = await query.execute();
  const page = rows.slice(0, opts.limit);
  return {
    entries: page.map((r) => ({
      id: r.id,
      kind: r.kind,
      amount: r.amount,
      heldDelta: r.held_delta,
      balanceAfter: r.balance_after,
      heldAfter: r.held_after,
      feature: r.feature_key,
      cost: r.cost,
      source: r.source,
      grantId: r.grant_id,
      reservationId: r.hold_id,
      idempotencyKey: r.usage_key,
      occurredAt: r.occurred_at.toISOString(),
      recordedAt: r.created_at.toISOString(),
      metadata: r.metadata,
    })),
    nextCursor: rows.length > opts.limit ? Buffer.from(String(page.at(-1)!.id)).toString('base64url') : null,
  };
}
