import { sql, type RawBuilder } from 'kysely';
import type { Trx } from '../db/database.js';
import type { AccountBook } from './account-book.js';
import { releaseLocked } from './holds.js';

/**
 * A hold past its time gives its tokens back from that instant, not when the `holds` sweep comes by.
 * A transaction that locks an account releases its due holds first (writing the release entries the
 * sweep would have written, dated when each hold expired), so what it spends or holds counts them.
 */
export async function releaseDueHolds(trx: Trx, books: Iterable<AccountBook>, now: Date): Promise<void> {
  const holding = new Map([...books].filter((b) => b.held > 0).map((b) => [b.userId, b]));
  if (holding.size === 0) return;
  const due = await trx
    .selectFrom('holds')
    .selectAll()
    .where('user_id', 'in', [...holding.keys()])
    .where('status', '=', 'open')
    .where('expires_at', '<=', now)
    .orderBy('expires_at')
    .execute();
  for (const hold of due) await releaseLocked(trx, holding.get(hold.user_id)!, hold, 'expired', now);
}

/**
 * What an account's due holds change in what it reads (the same rule, for readers that do not lock),
 * as columns to select beside the account row, so that row and adjustments come from one snapshot:
 * their tokens leave `held`, and those that go back to grants still live join the spendable balance.
 * Looked up only while the account holds anything.
 */
export function dueHoldColumns(userId: RawBuilder<unknown>, held: RawBuilder<unknown>, now: Date) {
  return {
    dueHeld: sql<number>`case when ${held} > 0 then coalesce((select sum(h.cost) from holds h
      where h.user_id = ${userId} and h.status = 'open' and h.expires_at <= ${now}), 0) else 0 end`,
    dueSpendable: sql<number>`case when ${held} > 0 then coalesce((select sum((a.value->>'tokens')::bigint) from holds h
      cross join lateral jsonb_array_elements(h.allocations) a
      join grants g on g.id = (a.value->>'grantId')::bigint
      where h.user_id = ${userId} and h.status = 'open' and h.expires_at <= ${now}
        and (g.expires_at is null or g.expires_at > ${now})), 0) else 0 end`,
  };
}
