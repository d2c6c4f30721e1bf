import type { Executor } from '../db/database.js';

export interface AuditRecord {
  actor: string;
  action: string;
  subject: string;
  before: unknown;
  after: unknown;
  at: Date;
}

/** Every admin change is written here in the transaction that makes it: who, when, before, after. */
export async function audit(exec: Executor, r: AuditRecord): Promise<number> {
  const row = await exec
    .insertInto('audit_log')
    .values({
      actor: r.actor,
      action: r.action,
      subject: r.subject,
      before: r.before === undefined ? null : JSON.stringify(r.before),
      after: r.after === undefined ? null : JSON.stringify(r.after),
      at: r.at,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

/**
 * A change made outside PostgreSQL (a queue in Redis) cannot share a transaction with its record, so
 * the record is written first and the change made only if that succeeded; then its outcome is filled in
 * here, or the record withdrawn if the change was refused and so never happened.
 */
export async function settleAudit(exec: Executor, id: number, outcome: { after: unknown } | 'refused'): Promise<void> {
  if (outcome === 'refused') {
    await exec.deleteFrom('audit_log').where('id', '=', id).execute();
    return;
  }
  await exec.updateTable('audit_log').set({ after: JSON.stringify(outcome.after) }).where('id', '=', id).execute();
}

export async function listAudit(exec: Executor, limit: number) {
  const rows = await exec.selectFrom('audit_log').selectAll().orderBy('id', 'desc').limit(limit).execute();
  return rows.map((r) => ({ id: r.id, actor: r.actor, action: r.action, subject: r.subject, before: r.before, after: r.after, at: r.at.toISOString() }));
}
