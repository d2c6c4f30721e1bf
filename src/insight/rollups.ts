import { sql } from 'kysely';
import type { Db, Trx } from '../db/database.js';
import { liftTimeoutsForTransaction } from '../db/session-timeouts.js';

// Entries whose transaction began within this margin may still be committing: look at them again next run.
const COMMIT_MARGIN = '1 minute';

/**
 * Maintains per-day aggregates incrementally: finds the days touched since the last run (new ledger
 * uses and newly settled usage events, whatever their occurredAt) and recomputes each of those days whole
 * from its own rows. Rerunning is harmless: a day recomputed twice gives the same numbers. One run at a
 * time (an advisory lock), however many workers pick the job.
 */
export async function runRollups(db: Db, timeZone: string): Promise<{ days: string[] }> {
  return db.transaction().execute(async (trx) => {
    await liftTimeoutsForTransaction(trx);
    await sql`select pg_advisory_xact_lock(hashtext('tokens:rollups'))`.execute(trx);
    const state = await trx.selectFrom('rollup_state').selectAll().where('name', '=', 'daily').executeTakeFirst();
    const lastId = state?.last_entry_id ?? 0;
    const lastSettled = state?.last_settled_at ?? new Date(0);
    const { rows } = await sql<{ day: string; next_id: number | null; next_settled: Date | null }>`
      with touched as (
        select (occurred_at at time zone ${timeZone})::date::text as day from ledger_entries where id > ${lastId} and kind = 'use'
        union
        select (occurred_at at time zone ${timeZone})::date::text from usage_events where settled_at > ${lastSettled}
      )
      select t.day,
        (select max(id) from ledger_entries where id > ${lastId} and created_at < now() - ${COMMIT_MARGIN}::interval) as next_id,
        (select max(settled_at) from usage_events where settled_at > ${lastSettled} and settled_at < now() - ${COMMIT_MARGIN}::interval) as next_settled
      from (select day from touched union all select null where not exists (select 1 from touched)) t`.execute(trx);
    const days = rows.map((r) => r.day).filter((d): d is string => d !== null).sort();
    for (const day of days) await recomputeDay(trx, day, timeZone);
    const first = rows[0];
    await trx
      .insertInto('rollup_state')
      .values({
        name: 'daily',
        last_entry_id: first?.next_id ?? lastId,
        last_settled_at: first?.next_settled ?? lastSettled,
        updated_at: new Date(),
      })
      .onConflict((oc) =>
        oc.column('name').doUpdateSet({
          last_entry_id: first?.next_id ?? lastId,
          last_settled_at: first?.next_settled ?? lastSettled,
          updated_at: new Date(),
        }),
      )
      .execute();
    return { days };
  });
}

/** Rebuilds one day's aggregates (features and plans, pricing rules, activity) from that day's ledger uses and settled events. */
export async function recomputeDay(trx: Trx, day: string, timeZone: string): Promise<void> {
  const start = sql`(${day}::date::timestamp at time zone ${timeZone})`;
  const end = sql`((${day}::date + 1)::timestamp at time zone ${timeZone})`;
  await sql`delete from usage_daily where day = ${day}::date`.execute(trx);
  await sql`
    insert into usage_daily (day, feature_key, plan_id, uses, tokens)
    select ${day}::date, feature_key, coalesce(plan_id, 'unknown'), count(*), coalesce(sum(cost), 0)
    from ledger_entries
    where kind = 'use' and occurred_at >= ${start} and occurred_at < ${end}
    group by feature_key, coalesce(plan_id, 'unknown')`.execute(trx);
  await sql`delete from pricing_rule_daily where day = ${day}::date`.execute(trx);
  await sql`
    insert into pricing_rule_daily (day, rule_id, uses, tokens, base_tokens)
    select ${day}::date, r->>'id', count(*), coalesce(sum(e.cost), 0), coalesce(sum((e.pricing->>'baseCost')::int), 0)
    from ledger_entries e cross join lateral jsonb_array_elements(e.pricing->'rules') r
    where e.kind = 'use' and e.occurred_at >= ${start} and e.occurred_at < ${end}
    group by r->>'id'`.execute(trx);
  await sql`delete from activity_daily where day = ${day}::date`.execute(trx);
  await sql`
    insert into activity_daily (day, active_users, uses, tokens, rejected)
    select ${day}::date, count(distinct user_id), count(*), coalesce(sum(cost), 0),
      (select count(*) from usage_events where status = 'rejected' and occurred_at >= ${start} and occurred_at < ${end})
    from ledger_entries
    where kind = 'use' and occurred_at >= ${start} and occurred_at < ${end}`.execute(trx);
}
