import { z } from 'zod';
import { tiers } from '../../catalog/tiers.js';

export const tierSchema = z.enum(tiers, { error: `tier must be one of ${tiers.join(', ')}` }).describe('derived from the cost: FREE 0, BASIC 1-2, STANDARD 3-5, ADVANCED 6-10, PREMIUM 11-20, ENTERPRISE 21-50, MEGA 51+');

export const featureViewSchema = z
  .object({
    key: z.string(),
    name: z.string(),
    enabled: z.boolean(),
    baseCost: z.number().int().describe('the price version in force now'),
    cost: z.number().int().describe('what a use costs now, pricing rules applied'),
    tier: tierSchema,
  })
  .meta({ id: 'Feature' });

export const planViewSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    monthlyTokens: z.number().int(),
    priceCents: z.number().int(),
    currency: z.string(),
    billingInterval: z.enum(['month', 'year']),
    rolloverMax: z.number().int().describe('unspent allocation carried into the next period, at most'),
  })
  .meta({ id: 'Plan' });

export const adminPlanViewSchema = planViewSchema.extend({ stripePrices: z.array(z.string()).describe('Stripe price ids or lookup keys that buy the plan') }).meta({ id: 'AdminPlan' });
