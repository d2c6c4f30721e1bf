import type { Executor } from '../db/database.js';
import { requireAccount } from './accounts.js';

export interface OpenHoldView {
  reservationId: string;
  feature: string;
  cost: number;
  createdAt: string;
  expiresAt: string;
}

/** An account's holds that still hold tokens at `now` (a hold past its expiry gives them back at once). */
export async function listOpenHolds(exec: Executor, userId: string, now: Date): Promise<OpenHoldView[]> {
  await requireAccount(exec, userId);
  const rows = await exec
    .selectFrom('holds')
    .select(['id', 'feature_key', 'cost', 'created_at', 'expires_at'])
    .where('user_id', '=', userId)
    .where('status', '=', 'open')
    .where('expires_at', '>', now)
    .orderBy('expires_at')
    .orderBy('id')
    .execute();
  return rows.map((r) => ({
    reservationId: r.id,
    feature: r.feature_key,
    cost: r.cost,
    createdAt: r.created_at.toISOString(),
    expiresAt: r.expires_at.toISOString(),
  }));
}
