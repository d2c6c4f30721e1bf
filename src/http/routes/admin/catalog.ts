import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Engine } from '../../../engine.js';
import { changeFeature } from '../../../catalog/change-feature.js';
import { grantManually } from '../../../ledger/manual-grant.js';
import { listAudit } from '../../../admin/audit.js';
import { featureKeySchema, isoTimestamp, userIdSchema } from '../../../validation.js';
import { adminActor } from '../../auth.js';
import { parse } from '../../errors.js';

const featureBody = z
  .strictObject({
    cost: z.number().int('cost must be a whole number of tokens').min(0, 'cost must be >= 0').max(1_000_000).optional(),
    enabled: z.boolean().optional(),
  })
  .refine((b) => b.cost !== undefined || b.enabled !== undefined, 'send cost and/or enabled');

const grantBody = z.strictObject({
  tokens: z.number().int('tokens must be a whole number').min(1, 'tokens must be >= 1').max(10_000_000),
  reason: z.string().min(1, 'reason is required').max(500),
  expiresAt: isoTimestamp.optional(),
  idempotencyKey: z.string().min(1).max(200).optional(),
});

export function adminCatalogRoutes(app: FastifyInstance, engine: Engine): void {
  app.put('/admin/api/features/:key', async (request) => {
    const { key } = parse(z.object({ key: featureKeySchema }), request.params, 'feature key');
    const body = parse(featureBody, request.body, 'feature change');
    return changeFeature(engine.db, key, body, adminActor(request), await engine.clock.now());
  });

  app.post('/admin/api/accounts/:userId/grants', async (request, reply) => {
    const { userId } = parse(z.object({ userId: userIdSchema }), request.params, 'userId');
    const body = parse(grantBody, request.body, 'grant');
    const result = await grantManually(
      engine.db,
      { userId, ...body, expiresAt: body.expiresAt ? new Date(body.expiresAt) : undefined },
      adminActor(request),
      await engine.clock.now(),
      engine.accountGate,
    );
    return reply.status(result.duplicate ? 200 : 201).send(result);
  });

  app.get('/admin/api/audit', async (request) => {
    const { limit } = parse(z.object({ limit: z.coerce.number().int().min(1).max(1000).default(100) }), request.query, 'query');
    return { entries: await listAudit(engine.db, limit) };
  });
}
