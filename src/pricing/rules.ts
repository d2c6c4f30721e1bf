import { sql } from 'kysely';
import type { Db, Executor, Trx } from '../db/database.js';
import { EngineError } from '../errors.js';
import { audit } from '../audit/audit.js';
import type { RuleDefinition } from './rule-definition.js';

/** Every change to pricing bumps this, in the same transaction, so cached rules know they are stale. */
export async function bumpPricingVersion(trx: Trx): Promise<void> {
  await sql`update pricing_state set version = version + 1 where id = 1`.execute(trx);
}

export interface RuleView extends RuleDefinition {
  id: string;
  version: number;
  definedFrom: string;
}

export async function listRules(exec: Executor): Promise<RuleView[]> {
  const rows = await exec.selectFrom('pricing_rules').selectAll().where('defined_until', 'is', null).orderBy('id').execute();
  return rows.map((r) => ({ id: r.id, version: r.version, definedFrom: r.defined_from.toISOString(), ...(r.definition as RuleDefinition) }));
}

async function knownKeys(trx: Trx, features: string[]): Promise<string[]> {
  if (features.length === 0) return [];
  const rows = await trx.selectFrom('features').select('key').where('key', 'in', features).execute();
  const known = new Set(rows.map((r) => r.key));
  return features.filter((f) => !known.has(f));
}

/**
 * Creates or replaces a rule. The version in force so far ends now and the new one starts now, so a use
 * that occurred before keeps the price it had. Audited with before and after.
 */
export async function putRule(db: Db, id: string, definition: RuleDefinition, actor: string, now: Date): Promise<RuleView> {
  return db.transaction().execute(async (trx) => {
    const unknown = await knownKeys(trx, definition.match.features ?? []);
    if (unknown.length > 0) throw new EngineError('unknown_feature', `unknown feature: ${unknown.join(', ')}`, { features: unknown });
    const current = await trx
      .selectFrom('pricing_rules')
      .selectAll()
      .where('id', '=', id)
      .orderBy('version', 'desc')
      .limit(1)
      .forUpdate()
      .executeTakeFirst();
    if (current && current.defined_until === null) {
      await trx.updateTable('pricing_rules').set({ defined_until: now }).where('id', '=', id).where('version', '=', current.version).execute();
    }
    const version = (current?.version ?? 0) + 1;
    await trx
      .insertInto('pricing_rules')
      .values({ id, version, definition: JSON.stringify(definition), defined_from: now, changed_by: actor })
      .execute();
    await bumpPricingVersion(trx);
    await audit(trx, {
      actor,
      action: current ? 'pricing_rule.update' : 'pricing_rule.create',
      subject: `pricing_rule:${id}`,
      before: current && current.defined_until === null ? current.definition : null,
      after: definition,
      at: now,
    });
    return { id, version, definedFrom: now.toISOString(), ...definition };
  });
}

/** Ends a rule now: uses that occurred while it was defined keep the price it set. */
export async function deleteRule(db: Db, id: string, actor: string, now: Date): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const current = await trx
      .selectFrom('pricing_rules')
      .selectAll()
      .where('id', '=', id)
      .where('defined_until', 'is', null)
      .forUpdate()
      .executeTakeFirst();
    if (!current) throw new EngineError('not_found', `no pricing rule "${id}"`, { id });
    await trx.updateTable('pricing_rules').set({ defined_until: now }).where('id', '=', id).where('version', '=', current.version).execute();
    await bumpPricingVersion(trx);
    await audit(trx, { actor, action: 'pricing_rule.delete', subject: `pricing_rule:${id}`, before: current.definition, after: null, at: now });
  });
}
