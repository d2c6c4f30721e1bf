import { sql } from 'kysely';
import type { Executor } from '../db/database.js';
import { tierOf } from '../catalog/tiers.js';
import type { RuleDefinition } from './rule-definition.js';

export interface RuleVersion {
  id: string;
  version: number;
  definition: RuleDefinition;
  definedFrom: number;
  definedUntil: number;
}

/** A rule as it set one price: which version, and the multiplier it used then. */
export interface AppliedRule {
  id: string;
  version: number;
  multiplier: number;
}

export interface RulePricing {
  cost: number;
  rules: AppliedRule[];
}

/**
 * The pricing rules and demand levels, able to price a feature at any moment they cover. Rules combine
 * in a fixed order, by rule id: each multiplies the cost so far, rounds it to whole tokens (half up) and
 * clamps it to its own minCost/maxCost. A rule applies at time t when its version was defined at t and t
 * lies in its window [startsAt, endsAt).
 */
export class RuleBook {
  constructor(
    readonly versions: RuleVersion[],
    /** Demand multipliers per rule, ascending by time. */
    private readonly demand: Map<string, Array<{ at: number; multiplier: number }>>,
  ) {}

  static readonly empty = new RuleBook([], new Map());

  private demandAt(ruleId: string, t: number): number {
    let multiplier = 1;
    for (const level of this.demand.get(ruleId) ?? []) {
      if (level.at > t) break;
      multiplier = level.multiplier;
    }
    return multiplier;
  }

  apply(featureKey: string, baseCost: number, at: Date): RulePricing {
    const t = at.getTime();
    const baseTier = tierOf(baseCost);
    let cost = baseCost;
    const rules: AppliedRule[] = [];
    for (const v of this.versions) {
      const d = v.definition;
      if (t < v.definedFrom || t >= v.definedUntil) continue;
      if (d.startsAt && t < Date.parse(d.startsAt)) continue;
      if (d.endsAt && t >= Date.parse(d.endsAt)) continue;
      if (!(d.match.features?.includes(featureKey) || d.match.tiers?.includes(baseTier))) continue;
      const multiplier = (d.multiplier ?? 1) * (d.demand ? this.demandAt(v.id, t) : 1);
      cost = Math.round(cost * multiplier);
      cost = Math.max(d.minCost ?? 0, Math.min(d.maxCost ?? Infinity, cost));
      rules.push({ id: v.id, version: v.version, multiplier: Number(multiplier.toFixed(4)) });
    }
    return { cost, rules };
  }
}

/** Loads every rule version and the demand levels needed to price moments between `from` and `to`. */
export async function loadRuleBook(exec: Executor, span: { from: Date; to: Date }): Promise<RuleBook> {
  const versions = await exec.selectFrom('pricing_rules').selectAll().orderBy('id').orderBy('version').execute();
  if (versions.length === 0) return RuleBook.empty;
  const demandRules = [...new Set(versions.filter((v) => (v.definition as RuleDefinition).demand).map((v) => v.id))];
  const demand = new Map<string, Array<{ at: number; multiplier: number }>>();
  if (demandRules.length > 0) {
    const { rows } = await sql<{ rule_id: string; computed_at: Date; multiplier: string }>`
      select rule_id, computed_at, multiplier from demand_levels
      where rule_id = any(${demandRules}) and computed_at between ${span.from} and ${span.to}
      union all
      (select distinct on (rule_id) rule_id, computed_at, multiplier from demand_levels
       where rule_id = any(${demandRules}) and computed_at < ${span.from}
       order by rule_id, computed_at desc)`.execute(exec);
    for (const r of rows) {
      const list = demand.get(r.rule_id) ?? [];
      list.push({ at: r.computed_at.getTime(), multiplier: Number(r.multiplier) });
      demand.set(r.rule_id, list);
    }
    for (const list of demand.values()) list.sort((a, b) => a.at - b.at);
  }
  return new RuleBook(
    versions.map((v) => ({
      id: v.id,
      version: v.version,
      definition: v.definition as RuleDefinition,
      definedFrom: v.defined_from.getTime(),
      definedUntil: v.defined_until?.getTime() ?? Infinity,
    })),
    demand,
  );
}
