import { sql } from 'kysely';
import type { Engine } from '../engine.js';
import type { Executor, Trx } from '../db/database.js';
import { liftTimeoutsForTransaction } from '../db/session-timeouts.js';
import { findViolations, reconcileChecks, subjectOf, type ReconcileCheck, type Violation } from './reconcile.js';
import { transactWithNotifications } from '../notify/delivery-jobs.js';
import { messageId, type Outbox } from '../notify/outbox.js';
import { alertNotification } from '../notify/alerts.js';

export const reconcileRules = reconcileChecks.map((c) => `reconcile:${c}` as const);
export type ReconcileRule = (typeof reconcileRules)[number];

// Violations listed in a job's result (its return value lives in Redis); the count is always whole.
const LISTED = 500;

export type ReconcileRun = {
  clean: boolean;
  accountsChecked: number;
  daysChecked: number;
  byCheck: Record<ReconcileCheck, number>;
  /** Alerts raised by this run: violations no earlier run had open. */
  raised: number;
  /** Open violations this run no longer found. */
  resolved: number;
  violations: Array<Pick<Violation, 'check' | 'userId' | 'day' | 'expected' | 'actual' | 'difference' | 'message'>>;
  /** How many violations were left out of `violations`. */
  unlisted?: number;
};

// Rows per statement: PostgreSQL takes at most 65535 parameters, and a broken engine may break every account.
const CHUNK = 1000;
function chunks<T>(items: T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += CHUNK) out.push(items.slice(i, i + CHUNK));
  return out;
}

function episodeKey(check: string, subject: string): string {
  return `${check}\u0000${subject}`;
}

/**
 * Records what a run found: a violation without an open episode opens one and raises a tokens.alert to
 * the admin webhook (in the same transaction: the outbox), one still open is brought up to date, and an
 * open one no longer found is resolved. So a rerun raises nothing new while a violation persists.
 */
async function recordFindings(trx: Trx, outbox: Outbox, violations: Violation[], at: Date): Promise<{ raised: number; resolved: number }> {
  const open = await trx.selectFrom('reconcile_violations').select(['id', 'check_name', 'subject']).where('resolved_at', 'is', null).execute();
  const openByKey = new Map(open.map((o) => [episodeKey(o.check_name, o.subject), o.id]));
  const found = new Set(violations.map((v) => episodeKey(v.check, subjectOf(v))));
  const fresh = violations.filter((v) => !openByKey.has(episodeKey(v.check, subjectOf(v))));
  const ongoing = violations.filter((v) => openByKey.has(episodeKey(v.check, subjectOf(v))));
  const gone = open.filter((o) => !found.has(episodeKey(o.check_name, o.subject)));

  const keyOf = (v: Violation) => `reconcile:${v.check}:${subjectOf(v)}:${at.toISOString()}`;
  for (const chunk of chunks(fresh)) {
    await outbox.record(
      chunk.map((v) =>
        alertNotification(
          keyOf(v),
          {
            userId: v.userId,
            rule: `reconcile:${v.check}`,
            message: v.message,
            observed: v.actual,
            threshold: v.expected,
            windowStart: at,
            windowEnd: at,
            details: { check: v.check, day: v.day, expected: v.expected, actual: v.actual, difference: v.difference, ...v.details },
          },
          at,
        ),
      ),
    );
    await trx
      .insertInto('reconcile_violations')
      .values(
        chunk.map((v) => ({
          check_name: v.check,
          subject: subjectOf(v),
          user_id: v.userId,
          day: v.day,
          expected: v.expected,
          actual: v.actual,
          details: JSON.stringify({ message: v.message, ...v.details }),
          notification_id: messageId(keyOf(v)),
          first_seen_at: at,
          last_seen_at: at,
        })),
      )
      .onConflict((oc) => oc.columns(['check_name', 'subject']).where('resolved_at', 'is', null).doNothing())
      .execute();
  }
  for (const chunk of chunks(ongoing)) {
    const rows = chunk.map(
      (v) =>
        sql`(${openByKey.get(episodeKey(v.check, subjectOf(v)))!}::bigint, ${v.expected}::bigint, ${v.actual}::bigint,
             ${JSON.stringify({ message: v.message, ...v.details })}::jsonb)`,
    );
    await sql`update reconcile_violations r set expected = v.expected, actual = v.actual, details = v.details, last_seen_at = ${at}
              from (values ${sql.join(rows)}) as v(id, expected, actual, details) where r.id = v.id`.execute(trx);
  }
  for (const chunk of chunks(gone)) {
    await trx.updateTable('reconcile_violations').set({ resolved_at: at }).where('id', 'in', chunk.map((g) => g.id)).execute();
  }
  return { raised: fresh.length, resolved: gone.length };
}

/**
 * The `reconcile` job: checks every invariant of the ledger (src/reconcile/reconcile.ts) on one snapshot,
 * raises an admin alert per new violation, sets the `tokens_reconcile_violations` gauge per check, and
 * returns what it found. It never changes a balance, a grant, a hold or an entry. Runs are serialised
 * (a session advisory lock held from the snapshot to the commit), so two runs cannot both open an episode.
 */
export async function runReconcile(engine: Engine, asOf: Date): Promise<ReconcileRun> {
  return engine.db.connection().execute(async (conn) => {
    // A second run waits for the first as long as it takes, and the checks scan whole tables: neither
    // is bound by the session's lock and statement timeouts.
    await sql`set lock_timeout = 0`.execute(conn);
    await sql`select pg_advisory_lock(hashtext('tokens:reconcile'))`.execute(conn);
    try {
      // The checks read one snapshot of the replica (or of the read pool): any lag is fine, every change
      // commits whole, so a replica's snapshot is as consistent as the primary's. The lock stays on the primary.
      const findings = await engine.readDb
        .transaction()
        .setIsolationLevel('repeatable read')
        .setAccessMode('read only')
        .execute(async (trx) => {
          await liftTimeoutsForTransaction(trx);
          return findViolations(trx, { timeZone: engine.config.timeZone });
        });
      const { raised, resolved } = await transactWithNotifications(engine, (trx, outbox) => recordFindings(trx, outbox, findings.violations, asOf));
      const byCheck = Object.fromEntries(reconcileChecks.map((c) => [c, 0])) as Record<ReconcileCheck, number>;
      for (const v of findings.violations) byCheck[v.check]++;
      for (const check of reconcileChecks) engine.metrics.reconcileViolations.set({ check }, byCheck[check]);
      if (findings.violations.length > 0) {
        engine.log.error({ violations: findings.violations.length, byCheck, raised }, 'reconcile found ledger invariants broken');
      }
      const listed = findings.violations.slice(0, LISTED);
      return {
        clean: findings.violations.length === 0,
        accountsChecked: findings.accounts,
        daysChecked: findings.days,
        byCheck,
        raised,
        resolved,
        violations: listed.map(({ check, userId, day, expected, actual, difference, message }) => ({ check, userId, day, expected, actual, difference, message })),
        ...(findings.violations.length > LISTED ? { unlisted: findings.violations.length - LISTED } : {}),
      };
    } finally {
      await sql`select pg_advisory_unlock(hashtext('tokens:reconcile'))`.execute(conn);
      await sql`reset lock_timeout`.execute(conn);
    }
  });
}

/** Reconcile alerts in the shape of GET /admin/api/alerts, newest first; `details.resolvedAt` is null while one is open. */
export async function listReconcileAlerts(exec: Executor, filter: { userId?: string | undefined; rule?: ReconcileRule | undefined; limit: number }) {
  let query = exec.selectFrom('reconcile_violations').selectAll().orderBy('id', 'desc').limit(filter.limit);
  if (filter.userId) query = query.where('user_id', '=', filter.userId);
  if (filter.rule) query = query.where('check_name', '=', filter.rule.slice('reconcile:'.length));
  const rows = await query.execute();
  return rows.map((r) => {
    const { message, ...details } = r.details as { message: string } & Record<string, unknown>;
    return {
      id: r.id,
      userId: r.user_id,
      rule: `reconcile:${r.check_name}`,
      message,
      observed: r.actual,
      threshold: r.expected,
      // The span over which runs found it: first and latest.
      windowStart: r.first_seen_at.toISOString(),
      windowEnd: r.last_seen_at.toISOString(),
      details: {
        check: r.check_name,
        ...(r.user_id === null ? { day: r.subject } : {}),
        expected: r.expected,
        actual: r.actual,
        difference: r.actual - r.expected,
        resolvedAt: r.resolved_at?.toISOString() ?? null,
        ...details,
      },
      notificationId: r.notification_id,
      raisedAt: r.first_seen_at.toISOString(),
    };
  });
}
