import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Engine } from '../../../engine.js';
import { EngineError } from '../../../errors.js';
import {
  consumptionPerDay,
  consumptionToday,
  dayOf,
  featureTotals,
  planTotals,
  upgradeRecommendations,
  usersNearLimit,
} from '../../../insight/analytics.js';
import { planMoves, pricingRuleEffects, revenueBetween, revenueMethod, revenuePerToken, rewardsGranted } from '../../../insight/revenue.js';
import { parse } from '../../errors.js';

// A day of the calendar (2026-02-31 is none, whatever the pattern says) in the engine's era: nothing is
// recorded before 1970, and a range computed back from a year-1 day would reach a year PostgreSQL lacks.
const date = z.iso
  .date({ error: 'must be a calendar date YYYY-MM-DD' })
  .refine((d) => d >= '1970-01-01', 'must be 1970-01-01 or later');
const query = z.object({ from: date.optional(), to: date.optional() });

export function analyticsRoutes(app: FastifyInstance, engine: Engine): void {
  app.get('/admin/api/analytics', async (request) => {
    const q = parse(query, request.query, 'query');
    const now = await engine.clock.now();
    const tz = engine.config.timeZone;
    const to = q.to ?? dayOf(now, tz);
    const from = q.from ?? new Date(Date.parse(`${to}T00:00:00Z`) - 29 * 86_400_000).toISOString().slice(0, 10);
    if (from > to) throw new EngineError('validation_failed', `from (${from}) is after to (${to})`);
    if (Date.parse(to) - Date.parse(from) > 366 * 86_400_000) throw new EngineError('validation_failed', 'the range is at most 366 days');
    const range = { from, to };
    const [perDay, today, features, plans, nearLimit, upgrades, revenue, moves, rewards, rules] = await Promise.all([
      consumptionPerDay(engine.db, range),
      consumptionToday(engine.db, now, tz),
      featureTotals(engine.db, range),
      planTotals(engine.db, range),
      usersNearLimit(engine.db),
      upgradeRecommendations(engine.db, now),
      revenueBetween(engine.db, range, tz),
      planMoves(engine.db, range, tz),
      rewardsGranted(engine.db, range, tz),
      pricingRuleEffects(engine.db, range, tz),
    ]);
    const totalTokens = perDay.reduce((s, d) => s + d.tokens, 0);
    const perToken = revenuePerToken(revenue, totalTokens, features);
    return {
      range: { ...range, timeZone: tz },
      generatedAt: now.toISOString(),
      today,
      totals: { tokens: totalTokens, uses: perDay.reduce((s, d) => s + d.uses, 0) },
      tokensPerDay: perDay,
      mostUsedFeatures: {
        byTokens: [...features].sort((a, b) => b.tokens - a.tokens || b.uses - a.uses).slice(0, 10),
        byUses: [...features].sort((a, b) => b.uses - a.uses || b.tokens - a.tokens).slice(0, 10),
      },
      tokensPerPlan: plans,
      usersNearLimit: nearLimit,
      upgradeRecommendations: upgrades,
      revenue: { method: revenueMethod, byCurrency: perToken.map(({ perFeature: _, ...r }) => r) },
      revenuePerFeature: perToken.map((r) => ({ currency: r.currency, features: r.perFeature })),
      upgradePatterns: moves,
      rewards: { granted: rewards },
      pricingRules: rules.map((r) => ({
        ...r,
        revenueCents: Object.fromEntries(perToken.map((p) => [p.currency, p.centsPerToken === null ? 0 : Math.round(p.centsPerToken * r.tokens)])),
      })),
    };
  });
}
