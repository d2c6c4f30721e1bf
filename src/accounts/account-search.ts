import { sql } from 'kysely';
import type { Executor } from '../db/database.js';
import { EngineError } from '../errors.js';
import { warningLevels } from './warning-levels.js';
import { accountColumnsOf, heldAt, spendableAt } from '../ledger/spendable.js';

export interface AccountSearch {
  /** Accounts whose userId starts with this. */
  prefix?: string | undefined;
  plan?: string | undefined;
  /** Only accounts at the first warning level (90 percent used) or above. */
  nearLimit?: boolean | undefined;
  /** `userId` (alphabetical) or `percentUsed` (most used first, then alphabetical). */
  sort: 'userId' | 'percentUsed';
  limit: number;
  cursor?: string | undefined;
}

export interface AccountSummary {
  userId: string;
  plan: string;
  balance: number;
  held: number;
  usedThisPeriod: number;
  allocatedThisPeriod: number;
  percentUsed: number;
  periodEnd: string;
  createdAt: string;
}

type Cursor = { u: string; p?: number };

function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify(c)).toString('base64url');
}

function decodeCursor(cursor: string): Cursor {
  try {
    const c = JSON.parse(Buffer.from(cursor, 'base64url').toString()) as Cursor;
    if (typeof c.u === 'string' && (c.p === undefined || Number.isSafeInteger(c.p))) return c;
  } catch {
    // falls through to the refusal
  }
  throw new EngineError('validation_failed', 'cursor is not one this API gave out', { cursor });
}

// The contract's percentUsed, floor(100 * used / allocated), in SQL (100 when tokens were used of none).
const percentSql = sql<number>`(case when period_allocated > 0 then (period_used::bigint * 100) / period_allocated when period_used > 0 then 100 else 0 end)`;

/**
 * Accounts for an admin to find, paged by an opaque cursor (keyset: the last row's sort key). The balance
 * and held tokens are as at `now`, by the rule every reader uses (src/ledger/spendable.ts).
 */
export async function searchAccounts(exec: Executor, s: AccountSearch, now: Date): Promise<{ accounts: AccountSummary[]; nextCursor: string | null }> {
  const cursor = s.cursor ? decodeCursor(s.cursor) : undefined;
  const columns = accountColumnsOf('a');
  const rows = await exec
    .selectFrom('accounts as a')
    .select([
      'a.user_id',
      'a.plan_id',
      'a.period_used',
      'a.period_allocated',
      'a.period_end',
      'a.created_at',
      percentSql.as('percent_used'),
      spendableAt(columns, now).as('balance'),
      heldAt(columns, now).as('held'),
    ])
    .$if(s.prefix !== undefined, (q) => q.where(sql<boolean>`starts_with(a.user_id, ${s.prefix!})`))
    .$if(s.plan !== undefined, (q) => q.where('a.plan_id', '=', s.plan!))
    .$if(s.nearLimit === true, (q) => q.where(percentSql, '>=', warningLevels[0]))
    .$if(s.sort === 'userId', (q) => q.$if(cursor !== undefined, (c) => c.where('a.user_id', '>', cursor!.u)).orderBy('a.user_id'))
    .$if(s.sort === 'percentUsed', (q) =>
      q
        .$if(cursor !== undefined, (c) =>
          c.where((eb) => eb.or([eb(percentSql, '<', cursor!.p ?? 0), eb.and([eb(percentSql, '=', cursor!.p ?? 0), eb('a.user_id', '>', cursor!.u)])])),
        )
        .orderBy(percentSql, 'desc')
        .orderBy('a.user_id'),
    )
    .limit(s.limit + 1)
    .execute();
  const page = rows.slice(0, s.limit);
  const last = page.at(-1);
  return {
    accounts: page.map((r) => ({
      userId: r.user_id,
      plan: r.plan_id,
      balance: r.balance,
      held: r.held,
      usedThisPeriod: r.period_used,
      allocatedThisPeriod: r.period_allocated,
      percentUsed: r.percent_used,
      periodEnd: r.period_end.toISOString(),
      createdAt: r.created_at.toISOString(),
    })),
    nextCursor: rows.length > s.limit && last ? encodeCursor(s.sort === 'userId' ? { u: last.user_id } : { u: last.user_id, p: last.percent_used }) : null,
  };
}
