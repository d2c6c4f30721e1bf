import { z } from 'zod';
import { tiers } from '../catalog/tiers.js';
import { featureKeySchema, isoTimestamp } from '../validation.js';

export const ruleIdSchema = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'rule id must be 1-64 characters of A-Za-z0-9_.-');

const tokensBound = z.number().int('must be a whole number of tokens').min(0, 'must be >= 0').max(1_000_000);

/** PUT /admin/api/pricing-rules/{id}: what a rule matches, how it scales, when, and within what bounds. */
export const ruleDefinitionSchema = z
  .strictObject({
    match: z
      .strictObject({
        features: z.array(featureKeySchema).min(1).max(200).optional(),
        tiers: z.array(z.enum(tiers, { error: `tiers are ${tiers.join(', ')}` })).min(1).optional(),
      })
      .refine((m) => m.features || m.tiers, 'match names features and/or tiers'),
    multiplier: z.number().positive('multiplier must be > 0').max(100, 'multiplier is at most 100').optional(),
    demand: z
      .strictObject({
        windowMinutes: z.number().int().min(1).max(24 * 60),
        baselineUsesPerMinute: z.number().positive('baselineUsesPerMinute must be > 0'),
        maxMultiplier: z.number().min(1, 'maxMultiplier must be >= 1').max(100),
      })
      .optional(),
    startsAt: isoTimestamp.optional(),
    endsAt: isoTimestamp.optional(),
    minCost: tokensBound.optional(),
    maxCost: tokensBound.optional(),
  })
  .refine((r) => r.multiplier !== undefined || r.demand !== undefined, { message: 'a rule needs a multiplier and/or demand', path: ['multiplier'] })
  .refine((r) => !r.startsAt || !r.endsAt || Date.parse(r.endsAt) > Date.parse(r.startsAt), {
    message: 'endsAt must be after startsAt',
    path: ['endsAt'],
  })
  .refine((r) => r.minCost === undefined || r.maxCost === undefined || r.minCost <= r.maxCost, {
    message: 'minCost must not exceed maxCost',
    path: ['minCost'],
  });

export type RuleDefinition = z.infer<typeof ruleDefinitionSchema>;
