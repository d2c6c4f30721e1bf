import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Engine } from '../../engine.js';
import { checkFeature } from '../../usage/check.js';
import { releaseHold } from '../../ledger/holds.js';
import { featureKeySchema, userIdSchema } from '../../validation.js';
import { parse } from '../errors.js';

export const checkBody = z.strictObject({
  userId: userIdSchema,
  feature: featureKeySchema,
  reserve: z.boolean().optional(),
  ttlSeconds: z.number().int().min(1).max(86_400).optional(),
});

export function gatingRoutes(app: FastifyInstance, engine: Engine): void {
  app.post('/v1/check', async (request) => {
    const body = parse(checkBody, request.body, 'check');
    const now = await engine.clock.now();
    return checkFeature(engine.db, { ...body, ttlSeconds: body.ttlSeconds ?? engine.config.holdTtlSeconds, maxOpenHolds: engine.config.maxOpenHolds }, now, engine.ruleCache, engine.accountGate);
  });

  app.delete('/v1/reservations/:reservationId', async (request) => {
    const { reservationId } = parse(z.object({ reservationId: z.string().max(64) }), request.params, 'reservationId');
    const result = await releaseHold(engine.db, reservationId, await engine.clock.now(), engine.accountGate);
    return { reservationId, ...result };
  });
}
