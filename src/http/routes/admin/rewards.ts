import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Engine } from '../../../engine.js';
import { campaignIdSchema, campaignSchema, listCampaigns, putCampaign } from '../../../rewards/campaigns.js';
import { loyaltyTiers, loyaltyTiersSchema, setLoyaltyTiers } from '../../../rewards/loyalty.js';
import { adminActor } from '../../auth.js';
import { defineRoute, mountRoute } from '../../route-definition.js';

const campaignViewSchema = z.object({ id: z.string(), ...campaignSchema.shape }).meta({ id: 'Campaign' });
const loyaltySchema = z.object({ tiers: loyaltyTiersSchema.shape.tiers.describe('at each renewal of a paid plan: that percent of the allocation after that many consecutive paid months') });

/** The routes' definitions (zod schemas of params, query, body and answer), for validation and the API document. */
export const adminRewardsApi = {
  campaigns: defineRoute({
    method: 'GET',
    url: '/admin/api/campaigns',
    summary: 'The seasonal bonus campaigns',
    answer: z.object({ campaigns: z.array(campaignViewSchema) }),
  }),
  putCampaign: defineRoute({
    method: 'PUT',
    url: '/admin/api/campaigns/:id',
    summary: 'Create or replace a campaign: every eligible account active in the window receives its bonus once (audited)',
    params: z.object({ id: campaignIdSchema }),
    body: campaignSchema,
    answer: campaignViewSchema,
    errors: ['unknown_plan'],
  }),
  loyalty: defineRoute({
    method: 'GET',
    url: '/admin/api/loyalty',
    summary: 'The loyalty tiers',
    answer: loyaltySchema,
  }),
  putLoyalty: defineRoute({
    method: 'PUT',
    url: '/admin/api/loyalty',
    summary: 'Replace the loyalty tiers (audited)',
    body: loyaltyTiersSchema,
    answer: loyaltySchema,
  }),
} as const;

export function rewardsRoutes(app: FastifyInstance, engine: Engine): void {
  const r = adminRewardsApi;
  mountRoute(app, r.campaigns, async () => ({ campaigns: await listCampaigns(engine.db) }));

  mountRoute(app, r.putCampaign, async ({ params, body, request }) => putCampaign(engine.db, params.id, body, adminActor(request), await engine.clock.now()));

  mountRoute(app, r.loyalty, async () => ({ tiers: await loyaltyTiers(engine.db) }));

  mountRoute(app, r.putLoyalty, async ({ body, request }) => ({ tiers: await setLoyaltyTiers(engine.db, body.tiers, adminActor(request), await engine.clock.now()) }));
}
