import { sql } from 'kysely';
import type { Executor } from '../db/database.js';

/**
 * The invariants the ledger promises (see AccountBook), checked from the stored rows alone:
 * - `balance_ledger`: an account's balance is the sum of its ledger entries' amounts;
 * - `balance_grants`: ... and the sum of its grants' remainders;
 * - `non_negative`: no balance, held count or grant remainder below zero;
 * - `held_holds`: its held tokens are the sum of its open holds' costs;
 * - `held_ledger`: ... and the sum of its ledger entries' held deltas;
 * - `usage_keys`: every settled usage event is charged once: applied ↔ exactly one `use` entry of the
 *   same account with that usage key and the same cost, rejected ↔ none (and no use without its event);
 * - `usage_daily`, `activity_daily`: each day's rollup totals (uses, tokens) are the ledger's uses of
 *   that day, within what the rollups have caught up with (below).
 */
export const reconcileChecks = [
  'balance_ledger',
  'balance_grants',
  'non_negative',
  'held_holds',
  'held_ledger',
  'usage_keys',
  'usage_daily',
  'activity_daily',
] as const;
export type ReconcileCheck = (typeof reconcileChecks)[number];

export interface Violation {
  check: ReconcileCheck;
  /** The account broken; null for a rollup day. */
  userId: string | null;
  /** The rollup day (YYYY-MM-DD); null for an account. */
  day: string | null;
  expected: number;
  actual: number;
  /** actual - expected. */
  difference: number;
  message: string;
  details: Record<string, unknown>;
}

export interface Findings {
  accounts: number;
  days: number;
  violations: Violation[];
}

/** What names a violation across runs: one open episode per check and subject. */
export function subjectOf(v: Pick<Violation, 'userId' | 'day'>): string {
  return v.userId ?? v.day!;
}

// Sample keys kept per account in a usage_keys violation: enough to start looking, bounded.
const SAMPLE_KEYS = 10;

const signed = (n: number) => (n > 0 ? `+${n}` : String(n));

function violation(check: ReconcileCheck, subject: { userId?: string; day?: string }, expected: number, actual: number, message: string, details: Record<string, unknown> = {}): Violation {
  return {
    check,
    userId: subject.userId ?? null,
    day: subject.day ?? null,
    expected,
    actual,
    difference: actual - expected,
    message: `${message} (${signed(actual - expected)})`,
    details,
  };
}

interface AccountRow {
  user_id: string;
  balance: number;
  held: number;
  ledger_amount: number;
  ledger_held: number;
  grant_remaining: number;
  negative_grants: number;
  lowest_remaining: number;
  open_hold_cost: number;
  open_holds: number;
}

/** The balance and held checks: one grouped pass over each table, returning only the accounts that break one. */
async function accountChecks(exec: Executor): Promise<Violation[]> {
  const { rows } = await sql<AccountRow>`
    with ledger as (
      select user_id, sum(amount)::bigint as amount, sum(held_delta)::bigint as held_delta
      from ledger_entries group by user_id
    ), granted as (
      select user_id, sum(remaining)::bigint as remaining, count(*) filter (where remaining < 0)::int as negative_grants,
        min(remaining)::int as lowest_remaining
      from grants group by user_id
    ), holding as (
      select user_id, sum(cost)::bigint as cost, count(*)::int as holds from holds where status = 'open' group by user_id
    )
    select a.user_id, a.balance, a.held,
      coalesce(l.amount, 0) as ledger_amount, coalesce(l.held_delta, 0) as ledger_held,
      coalesce(g.remaining, 0) as grant_remaining, coalesce(g.negative_grants, 0) as negative_grants,
      coalesce(g.lowest_remaining, 0) as lowest_remaining,
      coalesce(h.cost, 0) as open_hold_cost, coalesce(h.holds, 0) as open_holds
    from accounts a
    left join ledger l on l.user_id = a.user_id
    left join granted g on g.user_id = a.user_id
    left join holding h on h.user_id = a.user_id
    where a.balance <> coalesce(l.amount, 0) or a.balance <> coalesce(g.remaining, 0)
       or a.held <> coalesce(h.cost, 0) or a.held <> coalesce(l.held_delta, 0)
       or a.balance < 0 or a.held < 0 or coalesce(g.negative_grants, 0) > 0
    order by a.user_id`.execute(exec);
  return rows.flatMap((r) => {
    const found: Violation[] = [];
    const userId = r.user_id;
    if (r.balance !== r.ledger_amount) {
      found.push(violation('balance_ledger', { userId }, r.ledger_amount, r.balance, `balance ${r.balance}, but its ledger entries sum to ${r.ledger_amount}`));
    }
    if (r.balance !== r.grant_remaining) {
      found.push(violation('balance_grants', { userId }, r.grant_remaining, r.balance, `balance ${r.balance}, but its grants have ${r.grant_remaining} tokens left`));
    }
    if (r.balance < 0 || r.held < 0 || r.negative_grants > 0) {
      const lowest = Math.min(r.balance, r.held, r.lowest_remaining);
      found.push(
        violation('non_negative', { userId }, 0, lowest, `balance ${r.balance}, held ${r.held}, ${r.negative_grants} grant(s) below zero`, {
          balance: r.balance,
          held: r.held,
          negativeGrants: r.negative_grants,
          lowestGrantRemaining: r.lowest_remaining,
        }),
      );
    }
    if (r.held !== r.open_hold_cost) {
      found.push(violation('held_holds', { userId }, r.open_hold_cost, r.held, `held ${r.held}, but its ${r.open_holds} open hold(s) cost ${r.open_hold_cost}`, { openHolds: r.open_holds }));
    }
    if (r.held !== r.ledger_held) {
      found.push(violation('held_ledger', { userId }, r.ledger_held, r.held, `held ${r.held}, but its ledger entries hold ${r.ledger_held}`));
    }
    return found;
  });
}

/** Settled idempotency keys against `use` entries, grouped by account: the keys charged other than once. */
async function usageKeyChecks(exec: Executor): Promise<Violation[]> {
  const { rows } = await sql<{ user_id: string; bad: number; samples: unknown[] }>`
    with uses as (
      select usage_key, count(*)::int as uses, min(user_id) as user_id, count(distinct user_id)::int as users,
        sum(cost)::bigint as cost
      from ledger_entries where kind = 'use' group by usage_key
    ), broken as (
      select coalesce(e.user_id, u.user_id) as user_id, coalesce(e.idempotency_key, u.usage_key) as key,
        e.status, e.cost as event_cost, coalesce(u.uses, 0) as uses, u.cost as charged
      from usage_events e full join uses u on u.usage_key = e.idempotency_key
      where (e.status = 'applied' and (u.uses is distinct from 1 or u.users <> 1 or u.user_id <> e.user_id or u.cost <> e.cost))
         or (e.status = 'rejected' and u.uses is not null)
         or e.idempotency_key is null
    )
    select user_id, count(*)::int as bad,
      to_jsonb((array_agg(jsonb_build_object('key', key, 'status', status, 'cost', event_cost, 'uses', uses, 'charged', charged)
        order by key))[1:${SAMPLE_KEYS}]) as samples
    from broken group by user_id order by user_id`.execute(exec);
  return rows.map((r) =>
    violation('usage_keys', { userId: r.user_id }, 0, r.bad, `${r.bad} settled usage key(s) not charged exactly once`, { keys: r.samples }),
  );
}

interface DayRow {
  day: string;
  uses: number;
  tokens: number;
  settled_uses: number;
  settled_tokens: number;
  usage_daily_uses: number | null;
  usage_daily_tokens: number | null;
  activity_daily_uses: number | null;
  activity_daily_tokens: number | null;
}

/**
 * Rollups lag the ledger by design (src/insight/rollups.ts): a day's row is recomputed whole from what
 * had committed when the last run reached it. Every use up to the rollups' `last_entry_id` is in its
 * day's row; later ones may or may not be yet. Uses are only ever added, so an honest row lies between
 * the day's settled uses and all of them; equality once the rollups have caught up. Outside that range
 * is a violation, the difference measured to the nearer bound.
 */
async function rollupChecks(exec: Executor, timeZone: string): Promise<{ days: number; violations: Violation[] }> {
  const { rows } = await sql<DayRow>`
    with state as (
      select coalesce((select last_entry_id from rollup_state where name = 'daily'), 0) as last_id
    ), ledger as (
      select (occurred_at at time zone ${timeZone})::date as day, count(*)::bigint as uses, coalesce(sum(cost), 0)::bigint as tokens,
        count(*) filter (where id <= (select last_id from state))::bigint as settled_uses,
        coalesce(sum(cost) filter (where id <= (select last_id from state)), 0)::bigint as settled_tokens
      from ledger_entries where kind = 'use' group by 1
    ), ud as (
      select day, sum(uses)::bigint as uses, sum(tokens)::bigint as tokens from usage_daily group by day
    ), days as (
      select day from ledger union select day from ud union select day from activity_daily
    )
    select d.day::text as day,
      coalesce(l.uses, 0) as uses, coalesce(l.tokens, 0) as tokens,
      coalesce(l.settled_uses, 0) as settled_uses, coalesce(l.settled_tokens, 0) as settled_tokens,
      ud.uses as usage_daily_uses, ud.tokens as usage_daily_tokens,
      ad.uses::bigint as activity_daily_uses, ad.tokens::bigint as activity_daily_tokens
    from days d
    left join ledger l on l.day = d.day
    left join ud on ud.day = d.day
    left join activity_daily ad on ad.day = d.day
    order by d.day`.execute(exec);
  const violations: Violation[] = [];
  for (const r of rows) {
    for (const check of ['usage_daily', 'activity_daily'] as const) {
      const rolled = { uses: r[`${check}_uses`] ?? 0, tokens: r[`${check}_tokens`] ?? 0 };
      for (const measure of ['tokens', 'uses'] as const) {
        const low = measure === 'tokens' ? r.settled_tokens : r.settled_uses;
        const high = measure === 'tokens' ? r.tokens : r.uses;
        const actual = rolled[measure];
        if (actual >= low && actual <= high) continue;
        const expected = actual < low ? low : high;
        violations.push(
          violation(check, { day: r.day }, expected, actual, `${check} of ${r.day} counts ${actual} ${measure}, the ledger ${low === high ? high : `${low} to ${high}`}`, {
            measure,
            rollup: rolled,
            ledger: { uses: r.uses, tokens: r.tokens },
            rolledUpLedger: { uses: r.settled_uses, tokens: r.settled_tokens },
          }),
        );
        break;
      }
    }
  }
  return { days: rows.length, violations };
}

/**
 * Runs every check, set-based (a few grouped queries, whatever the number of accounts). Run it in one
 * REPEATABLE READ transaction: every change commits its balance, grants, holds and entries together,
 * so one snapshot is consistent however busy the engine is. Reads only: it never fixes anything.
 */
export async function findViolations(exec: Executor, opts: { timeZone: string }): Promise<Findings> {
  const accounts = await exec.selectFrom('accounts').select(({ fn }) => fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  const byAccount = await accountChecks(exec);
  const keys = await usageKeyChecks(exec);
  const rollups = await rollupChecks(exec, opts.timeZone);
  const order = (v: Violation) => reconcileChecks.indexOf(v.check);
  const violations = [...byAccount, ...keys, ...rollups.violations].sort((a, b) => order(a) - order(b) || subjectOf(a).localeCompare(subjectOf(b)));
  return { accounts: Number(accounts.n), days: rollups.days, violations };
}
