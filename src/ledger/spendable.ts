import { sql, type Expression, type RawBuilder } from 'kysely';

/** The columns of an account row the rules read, as SQL expressions (`sql.ref('a.balance')`). */
export interface AccountColumns {
  userId: Expression<string>;
  balance: Expression<number>;
  held: Expression<number>;
  nextGrantExpiry: Expression<Date | null>;
}

/** The columns the rules read, of the accounts row a statement names `table` (`accountColumnsOf('a')`). */
export function accountColumnsOf(table: string): AccountColumns {
  return {
    userId: sql.ref<string>(`${table}.user_id`),
    balance: sql.ref<number>(`${table}.balance`),
    held: sql.ref<number>(`${table}.held`),
    nextGrantExpiry: sql.ref<Date | null>(`${table}.next_grant_expiry`),
  };
}

/**
 * What an account can spend at `at`, for a reader that does not lock it (the plain check, the account
 * view, the admin search): the balance as last written, less the tokens of grants past their expiry
 * that no transaction has taken out yet, plus the tokens of holds past theirs that go back to grants
 * still live. A transaction that locks the account applies the same rule instead of reading it
 * (releaseDueHolds, then AccountBook.expireDue); test/properties/checks-agree.test.ts holds the two to
 * the same answer. The one definition of the rule:
 *
 *   a.balance
 *   - case when a.next_grant_expiry <= at then coalesce((select sum(g.remaining) from grants g
 *       where g.user_id = a.user_id and g.remaining > 0 and g.expires_at <= at), 0) else 0 end
 *   + case when a.held > 0 then coalesce((select sum((al.value->>'tokens')::bigint) from holds h
 *       cross join lateral jsonb_array_elements(h.allocations) al
 *       join grants g on g.id = (al.value->>'grantId')::bigint
 *       where h.user_id = a.user_id and h.status = 'open' and h.expires_at <= at
 *         and (g.expires_at is null or g.expires_at > at)), 0) else 0 end
 *
 * The grants are looked up only once the account's earliest live grant has expired (next_grant_expiry,
 * kept by the schema: migrations/2026-12-03T1500_accounts_next_grant_expiry.ts), the holds only while
 * the account holds anything (CASE skips the other branch).
 */
export function spendableAt(a: AccountColumns, at: Expression<Date> | Date): RawBuilder<number> {
  return sql<number>`(${liveBalanceAt(a, at)} + case when ${holdsAnything(a)} then ${returnedHoldsAt(a, at)} else 0 end)`;
}

/** When the holds can count: the account holds something. */
const holdsAnything = (a: AccountColumns) => sql<boolean>`${a.held} > 0`;
/** When the grants can count: the account's earliest live grant has expired (null: it has none). */
const grantExpiredBy = (a: AccountColumns, at: Expression<Date> | Date) => sql<boolean | null>`${a.nextGrantExpiry} <= ${at}`;

/**
 * spendableAt when the rule needs nothing but the account's row: its balance, while it holds nothing and
 * its earliest live grant has not expired at `at`; null otherwise, and the reader reads spendableAt. For
 * the plain check's one-row statement: a statement that names grants or holds opens and locks them and
 * their indexes at every execution, even when a CASE never runs the subquery (measured: about 8 µs of
 * the statement's 114).
 */
export function spendableFromRowAt(a: AccountColumns, at: Expression<Date> | Date): RawBuilder<number | null> {
  return sql<number | null>`case when not ${holdsAnything(a)} and not coalesce(${grantExpiredBy(a, at)}, false) then ${a.balance} end`;
}

/** The first part of spendableAt: the balance less the grants past their expiry. */
function liveBalanceAt(a: AccountColumns, at: Expression<Date> | Date): RawBuilder<number> {
  return sql<number>`(${a.balance} - case when ${grantExpiredBy(a, at)} then coalesce((select sum(g.remaining) from grants g
      where g.user_id = ${a.userId} and g.remaining > 0 and g.expires_at <= ${at}), 0) else 0 end)`;
}

/** The second part of spendableAt: the tokens of holds past their time that go back to grants still live. */
function returnedHoldsAt(a: AccountColumns, at: Expression<Date> | Date): RawBuilder<number> {
  return sql<number>`coalesce((select sum((al.value->>'tokens')::bigint) from holds h
        cross join lateral jsonb_array_elements(h.allocations) al
        join grants g on g.id = (al.value->>'grantId')::bigint
        where h.user_id = ${a.userId} and h.status = 'open' and h.expires_at <= ${at}
          and (g.expires_at is null or g.expires_at > ${at})), 0)`;
}

/** What an account holds at `at`: its open holds less those past their time (their tokens are back). */
export function heldAt(a: AccountColumns, at: Expression<Date> | Date): RawBuilder<number> {
  return sql<number>`(${a.held} - case when ${holdsAnything(a)} then coalesce((select sum(h.cost) from holds h
      where h.user_id = ${a.userId} and h.status = 'open' and h.expires_at <= ${at}), 0) else 0 end)`;
}

/** The rule in memory, for the locked path: a grant is spent out at its expiry instant, not after it. */
export function isExpiredAt(expiresAt: Date | null, at: Date): boolean {
  return expiresAt !== null && expiresAt.getTime() <= at.getTime();
}
