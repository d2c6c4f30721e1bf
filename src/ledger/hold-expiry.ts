import type { Trx } from '../db/database.js';
import type { AccountBook } from './account-book.js';
import { releaseLocked } from './holds.js';

/**
 * A hold past its time gives its tokens back from that instant, not when the `holds` sweep comes by.
 * A transaction that locks an account releases its due holds first (writing the release entries the
 * sweep would have written, dated when each hold expired), so what it spends or holds counts them.
 * Readers that do not lock count them through spendableAt and heldAt (./spendable.ts).
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
