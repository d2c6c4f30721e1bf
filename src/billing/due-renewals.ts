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

/** A grace that ends unpaid is a renewal job of its own, once per account and period. */
export function graceJobId(userId: string, periodIndex: number): string {
  return `grace-${encodeURIComponent(userId)}-${periodIndex}`;
}

/**
 * The scheduled `renewals` job: every account whose period ended by `asOf` gets its renewal job, and
 * every account whose grace (a period allocated on its paid plan before it was paid) ended by `asOf`
 * gets one that lapses the period if it is still unpaid.
 */
export async function enqueueDueRenewals(db: Db, queue: Queue, asOf: Date, pageSize = 1000): Promise<{ due: number; graceOver?: number }> {
  const renewals = await enqueuePeriodEnds(db, queue, asOf, pageSize);
  const graceOver = await enqueueGraceEnds(db, queue, asOf, pageSize);
  return graceOver > 0 ? { due: renewals, graceOver } : { due: renewals };
}

async function enqueueGraceEnds(db: Db, queue: Queue, asOf: Date, pageSize: number): Promise<number> {
  let due = 0;
  let after = '';
  for (;;) {
    const rows = await db
      .selectFrom('subscriptions')
      .innerJoin('accounts', 'accounts.user_id', 'subscriptions.user_id')
      .select(['accounts.user_id', 'accounts.period_index'])
      .where('subscriptions.grace_until', '<=', asOf)
      .where('accounts.user_id', '>', after)
      .orderBy('accounts.user_id')
      .limit(pageSize)
      .execute();
    if (rows.length === 0) break;
    await queue.addBulk(
      rows.map((r) => ({
        name: 'grace',
        data: { userId: r.user_id, periodIndex: r.period_index, asOf: asOf.toISOString() } satisfies RenewalJob,
        opts: { jobId: graceJobId(r.user_id, r.period_index) },
      })),
    );
    due += rows.length;
    after = rows.at(-1)!.user_id;
    if (rows.length < pageSize) break;
  }
  return due;
}

async function enqueuePeriodEnds(db: Db, queue: Queue, asOf: Date, pageSize: number): Promise<number> {
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
  return due;
}
