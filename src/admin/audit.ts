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
export async function audit(exec: Executor, r: AuditRecord): Promise<void> {
  await exec
    .insertInto('audit_log')
    .values({
      actor: r.actor,
      action: r.action,
      subject: r.subject,
      before: r.before === undefined ? null : JSON.stringify(r.before),
      after: r.after === undefined ? null : JSON.stringify(r.after),
      at: r.at,
    })
    .execute();
}

export async function listAudit(exec: Executor, limit: number) {
  const rows = await exec.selectFrom('audit_log').selectAll().orderBy('id', 'desc').limit(limit).execute();
  return rows.map((r) => ({ id: r.id, actor: r.actor, action: r.action, subject: r.subject, before: r.before, after: r.after, at: r.at.toISOString() }));
}
