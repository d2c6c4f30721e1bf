import { sql } from 'kysely';
import type { Trx } from '../db/database.js';
import type { Account } from '../db/schema.js';
import type { AccountBook, BookChanges, ExpiryMove } from './account-book.js';
import { arrayLiteral, type ArrayElement } from '../db/array-literal.js';
import { asLedgerInvariant } from './ledger-invariant.js';

/**
 * Writes everything the books changed, in one fixed statement per table whatever the number of books,
 * grants or entries: each takes its rows as arrays (`unnest`), so its text, and so its plan, never
 * changes with the batch, and no batch is too large for PostgreSQL's parameter limit. Returns the
 * accounts it wrote, as they now stand, for the unit of work's observers.
 *
 * Order matters twice: expiry moves before new grants (a grant made after the move keeps its own expiry),
 * and grants before the entries that name them.
 */
export async function flushBooks(trx: Trx, books: Iterable<AccountBook>, now: Date): Promise<Account[]> {
  const changes = [...books].filter((b) => b.changed).map((b) => b.drain());
  if (changes.length === 0) return [];
  try {
    for (const move of changes.flatMap((c) => c.expiryMoves)) await moveExpiry(trx, move);
    await insertGrants(trx, changes);
    await updateRemainders(trx, changes);
    await updateAccounts(trx, changes, now);
    await insertEntries(trx, changes);
    await insertPlanMoves(trx, changes, now);
  } catch (error) {
    throw asLedgerInvariant(error);
  }
  return changes.map((c) => c.account);
}

/** One statement per move, in the order they were made: a later move may start where an earlier one ended. */
async function moveExpiry(trx: Trx, m: ExpiryMove): Promise<void> {
  await sql`update grants set expires_at = ${m.to}
            where user_id = ${m.userId} and source = any(${arrayLiteral(m.sources)}::text[]) and expires_at = ${m.from}`.execute(trx);
}

async function insertGrants(trx: Trx, changes: BookChanges[]): Promise<void> {
  const rows = changes.flatMap((c) => c.newGrants);
  if (rows.length === 0) return;
  await sql`
    insert into grants (id, user_id, source, source_ref, tokens, remaining, expires_at, idempotency_key, created_at)
    select * from unnest(${arrayLiteral(rows.map((g) => g.id))}::bigint[], ${arrayLiteral(rows.map((g) => g.userId))}::text[], ${arrayLiteral(rows.map((g) => g.source))}::text[],
      ${arrayLiteral(rows.map((g) => g.sourceRef))}::text[], ${arrayLiteral(rows.map((g) => g.tokens))}::int[], ${arrayLiteral(rows.map((g) => g.remaining))}::int[],
      ${arrayLiteral(rows.map((g) => g.expiresAt))}::timestamptz[], ${arrayLiteral(rows.map((g) => g.idempotencyKey))}::text[], ${arrayLiteral(rows.map((g) => g.createdAt))}::timestamptz[])`.execute(trx);
}

async function updateRemainders(trx: Trx, changes: BookChanges[]): Promise<void> {
  const rows = changes.flatMap((c) => c.grantRemainders);
  if (rows.length === 0) return;
  await sql`
    update grants set remaining = v.remaining
    from unnest(${arrayLiteral(rows.map((g) => g.id))}::bigint[], ${arrayLiteral(rows.map((g) => g.remaining))}::int[]) as v(id, remaining)
    where grants.id = v.id`.execute(trx);
}

async function updateAccounts(trx: Trx, changes: BookChanges[], now: Date): Promise<void> {
  const a = changes.map((c) => c.account);
  await sql`
    update accounts set balance = v.balance, held = v.held, period_used = v.period_used, period_allocated = v.period_allocated,
      plan_id = v.plan_id, period_index = v.period_index, period_start = v.period_start, period_end = v.period_end, updated_at = ${now}
    from unnest(${arrayLiteral(a.map((x) => x.user_id))}::text[], ${arrayLiteral(a.map((x) => x.balance))}::int[], ${arrayLiteral(a.map((x) => x.held))}::int[],
      ${arrayLiteral(a.map((x) => x.period_used))}::int[], ${arrayLiteral(a.map((x) => x.period_allocated))}::int[], ${arrayLiteral(a.map((x) => x.plan_id))}::text[],
      ${arrayLiteral(a.map((x) => x.period_index))}::int[], ${arrayLiteral(a.map((x) => x.period_start))}::timestamptz[], ${arrayLiteral(a.map((x) => x.period_end))}::timestamptz[])
      as v(user_id, balance, held, period_used, period_allocated, plan_id, period_index, period_start, period_end)
    where accounts.user_id = v.user_id`.execute(trx);
}

/** Entries keep the order they were made in (`with ordinality`): an account's history is read by id. */
async function insertEntries(trx: Trx, changes: BookChanges[]): Promise<void> {
  const e = changes.flatMap((c) => c.entries);
  if (e.length === 0) return;
  const col = (pick: (x: (typeof e)[number]) => ArrayElement) => arrayLiteral(e.map(pick));
  await sql`
    insert into ledger_entries (user_id, kind, plan_id, amount, held_delta, balance_after, held_after, feature_key, cost,
      grant_id, hold_id, usage_key, source, occurred_at, metadata, pricing)
    select user_id, kind, plan_id, amount, held_delta, balance_after, held_after, feature_key, cost,
      grant_id, hold_id, usage_key, source, occurred_at, metadata::jsonb, pricing::jsonb
    from unnest(${col((x) => x.user_id)}::text[], ${col((x) => x.kind)}::text[], ${col((x) => x.plan_id)}::text[],
      ${col((x) => x.amount)}::int[], ${col((x) => x.held_delta)}::int[], ${col((x) => x.balance_after)}::int[],
      ${col((x) => x.held_after)}::int[], ${col((x) => x.feature_key)}::text[], ${col((x) => x.cost)}::int[],
      ${col((x) => x.grant_id)}::bigint[], ${col((x) => x.hold_id)}::uuid[], ${col((x) => x.usage_key)}::text[],
      ${col((x) => x.source)}::text[], ${col((x) => x.occurred_at)}::timestamptz[], ${col((x) => x.metadata)}::text[],
      ${col((x) => x.pricing)}::text[])
      with ordinality as v(user_id, kind, plan_id, amount, held_delta, balance_after, held_after, feature_key, cost,
        grant_id, hold_id, usage_key, source, occurred_at, metadata, pricing, n)
    order by n`.execute(trx);
}

async function insertPlanMoves(trx: Trx, changes: BookChanges[], now: Date): Promise<void> {
  const moves = changes.flatMap((c) => (c.planMove ? [{ userId: c.account.user_id, ...c.planMove }] : []));
  if (moves.length === 0) return;
  await sql`
    insert into plan_moves (user_id, from_plan, to_plan, moved_at)
    select user_id, from_plan, to_plan, ${now}::timestamptz
    from unnest(${arrayLiteral(moves.map((m) => m.userId))}::text[], ${arrayLiteral(moves.map((m) => m.from))}::text[], ${arrayLiteral(moves.map((m) => m.to))}::text[])
      as v(user_id, from_plan, to_plan)`.execute(trx);
}
