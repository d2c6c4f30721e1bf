import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Engine } from '../../../engine.js';
import { campaignIdSchema, campaignSchema, listCampaigns, putCampaign } from '../../../rewards/campaigns.js';
import { loyaltyTiers, loyaltyTiersSchema, setLoyaltyTiers } from '../../../rewards/loyalty.js';
import { adminActor } from '../../auth.js';
import { parse } from '../../errors.js';

export function rewardsRoutes(app: FastifyInstance, engine: Engine): void {
  app.get('/admin/api/campaigns', async () => ({ campaigns: await listCampaigns(engine.db) }));

  app.put('/admin/api/campaigns/:id', async (request) => {
    const { id } = parse(z.object({ id: campaignIdSchema }), request.params, 'campaign id');
    const body = parse(campaignSchema, request.body, 'campaign');
    return putCampaign(engine.db, id, body, adminActor(request), await engine.clock.now());
  });

  app.get('/admin/api/loyalty', async () => ({ tiers: await loyaltyTiers(engine.db) }));

  app.put('/admin/api/loyalty', async (request) => {
    const body = parse(loyaltyTiersSchema, request.body, 'loyalty tiers');
    return { tiers: await setLoyaltyTiers(engine.db, body.tiers, adminActor(request), await engine.clock.now()) };
  });
}
