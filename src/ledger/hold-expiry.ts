import { sql } from 'kysely';
import type { Executor, Trx } from '../db/database.js';
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
 * What an account's due holds change in what it reads (the same rule, for readers that do not lock):
 * their tokens leave `held`, and those that go back to grants still live join the spendable balance.
 */
export async function dueHoldTokens(exec: Executor, userId: string, now: Date): Promise<{ held: number; spendable: number }> {
  const { rows } = await sql<{ held: number; spendable: number }>`
    select
      coalesce((select sum(h.cost) from holds h
        where h.user_id = ${userId} and h.status = 'open' and h.expires_at <= ${now}), 0) as held,
      coalesce((select sum((a.value->>'tokens')::bigint) from holds h
        cross join lateral jsonb_array_elements(h.allocations) a
        join grants g on g.id = (a.value->>'grantId')::bigint
        where h.user_id = ${userId} and h.status = 'open' and h.expires_at <= ${now}
          and (g.expires_at is null or g.expires_at > ${now})), 0) as spendable`.execute(exec);
  return rows[0]!;
}
