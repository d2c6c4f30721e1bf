import type { Queue } from 'bullmq';
import type { Db } from '../db/database.js';
import type { RenewalJob } from '../queues.js';

/**
 * One job per account and period: adding it again while it exists is a no-op. BullMQ refuses ':' in
 * custom ids, which user ids may contain, so the id is URI-encoded; the period index ends the id.
 */
export function renewalJobId(userId: string, periodIndex: number): string {
  return `renewal-${encodeURIComponent(userId)}-${periodIndex}`;
}

/** The scheduled `renewals` job: every account whose period ended by `asOf` gets its renewal job. */
export async function enqueueDueRenewals(db: Db, queue: Queue, asOf: Date, pageSize = 1000): Promise<{ due: number }> {
  let due = 0;
  let after = '';
  for (;;) {
    const rows = await db
      .selectFrom('accounts')
      .select(['user_id', 'period_index'])
      .where('period_end', '<=', asOf)
      .where('user_id', '>', after)
      .orderBy('user_id')
      .limit(pageSize)
      .execute();
    if (rows.length === 0) break;
    await queue.addBulk(
      rows.map((r) => ({
        name: 'renew',
        data: { userId: r.user_id, periodIndex: r.period_index, asOf: asOf.toISOString() } satisfies RenewalJob,
        opts: { jobId: renewalJobId(r.user_id, r.period_index) },
      })),
    );
    due += rows.length;
    after = rows.at(-1)!.user_id;
    if (rows.length < pageSize) break;
  }
  return { due };
}
