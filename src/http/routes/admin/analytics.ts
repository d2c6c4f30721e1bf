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
import { defineRoute, mountRoute } from '../../route-definition.js';
import { isoTime } from '../../schemas/time.js';

// A day of the calendar (2026-02-31 is none, whatever the pattern says) in the engine's era: nothing is
// recorded before 1970, and a range computed back from a year-1 day would reach a year PostgreSQL lacks.
const date = z.iso
  .date({ error: 'must be a calendar date YYYY-MM-DD' })
  .refine((d) => d >= '1970-01-01', 'must be 1970-01-01 or later');
const int = z.number().int();
const tokensAndUses = { tokens: int, uses: int };
const featureTotal = z.object({ feature: z.string(), name: z.string(), ...tokensAndUses });

export const analyticsSchema = z
  .object({
    range: z.object({ from: z.string(), to: z.string(), timeZone: z.string() }),
    generatedAt: isoTime,
    today: z.object({ day: z.string(), tokens: int, uses: int, activeUsers: int }).describe('read live from the ledger'),
    totals: z.object(tokensAndUses),
    tokensPerDay: z.array(z.object({ day: z.string(), tokens: int, uses: int, activeUsers: int, rejected: int })),
    mostUsedFeatures: z.object({ byTokens: z.array(featureTotal), byUses: z.array(featureTotal) }),
    tokensPerPlan: z.array(z.object({ plan: z.string(), ...tokensAndUses })),
    usersNearLimit: z.array(
      z.object({ userId: z.string(), plan: z.string(), used: int, allocated: int, percentUsed: int, balance: int, renewsAt: isoTime }),
    ),
    upgradeRecommendations: z.array(
      z.object({
        userId: z.string(),
        currentPlan: z.string(),
        projectedUse: int,
        monthlyTokens: int,
        recommendedPlan: z.string().nullable(),
        extraTokensPerMonth: int.nullable(),
      }),
    ),
    revenue: z.object({
      method: z.string().describe('how revenue per token is computed'),
      byCurrency: z.array(z.object({ currency: z.string(), revenueCents: int, tokens: int, centsPerToken: z.number().nullable() })),
    }),
    revenuePerFeature: z.array(z.object({ currency: z.string(), features: z.array(z.object({ feature: z.string(), tokens: int, revenueCents: int })) })),
    upgradePatterns: z.array(z.object({ from: z.string(), to: z.string(), moves: int, direction: z.string() })),
    rewards: z.object({ granted: z.array(z.object({ source: z.string(), grants: int, tokens: int, unspent: int })) }),
    pricingRules: z.array(
      z.object({ rule: z.string(), uses: int, tokens: int, baseTokens: int, extraTokens: int, revenueCents: z.record(z.string(), int) }),
    ),
  })
  .meta({ id: 'Analytics' });

/** The routes' definitions (zod schemas of params, query, body and answer), for validation and the API document. */
export const adminAnalyticsApi = {
  analytics: defineRoute({
    method: 'GET',
    url: '/admin/api/analytics',
    summary: 'Tokens consumed per day, most used features, users near their limit, revenue per token and per feature, upgrade recommendations',
    description: 'Days in TOKENS_TIMEZONE; the last 30 days unless `from`/`to` say (at most 366).',
    query: z.object({ from: date.optional(), to: date.optional() }),
    answer: analyticsSchema,
  }),
} as const;

export function analyticsRoutes(app: FastifyInstance, engine: Engine): void {
  mountRoute(app, adminAnalyticsApi.analytics, async ({ query: q }) => {
    const now = await engine.clock.now();
    const tz = engine.config.timeZone;
    const to = q.to ?? dayOf(now, tz);
    const from = q.from ?? new Date(Date.parse(`${to}T00:00:00Z`) - 29 * 86_400_000).toISOString().slice(0, 10);
    if (from > to) throw new EngineError('validation_failed', `from (${from}) is after to (${to})`);
    if (Date.parse(to) - Date.parse(from) > 366 * 86_400_000) throw new EngineError('validation_failed', 'the range is at most 366 days');
    const range = { from, to };
    // Lag-tolerant reads, on the replica or the read pool: ten queries at once never take /v1/check's connections.
    const db = engine.readDb;
    const [perDay, today, features, plans, nearLimit, upgrades, revenue, moves, rewards, rules] = await Promise.all([
      consumptionPerDay(db, range),
      consumptionToday(db, now, tz),
      featureTotals(db, range),
      planTotals(db, range),
      usersNearLimit(db),
      upgradeRecommendations(db, now),
      revenueBetween(db, range, tz),
      planMoves(db, range, tz),
      rewardsGranted(db, range, tz),
      pricingRuleEffects(db, range),
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
