import { sql } from 'kysely';
import type { Trx } from '../db/database.js';
import type { Account, GrantSource, Plan } from '../db/schema.js';
import { AccountBook } from '../ledger/account-book.js';
import { allocationKey } from '../accounts/accounts.js';
import { addMonths, periodContaining, type Period } from '../calendar/periods.js';

/** The tokens a period's end takes away, and which of them a plan's rollover may keep. */
const PERIOD_BOUND: GrantSource[] = ['plan', 'rollover'];

/** The period after the account's current one, on the account's anchor. */
export function nextPeriod(account: Account): Period {
  const index = account.period_index + 1;
  const p = periodContaining(account.anchor_at, account.period_end);
  if (p.start.getTime() === account.period_end.getTime()) return { index, start: p.start, end: p.end };
  return { index, start: account.period_end, end: addMonths(account.period_end, 1) };
}

/**
 * Ends the account's current period at `closesAt` (its end, or earlier when a plan purchase starts a new
 * one): plan and rollover tokens expire, other grants keep their own expiry. Returns the tokens the ending
 * plan's rollover keeps. Run it before anything else touches the book in the transaction: tokens the
 * sweep or a use already expired are counted from their ledger entries.
 */
export async function closePeriod(trx: Trx, book: AccountBook, ending: Plan, closesAt: Date): Promise<number> {
  const periodEnd = book.account.period_end;
  if (closesAt.getTime() < periodEnd.getTime()) book.bringExpiryForward(PERIOD_BOUND, periodEnd, closesAt);
  const kept = ending.rollover_max > 0 ? Math.min(ending.rollover_max, await unspentAt(trx, book, book.account.period_start, closesAt, periodEnd)) : 0;
  book.expireDue(closesAt, closesAt);
  return kept;
}

/**
 * Plan and rollover tokens of the period [start, at) left at its end, whether or not they were already
 * expired. Rows still expiring at `periodEnd` count too: a move of their expiry to `at` is written when
 * the book is flushed, after this read.
 */
async function unspentAt(trx: Trx, book: AccountBook, start: Date, at: Date, periodEnd: Date): Promise<number> {
  const live = book
    .remainingOf(PERIOD_BOUND)
    .filter((g) => g.expiresAt?.getTime() === at.getTime())
    .reduce((sum, g) => sum + g.remaining, 0);
  const { rows } = await sql<{ tokens: number }>`
    select coalesce(sum(-e.amount), 0) as tokens from ledger_entries e join grants g on g.id = e.grant_id
    where g.user_id = ${book.userId} and g.source in ('plan', 'rollover') and g.expires_at = any(${[at, periodEnd]}::timestamptz[]) and g.created_at >= ${start}
      and e.kind = 'expiry'`.execute(trx);
  return live + (rows[0]?.tokens ?? 0);
}

/**
 * Starts `period` on `plan`: used and allocated start again, the rollover is granted (already held, so
 * it is not counted twice), allocatedThisPeriod starts at what the account holds, then the plan's
 * allocation is granted once per account and period (its key). Returns the allocation's grant id.
 */
export async function openPeriod(trx: Trx, book: AccountBook, plan: Plan, period: Period, rollover: number): Promise<number | null> {
  const userId = book.userId;
  book.setPeriod({
    plan_id: plan.id,
    period_index: period.index,
    period_start: period.start,
    period_end: period.end,
    period_used: 0,
    period_allocated: 0,
  });
  if (rollover > 0) {
    await book.grant(trx, {
      source: 'rollover',
      sourceRef: plan.id,
      tokens: rollover,
      expiresAt: period.end,
      idempotencyKey: `rollover:${userId}:${period.index}`,
      occurredAt: period.start,
      countsAsAllocated: false,
    });
  }
  book.setPeriod({ period_allocated: book.balance + book.held });
  if (plan.monthly_tokens === 0) return null;
  return book.grant(trx, {
    source: 'plan',
    sourceRef: plan.id,
    tokens: plan.monthly_tokens,
    expiresAt: period.end,
    idempotencyKey: allocationKey(userId, period.index),
    occurredAt: period.start,
  });
}
